"""Resolve secret references (environment variables or files) at the moment of use.

Values are never logged, stored, or put in an error message; only the reference is named.
A secret file must not be readable by group or others (``chmod 600``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Protocol

from agent.errors import SecretError


class SecretRef(Protocol):
    """Where a secret lives (:class:`agent.configuration.config_file.SecretRef`, which the
    configuration check resolves too, so this module does not import it back)."""

    @property
    def env(self) -> str | None: ...

    @property
    def file(self) -> Path | None: ...


def read_secret_file(path: Path) -> str:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SecretError(f"secret file {path} does not exist") from None
    except OSError as exc:
        raise SecretError(f"secret file {path} cannot be read: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(
            f"secret file {path} is readable by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {path}"
        )
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretError(f"secret file {path} cannot be read: {exc}") from None
    if not value:
        raise SecretError(f"secret file {path} is empty")
    return value


def read_secret_env(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise SecretError(f"environment variable {name} is not set; export it before starting")
    if not value:
        raise SecretError(f"environment variable {name} is empty")
    return value


def resolve(ref: SecretRef) -> str:
    if ref.env is not None:
        return read_secret_env(ref.env)
    assert ref.file is not None
    return read_secret_file(ref.file)
