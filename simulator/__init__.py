"""The demo estate: a UK district council's on-premise kit as snmpsim recordings.

``config/demo/estate.yaml`` describes the estate as data; :mod:`simulator.estate` renders it
into ``config/demo/recordings/*.snmprec`` (``python -m simulator.estate``), and
:func:`simulator.fleet.render_fleet` renders any number of varied copies for benchmarks.

The names below are imported on first use, so that ``python -m simulator.estate`` runs the
module once, as a script.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "estate_path": "simulator.estate",
    "load_estate": "simulator.estate",
    "recordings_dir": "simulator.estate",
    "render_estate": "simulator.estate",
    "stale_recordings": "simulator.estate",
    "write_recordings": "simulator.estate",
    "render_fleet": "simulator.fleet",
    "Device": "simulator.estate_model",
    "Estate": "simulator.estate_model",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
