"""Where the data files that ship with cloudward (the source tree's ``config/``) are found.

``$CLOUDWARD_DATA_DIR`` when set (a folder laid out like ``config/``); otherwise the installed
package ``cloudward_data``, which is ``config/`` itself (pyproject.toml maps the folder to that
package), found by its import spec: in a wheel install it lies in site-packages,
in an editable install (``pip install -e .``) it is the checkout's ``config/``.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import Any

from collectors.errors import CollectorError

ENV = "CLOUDWARD_DATA_DIR"
PACKAGE = "cloudward_data"


class DataDirError(CollectorError, FileNotFoundError):
    """The shipped data files cannot be found."""


@functools.cache
def installed_data_dir() -> Path:
    """The folder of the installed ``cloudward_data`` package (found by its import spec: the
    package itself is not imported, nor ``importlib.resources``)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None:
        raise DataDirError(
            f"cloudward's data files (the package {PACKAGE}) are not installed: install "
            f"cloudward with pip (`pip install -e .` in a checkout), or set {ENV} to the "
            "shipped config/ folder"
        )
    where = list(spec.submodule_search_locations or [])
    root = Path(where[0]) if where else None
    if root is None or not root.is_dir():
        raise DataDirError(
            f"cloudward's data files (the package {PACKAGE}) are not a folder on disk "
            f"({where[0] if where else spec.origin}): install cloudward unzipped, or set {ENV} "
            "to the shipped config/ folder"
        )
    return root


def data_dir() -> Path:
    env = os.environ.get(ENV)
    if env:
        path = Path(env)
        if not path.is_dir():
            raise DataDirError(
                f"{ENV} is {env}, which is not a folder: point it at a copy of the shipped "
                "config/ folder, or unset it to use the installed data"
            )
        return path
    return installed_data_dir()


def data_path(*parts: str) -> Path:
    return data_dir().joinpath(*parts)


def load_yaml(text: str) -> Any:
    """``text`` parsed as YAML with the safe loader (plain types only); raises yaml.YAMLError.

    libyaml's parser when PyYAML was built with it (several times faster on the shipped rule
    files, which every command that judges or identifies reads), else the pure-Python one.
    PyYAML is imported here, not by this module: most commands read no YAML."""
    import yaml

    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
