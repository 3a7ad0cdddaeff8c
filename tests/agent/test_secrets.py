from __future__ import annotations

from pathlib import Path

import pytest

from agent.configuration.config_file import SecretRef
from agent.configuration.secrets import resolve
from agent.errors import SecretError


def test_env_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CW_TEST_SECRET", "s3cret-value")
    assert resolve(SecretRef(env="CW_TEST_SECRET")) == "s3cret-value"


def test_missing_env_names_variable_not_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CW_NOPE", raising=False)
    with pytest.raises(SecretError, match="CW_NOPE is not set"):
        resolve(SecretRef(env="CW_NOPE"))


def test_file_secret_needs_0600(tmp_path: Path) -> None:
    f = tmp_path / "community"
    f.write_text("hunter2-community\n")
    f.chmod(0o644)
    with pytest.raises(SecretError) as info:
        resolve(SecretRef(file=f))
    assert "chmod 600" in str(info.value)
    assert "hunter2" not in str(info.value)
    f.chmod(0o600)
    assert resolve(SecretRef(file=f)) == "hunter2-community"


def test_missing_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="does not exist"):
        resolve(SecretRef(file=tmp_path / "none"))
    empty = tmp_path / "empty"
    empty.write_text("")
    empty.chmod(0o600)
    with pytest.raises(SecretError, match="is empty"):
        resolve(SecretRef(file=empty))
