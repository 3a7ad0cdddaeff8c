"""Dates the plan is laid on: freeze windows and UK financial years (April to March).

A freeze window is either recurring (``from: '12-18'``, ``to: '01-04'``: every year, crossing the
new year when ``to`` is earlier than ``from``) or dated (``from: 2027-04-26``, ``to: 2027-05-10``).
No wave may overlap one: a wave is pushed to the day after the window ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import Field, PlainValidator, model_validator

from planner.fields import Strict, Text, parse_day


@dataclass(frozen=True, slots=True)
class FreezeWindow:
    name: str
    start: str  # 'MM-DD' when recurring, else an ISO date
    end: str
    recurring: bool

    def spans(self, first_year: int, last_year: int) -> list[tuple[date, date]]:
        """Concrete (start, end) days, inclusive, for windows starting in the given years."""
        if not self.recurring:
            return [(date.fromisoformat(self.start), date.fromisoformat(self.end))]
        out = []
        m1, d1 = _month_day(self.start) or (1, 1)
        m2, d2 = _month_day(self.end) or (1, 1)
        for year in range(first_year, last_year + 1):
            start = _safe_day(year, m1, d1)
            end = _safe_day(year + (1 if (m2, d2) < (m1, d1) else 0), m2, d2)
            out.append((start, end))
        return out


def _day_or_yearly(value: Any) -> date | str:
    day = parse_day(value)
    if day is not None:
        return day
    if isinstance(value, str) and _month_day(value) is not None:
        return value
    raise ValueError(f"must be a date (2027-04-26) or a yearly day ('12-18'), got {value!r}")


DayOrYearly = Annotated[date | str, PlainValidator(_day_or_yearly)]


class FreezeWindowFile(Strict):
    """One of ``waves.freeze_windows``: ``from`` and ``to`` both dates or both yearly days."""

    name: Text = "freeze"
    start: DayOrYearly = Field(alias="from")
    end: DayOrYearly = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> FreezeWindowFile:
        dated = isinstance(self.start, date), isinstance(self.end, date)
        if dated[0] != dated[1]:
            raise ValueError("give 'from' and 'to' both as dates or both as yearly days")
        if isinstance(self.start, date) and isinstance(self.end, date) and self.end < self.start:
            raise ValueError(f"'to' ({self.end}) is before 'from' ({self.start})")
        return self

    def build(self) -> FreezeWindow:
        if isinstance(self.start, date) and isinstance(self.end, date):
            return FreezeWindow(self.name, self.start.isoformat(), self.end.isoformat(), False)
        return FreezeWindow(self.name, str(self.start), str(self.end), True)


def _month_day(text: str) -> tuple[int, int] | None:
    parts = text.strip().split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    month, day = int(parts[0]), int(parts[1])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return month, day


def _safe_day(year: int, month: int, day: int) -> date:
    while True:
        try:
            return date(year, month, day)
        except ValueError:  # 02-29 in a common year, 04-31 ...
            day -= 1


def next_monday(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def financial_year(day: date) -> str:
    """The UK financial year holding ``day``: 2026-05-01 -> '2026/27'."""
    first = day.year if day.month >= 4 else day.year - 1
    return f"{first}/{(first + 1) % 100:02d}"


def financial_year_bounds(label: str) -> tuple[date, date]:
    """First and last day of a financial year label ('2026/27' -> 2026-04-01, 2027-03-31)."""
    first = int(label.split("/")[0])
    return date(first, 4, 1), date(first + 1, 3, 31)


def plus_years(day: date, years: float) -> date:
    """``day`` plus ``years``: calendar years when whole (29 February becomes the 28th)."""
    if float(years).is_integer():
        try:
            return day.replace(year=day.year + int(years))
        except ValueError:
            return day.replace(year=day.year + int(years), day=28)
    return day + timedelta(days=round(years * 365.25))
