"""Server-rendered pages for architects: overview, debt ranking, wave board, asset page.

No CDN and no external assets: one local stylesheet, charts as inline SVG. Templates are
rendered with autoescaping on (every template, whatever its name), so text from devices
(banners, names) is always inert. The board report uses the same environment.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def _thousands(value: float | int | None, places: int = 0) -> str:
    if value is None:
        return ""
    return f"{value:,.{places}f}"


def _signed(value: float | int | None, places: int = 0) -> str:
    if value is None:
        return ""
    return f"{value:+,.{places}f}"


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["thousands"] = _thousands
ENV.filters["signed"] = _signed
