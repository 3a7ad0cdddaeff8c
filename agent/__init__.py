"""The cloudward daemon and its edges: settings, store, scanning, graph, metrics, API, CLI."""

__version__ = "0.1.0"
