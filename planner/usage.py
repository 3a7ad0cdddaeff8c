"""Utilisation history as rollups (pure): samples -> hourly -> daily p50, p95 and max, and the
figure right-sizing and the idle test rest on: the p95 over the observed window, with how many
days of data it covers.

A sample is ``(time, value)`` for one metric of one asset (CPU %, memory %, disk %, bits per
second in or out). An hour keeps its samples' p50, p95 and max. A day is rolled up from its
hours: the p50 of their p50s, the p95 of their p95s (busy hours longer than a twentieth of the
day show in it) and the max of their maxes (any peak shows there). :func:`prune` bounds what is
kept.
Nothing here reads a clock: the caller passes ``today`` and the cut-off.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

METRICS = ("cpu_pct", "mem_pct", "disk_pct", "net_in_bps", "net_out_bps")


@dataclass(frozen=True, slots=True)
class Rollup:
    start: datetime  # the hour's or day's start (naive or aware, as given)
    count: int  # samples in it
    p50: float
    p95: float
    max: float


@dataclass(frozen=True, slots=True)
class WindowFigure:
    """The p95 of a metric over the window, and what it rests on."""

    p95: float | None
    max: float | None
    days: int  # distinct days with data in the window
    samples: int
    first: date | None
    last: date | None


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks (numpy's
    default), of a non-empty sequence."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _rollup(start: datetime, values: list[float]) -> Rollup:
    return Rollup(
        start,
        len(values),
        percentile(values, 50),
        percentile(values, 95),
        max(values),
    )


def _finite(samples: Iterable[tuple[datetime, float | None]]) -> list[tuple[datetime, float]]:
    return [(t, float(v)) for t, v in samples if v is not None and math.isfinite(v)]


def hourly(samples: Iterable[tuple[datetime, float | None]]) -> list[Rollup]:
    """One rollup per hour that has samples, in time order (missing values left out)."""
    by_hour: dict[datetime, list[float]] = {}
    for t, v in _finite(samples):
        by_hour.setdefault(t.replace(minute=0, second=0, microsecond=0), []).append(v)
    return [_rollup(h, by_hour[h]) for h in sorted(by_hour)]


def daily(hours: Iterable[Rollup]) -> list[Rollup]:
    """One rollup per day from its hourly rollups: the p50 of the hours' p50s, the p95 of the
    hours' p95s (an upper estimate of the day's p95), the max of their maxes."""
    by_day: dict[datetime, list[Rollup]] = {}
    for h in hours:
        by_day.setdefault(h.start.replace(hour=0, minute=0, second=0, microsecond=0), []).append(h)
    out = []
    for day in sorted(by_day):
        hs = by_day[day]
        out.append(
            Rollup(
                day,
                sum(h.count for h in hs),
                percentile([h.p50 for h in hs], 50),
                percentile([h.p95 for h in hs], 95),
                max(h.max for h in hs),
            )
        )
    return out


def prune(rollups: Sequence[Rollup], *, keep_after: datetime, max_rows: int) -> list[Rollup]:
    """The rollups to keep: those starting at or after ``keep_after``, at most ``max_rows`` of
    them (the newest), so that the store stays bounded whatever the sampling rate."""
    kept = [r for r in rollups if r.start >= keep_after]
    return sorted(kept, key=lambda r: r.start)[-max_rows:] if max_rows > 0 else []


def window_figure(days: Sequence[Rollup], *, today: date, window_days: int) -> WindowFigure:
    """The p95 over the last ``window_days`` days up to ``today`` (the p95 of the daily p95s),
    with the number of days it rests on. No day in the window: p95 None, days 0."""
    start = today - timedelta(days=window_days - 1)
    inside = [d for d in days if start <= d.start.date() <= today]
    if not inside:
        return WindowFigure(None, None, 0, 0, None, None)
    dates = sorted({d.start.date() for d in inside})
    return WindowFigure(
        p95=percentile([d.p95 for d in inside], 95),
        max=max(d.max for d in inside),
        days=len(dates),
        samples=sum(d.count for d in inside),
        first=dates[0],
        last=dates[-1],
    )


def util_basis(days: int | None, observed: bool) -> str:
    """How a utilisation figure was obtained, for the reason texts: ``p95 over N days of
    samples``, ``a single poll's figure`` or, with nothing observed, ``assumed``."""
    if days:
        return f"p95 over {days} day{'s' if days != 1 else ''} of samples"
    return "a single poll's figure, no sampled history" if observed else "assumed: none observed"
