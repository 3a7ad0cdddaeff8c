"""The calendar waves are laid on: freeze windows met without idle gaps, and the plan's horizon.

A freeze moves only what overlaps it. A wave starts the day it is due (after the freeze when that
day falls inside one); when a freeze comes before a full wave would end, the wave is shortened
to end before it (so it takes less work: only what fits moves before the freeze) as long as at
least ``freeze_min_weeks`` remain. Only a wave that still cannot end before the freeze (too
little room, or one group needing longer) starts after it. No wave overlaps a freeze, and no
wave is pushed whole past one while there is room to work before it, except a wave longer than
every gap between the freezes: it starts when due and its reasons name the freezes it overlaps
(pushing it on would only move it past every freeze the calendar knows, years away).

:func:`horizon_warning`: a plan running past ``horizon_years`` or ``horizon_waves`` says so and
suggests the team capacity that would finish inside the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from planner.dates import FreezeWindow, plus_years

Span = tuple[date, date, str]


@dataclass(frozen=True, slots=True)
class Calendar:
    """Concrete freeze spans (start, end inclusive, name), sorted by start."""

    spans: tuple[Span, ...]
    # the last day the spans are known for (yearly freezes are laid out that far); None: every
    # freeze is a one-off, all of them known
    until: date | None = None

    @classmethod
    def of(cls, windows: Sequence[FreezeWindow], first: date, years: int = 30) -> Calendar:
        last = first.year + years
        spans = {(s, e, w.name) for w in windows for s, e in w.spans(first.year - 1, last)}
        recurring = any(w.recurring for w in windows)
        return cls(tuple(sorted(spans)), date(last, 12, 31) if recurring else None)

    def clear_start(self, day: date) -> tuple[date, tuple[str, ...]]:
        """``day``, or the day after the freeze(s) it falls in, and their names."""
        names: list[str] = []
        moved = True
        while moved:
            moved = False
            for s, e, name in self.spans:
                if s <= day <= e:
                    day = e + timedelta(days=1)
                    names.append(name)
                    moved = True
        return day, tuple(names)

    def room(self, day: date) -> int | None:
        """Days from ``day`` to the next freeze (None: no freeze ahead)."""
        ahead = [s for s, _, _ in self.spans if s >= day]
        return (min(ahead) - day).days if ahead else None

    def place(self, start: date, days: int) -> tuple[date, tuple[str, ...], tuple[str, ...]]:
        """The first day from ``start`` with ``days`` days clear of every freeze, the names of
        the freezes that pushed it, and none overlapped. When no gap between the freezes is
        that long (yearly freezes closer together than the work takes), ``start`` itself, none
        that pushed it and the names of the freezes the span overlaps: pushing it would only
        move it past every freeze the calendar knows, years on."""
        day, names = start, list[str]()
        while True:
            end = day + timedelta(days=days - 1)
            if self.until is not None and end > self.until:
                break
            clash = [(s, e, n) for s, e, n in self.spans if s <= end and e >= day]
            if not clash:
                return day, tuple(names), ()
            names.extend(n for _, _, n in clash if n not in names)
            day = max(e for _, e, _ in clash) + timedelta(days=1)
        end = start + timedelta(days=days - 1)
        overlapped = dict.fromkeys(n for s, e, n in self.spans if s <= end and e >= start)
        return start, (), tuple(overlapped)


# How a wave's reasons name a freeze it overlaps (see Calendar.place); written by
# overlap_reasons, read back by overlapped_freezes.
OVERLAPS_FREEZE = "overlaps freeze: "


def overlap_reasons(names: Sequence[str], weeks: int) -> list[str]:
    """A wave's reasons for the freezes it overlaps, each with what would avoid it."""
    return [
        f"{OVERLAPS_FREEZE}{name}: no gap between freezes holds its {weeks} weeks of work "
        "(split its groups, raise waves.team_days_per_week or shorten the freezes)"
        for name in names
    ]


def overlapped_freezes(reasons: Sequence[str]) -> list[str]:
    """The freezes a wave's reasons (:func:`overlap_reasons`) say it overlaps."""
    return [
        r.removeprefix(OVERLAPS_FREEZE).split(": no gap between freezes")[0]
        for r in reasons
        if r.startswith(OVERLAPS_FREEZE)
    ]


def horizon_warning(
    waves: int,
    last_day: date | None,
    effort_days: float,
    today: date,
    *,
    horizon_years: float,
    horizon_waves: int,
    team_days_per_week: float,
) -> str | None:
    """A warning when the plan runs past the horizon, with a team capacity that would not."""
    if last_day is None:
        return None
    limit = plus_years(today, horizon_years)
    if waves <= horizon_waves and last_day <= limit:
        return None
    weeks = max(1.0, (limit - today).days / 7.0 * 0.8)  # leave a fifth for gaps and freezes
    needed = math.ceil(effort_days / weeks)
    return (
        f"the plan needs {waves} waves and ends {last_day}, past the horizon of "
        f"{horizon_years:g} years ({limit}) or {horizon_waves} waves: {effort_days:,.0f} "
        f"engineer-days at {team_days_per_week:g} a week; a team of about {needed} days a week "
        "(waves.team_days_per_week) would finish inside it"
    )
