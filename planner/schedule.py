"""The calendar waves are laid on: freeze windows met without idle gaps, and the plan's horizon.

A freeze moves only what overlaps it. A wave starts the day it is due (after the freeze when that
day falls inside one); when a freeze comes before a full wave would end, the wave is shortened
to end before it (so it takes less work: only what fits moves before the freeze) as long as at
least ``freeze_min_weeks`` remain. Only a wave that still cannot end before the freeze (too
little room, or one group needing longer) starts after it. No wave overlaps a freeze, and no
wave is pushed whole past one while there is room to work before it, except a wave longer than
every gap between the freezes: it starts when due and its reasons name the freezes it overlaps
(no later gap would hold it either: past the last one-off freeze the yearly ones leave the same
gaps every year). Yearly freezes are laid out for as many years as the waves reach.

:func:`horizon_warning`: a plan running past ``horizon_years`` or ``horizon_waves`` says so and
suggests the team capacity that would finish inside the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from planner.dates import FreezeWindow, plus_years

Span = tuple[date, date, str]


# How far past the last one-off freeze (or the wave's due day) a search for a gap goes before
# deciding that none holds the wave: from there on only the yearly freezes remain, the same
# every year but for a day that leap years move (29 February), so four years and one more
# cover every gap they will ever leave.
_SEARCH = timedelta(days=5 * 366)


@dataclass(frozen=True, slots=True)
class Calendar:
    """The freeze windows as concrete spans (start, end inclusive, name): one-off freezes as
    given, yearly ones laid out a year at a time, as far ahead as a question reaches."""

    windows: tuple[FreezeWindow, ...]
    # the yearly freezes' spans by the year they start in, laid out on first use
    _years: dict[int, tuple[Span, ...]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    @classmethod
    def of(cls, windows: Sequence[FreezeWindow]) -> Calendar:
        return cls(tuple(windows))

    @property
    def _once(self) -> tuple[Span, ...]:
        return tuple(
            (s, e, w.name) for w in self.windows if not w.recurring for s, e in w.spans(0, 0)
        )

    def _year(self, year: int) -> tuple[Span, ...]:
        spans = self._years.get(year)
        if spans is None:
            spans = self._years[year] = tuple(
                (s, e, w.name) for w in self.windows if w.recurring for s, e in w.spans(year, year)
            )
        return spans

    def spans(self, first: date, last: date) -> list[Span]:
        """Every freeze span that overlaps ``first``..``last`` (inclusive), sorted by start."""
        found = {
            span
            for year in range(first.year - 1, last.year + 1)  # a yearly span may end next year
            for span in self._year(year)
            if span[0] <= last and span[1] >= first
        }
        found.update(span for span in self._once if span[0] <= last and span[1] >= first)
        return sorted(found)

    def clear_start(self, day: date) -> tuple[date, tuple[str, ...]]:
        """``day``, or the day after the freeze(s) it falls in, and their names."""
        names: list[str] = []
        while clash := self.spans(day, day):
            names.extend(n for _, _, n in clash)
            day = max(e for _, e, _ in clash) + timedelta(days=1)
        return day, tuple(names)

    def room(self, day: date) -> int | None:
        """Days from ``day`` to the next freeze (None: no freeze ahead)."""
        # a yearly freeze starts again within a year; every one-off freeze is known
        ahead = [s for s, _, _ in self.spans(day, day + timedelta(days=366)) if s >= day]
        ahead.extend(s for s, _, _ in self._once if s >= day)
        return (min(ahead) - day).days if ahead else None

    def place(self, start: date, days: int) -> tuple[date, tuple[str, ...], tuple[str, ...]]:
        """The first day from ``start`` with ``days`` days clear of every freeze, the names of
        the freezes that pushed it, and none overlapped. When no gap between the freezes is
        that long (yearly freezes closer together than the work takes), ``start`` itself, none
        that pushed it and the names of the freezes the span overlaps: pushing it on would
        never find room, only move it years away."""
        once = self._once
        settled = max([start, *(e for _, e, _ in once)])  # only yearly freezes after this
        give_up = settled + _SEARCH if any(w.recurring for w in self.windows) else None
        day, names = start, list[str]()
        while give_up is None or day <= give_up:
            clash = self.spans(day, day + timedelta(days=days - 1))
            if not clash:
                return day, tuple(names), ()
            names.extend(n for _, _, n in clash if n not in names)
            day = max(e for _, e, _ in clash) + timedelta(days=1)
        overlapped = self.spans(start, start + timedelta(days=days - 1))
        return start, (), tuple(dict.fromkeys(n for _, _, n in overlapped))


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
