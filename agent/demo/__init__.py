"""The demo estate: a UK district council's on-premise kit as snmpsim recordings.

``config/demo/estate.yaml`` describes the estate as data; :mod:`agent.demo.estate` renders it
into ``config/demo/recordings/*.snmprec`` (``python -m agent.demo.estate``), and
:func:`agent.demo.fleet.render_fleet` renders any number of varied copies for benchmarks.

The names below are imported on first use, so that ``python -m agent.demo.estate`` runs the
module once, as a script.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "estate_path": "agent.demo.estate",
    "load_estate": "agent.demo.estate",
    "recordings_dir": "agent.demo.estate",
    "render_estate": "agent.demo.estate",
    "stale_recordings": "agent.demo.estate",
    "write_recordings": "agent.demo.estate",
    "render_fleet": "agent.demo.fleet",
    "Device": "agent.demo.model",
    "Estate": "agent.demo.model",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent.demo' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
