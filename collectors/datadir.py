"""Where the data files that ship with cloudward (``config/``) are found.

Order: ``$CLOUDWARD_DATA_DIR``; the ``config/`` folder beside the source tree (a checkout or an
editable install); ``<prefix>/share/cloudward/config`` (a wheel install).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def data_dir() -> Path:
    env = os.environ.get("CLOUDWARD_DATA_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[1] / "config"
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "cloudward" / "config"


def data_path(*parts: str) -> Path:
    return data_dir().joinpath(*parts)
