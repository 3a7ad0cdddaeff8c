"""Charts as inline SVG: the geometry is worked out here and drawn by the ``svg`` macro in
``templates/charts.html``, so the pages and the self-contained board report share them.

No JavaScript and no external assets. Every rectangle carries a ``<title>`` with its exact value
(a tooltip in a browser, text for a screen reader); labels are escaped by the template.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from planner.dates import financial_year

STATUS_COLOURS = {
    "eol": "#c0392b",
    "extended": "#e08e0b",
    "supported": "#1e8449",
    "unknown": "#a0aab4",
}
PALETTE = (  # no red or green: those mean support status
    "#1f6feb",
    "#8250df",
    "#0a7d8c",
    "#bf8700",
    "#d63384",
    "#57606a",
    "#5a4fcf",
    "#8c5a2b",
    "#4b6a2e",
    "#0969da",
    "#a475f9",
    "#1b7c83",
)


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    colour: str


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    title: str
    href: str | None = None


@dataclass(frozen=True, slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    kind: str = "grid"  # grid | axis | year | today


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"
    kind: str = "axis"  # axis | label | value | strong | onbar | today


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    width: int
    height: int
    rects: tuple[Rect, ...] = ()
    lines: tuple[Line, ...] = ()
    texts: tuple[Text, ...] = ()
    legend: tuple[Series, ...] = ()
    empty: str | None = None  # a message instead of a drawing when there is nothing to show


@dataclass(frozen=True, slots=True)
class GanttItem:
    label: str
    start: date
    end: date
    note: str
    colour: str = "#1f6feb"
    href: str | None = None


@dataclass(frozen=True, slots=True)
class Stack:
    """One column: a value per series key, drawn bottom-up in series order."""

    label: str
    values: Mapping[str, float] = field(default_factory=dict)


def colour_for(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_step(top: float, ticks: int = 5) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about ``ticks`` gridlines."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def short_number(value: float) -> str:
    """12 -> '12', 12345 -> '12.3k', 2500000 -> '2.5m' (axis labels)."""
    v = abs(value)
    sign = "-" if value < 0 else ""
    if v >= 1e6:
        return f"{sign}{v / 1e6:.1f}m".replace(".0m", "m")
    if v >= 1e3:
        return f"{sign}{v / 1e3:.1f}k".replace(".0k", "k")
    return f"{sign}{v:.0f}" if v >= 10 or v == int(v) else f"{sign}{v:.1f}"


def column_chart(
    title: str,
    categories: Sequence[tuple[str, Sequence[Stack]]],
    series: Sequence[Series],
    fmt: Callable[[float], str] = short_number,
    *,
    width: int = 900,
    height: int = 280,
    marked: int | None = None,
) -> Chart:
    """Stacked columns, one or more per category (e.g. 'do nothing' beside 'plan').

    ``marked`` draws a dashed line before that category (today, in a timeline)."""
    totals = [
        sum(max(v, 0.0) for v in s.values.values()) for _, stacks in categories for s in stacks
    ]
    if not categories or not any(totals):
        return Chart(title, width, 60, empty="nothing to show yet", legend=tuple(series))
    left, right, top, bottom = 56, 12, 14, 44 if any(len(s) > 1 for _, s in categories) else 30
    plot_h = height - top - bottom
    step = nice_step(max(totals))
    ymax = step * math.ceil(max(totals) / step)
    lines: list[Line] = []
    texts: list[Text] = []
    rects: list[Rect] = []
    y_of: Callable[[float], float] = lambda v: top + plot_h - plot_h * v / ymax  # noqa: E731
    tick = 0.0
    while tick <= ymax + 1e-9:
        lines.append(Line(left, y_of(tick), width - right, y_of(tick), "grid" if tick else "axis"))
        texts.append(Text(left - 6, y_of(tick) + 4, fmt(tick), "end"))
        tick += step
    slot = (width - left - right) / len(categories)
    for i, (label, stacks) in enumerate(categories):
        x0 = left + i * slot
        if marked is not None and i == marked:
            lines.append(Line(x0, top - 6, x0, top + plot_h, "today"))
            texts.append(Text(x0 + 3, top + 2, "today", "start", "today"))
        col_w = min(48.0, slot * 0.8 / max(len(stacks), 1))
        inner = x0 + (slot - col_w * len(stacks) - 4 * (len(stacks) - 1)) / 2
        for j, stack in enumerate(stacks):
            x = inner + j * (col_w + 4)
            base = 0.0
            for s in series:
                v = stack.values.get(s.key, 0.0)
                if v <= 0:
                    continue
                y1, y2 = y_of(base + v), y_of(base)
                what = f"{label} {stack.label}".strip()
                rects.append(
                    Rect(x, y1, col_w, max(y2 - y1, 0.5), s.colour, f"{what}: {s.label} {fmt(v)}")
                )
                base += v
            if base > 0:
                texts.append(Text(x + col_w / 2, y_of(base) - 3, fmt(base), "middle", "value"))
            if len(stacks) > 1:
                texts.append(Text(x + col_w / 2, top + plot_h + 12, stack.label, "middle", "axis"))
        ly = top + plot_h + (28 if len(stacks) > 1 else 16)
        texts.append(Text(x0 + slot / 2, ly, label, "middle", "label"))
    return Chart(title, width, height, tuple(rects), tuple(lines), tuple(texts), tuple(series))


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, Mapping[str, float]]],
    series: Sequence[Series],
    fmt: Callable[[float], str] = short_number,
    *,
    width: int = 900,
    row_height: int = 22,
    label_width: int = 150,
) -> Chart:
    """Horizontal stacked bars, one row per label, the total printed at the end."""
    totals = [sum(v.values()) for _, v in rows]
    if not rows or not any(totals):
        return Chart(title, width, 60, empty="nothing to show yet", legend=tuple(series))
    top, right = 6, 48
    plot_w = width - label_width - right
    biggest = max(totals)
    rects: list[Rect] = []
    texts: list[Text] = []
    for i, (label, values) in enumerate(rows):
        y = top + i * row_height
        texts.append(Text(label_width - 8, y + row_height * 0.68, label, "end", "label"))
        x = float(label_width)
        for s in series:
            v = values.get(s.key, 0.0)
            if v <= 0:
                continue
            w = plot_w * v / biggest
            rects.append(
                Rect(x, y + 3, w, row_height - 6, s.colour, f"{label}: {s.label} {fmt(v)}")
            )
            if w >= 18:
                texts.append(Text(x + w / 2, y + row_height * 0.68, fmt(v), "middle", "onbar"))
            x += w
        texts.append(
            Text(x + 6, y + row_height * 0.68, fmt(sum(values.values())), "start", "strong")
        )
    height = top * 2 + len(rows) * row_height
    line = Line(label_width, top, label_width, height - top, "axis")
    return Chart(title, width, height, tuple(rects), (line,), tuple(texts), tuple(series))


def _quarter_start(day: date) -> date:
    return date(day.year, 1 + 3 * ((day.month - 1) // 3), 1)


def _next_quarter(day: date) -> date:
    month = day.month + 3
    return date(day.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def gantt(
    title: str,
    items: Sequence[GanttItem],
    today: date | None = None,
    *,
    width: int = 1100,
    row_height: int = 30,
    label_width: int = 190,
) -> Chart:
    """Bars on a time axis with quarter gridlines, UK financial years marked at 1 April."""
    if not items:
        return Chart(title, width, 60, empty="no waves planned")
    first = min([i.start for i in items] + ([today] if today else []))
    last = max(i.end for i in items)
    t0 = _quarter_start(first)
    t1 = _next_quarter(last)
    span = max((t1 - t0).days, 1)
    top, right = 26, 16
    plot_w = width - label_width - right
    height = top + len(items) * row_height + 8

    def x_of(day: date) -> float:
        return label_width + plot_w * (day - t0).days / span

    lines: list[Line] = []
    texts: list[Text] = []
    q = t0
    while q <= t1:
        fy = q.month == 4
        lines.append(
            Line(x_of(q), top - (14 if fy else 4), x_of(q), height, "year" if fy else "grid")
        )
        if fy:
            texts.append(Text(x_of(q) + 4, 12, f"FY {financial_year(q)}", "start", "strong"))
        elif q < t1:
            texts.append(Text(x_of(q) + 3, top - 6, q.strftime("%b %Y"), "start", "axis"))
        q = _next_quarter(q)
    rects: list[Rect] = []
    for n, item in enumerate(items):
        y = top + n * row_height
        texts.append(Text(label_width - 8, y + row_height * 0.62, item.label, "end", "label"))
        x1, x2 = x_of(item.start), x_of(item.end + timedelta(days=1))
        when = f"{item.start:%d %b %Y} to {item.end:%d %b %Y}"
        rects.append(
            Rect(
                x1,
                y + 5,
                max(x2 - x1, 3.0),
                row_height - 10,
                item.colour,
                f"{item.label}: {when}; {item.note}",
                item.href,
            )
        )
        note = f"{item.start:%d %b} to {item.end:%d %b %Y} · {item.note}"
        inside = x2 - x1 > 7 * len(note)
        tx = x1 + 6 if inside else x2 + 6
        anchor = "start"
        if not inside and tx + 6 * len(note) > width:
            tx, anchor = x1 - 6, "end"
        texts.append(Text(tx, y + row_height * 0.62, note, anchor, "onbar" if inside else "axis"))
    if today is not None and t0 <= today <= t1:
        lines.append(Line(x_of(today), top - 4, x_of(today), height, "today"))
        texts.append(Text(x_of(today) + 3, height - 2, "today", "start", "today"))
    return Chart(title, width, height, tuple(rects), tuple(lines), tuple(texts))
