"""Utilisation rollups: hourly then daily p50/p95/max, a bounded store, and the window figure
right-sizing rests on (p95 over the observed days, saying how many)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from pytest import approx

from planner.usage import daily, hourly, percentile, prune, window_figure

T0 = datetime(2026, 3, 2, 0, 0)


def test_percentile_matches_linear_interpolation() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(map(float, range(101))), 95) == 95.0
    assert percentile([7.0], 95) == 7.0


def test_hourly_then_daily() -> None:
    samples = [(T0 + timedelta(minutes=5 * i), float(i % 12)) for i in range(24 * 12)]
    samples.append((T0 + timedelta(hours=3, minutes=1), None))  # a missing reading: left out
    hours = hourly(samples)
    assert len(hours) == 24 and all(h.count == 12 for h in hours)
    assert hours[0].p50 == 5.5 and hours[0].max == 11.0 and hours[0].p95 == approx(10.45)
    [day] = daily(hours)
    assert (day.start, day.count, day.p50, day.max) == (T0, 288, 5.5, 11.0)
    assert day.p95 == approx(10.45)


def test_busy_hours_show_in_the_day_p95_and_any_peak_in_its_max() -> None:
    def day_with(busy_hours: int) -> tuple[float, float, float]:
        quiet = [(T0 + timedelta(hours=h, minutes=m), 5.0) for h in range(24) for m in (0, 30)]
        samples = [(t, 90.0 if t.hour >= 24 - busy_hours else v) for t, v in quiet]
        [day] = daily(hourly(samples))
        return day.p50, day.p95, day.max

    assert day_with(1) == (5.0, 5.0, 90.0)  # one hour in 24 is under 5%: the max keeps it
    p50, p95, peak = day_with(2)
    assert p50 == 5.0 and p95 > 50.0 and peak == 90.0


def _month(busy_days: set[int]) -> list[tuple[datetime, float]]:
    """30 days of 10-minute CPU samples: 20-30% on ordinary days, 90% in the afternoon of the
    busy days (month-end)."""
    out = []
    for d in range(30):
        for i in range(144):
            t = T0 + timedelta(days=d, minutes=10 * i)
            busy = d in busy_days and 13 <= t.hour < 17
            out.append((t, 90.0 if busy else 20.0 + (i % 11)))
    return out


def test_window_p95_rests_on_the_days_seen_and_differs_from_a_snapshot() -> None:
    days = daily(hourly(_month({29})))
    today = date(2026, 3, 31)
    fig = window_figure(days, today=today, window_days=30)
    assert (fig.days, fig.samples, fig.first, fig.last) == (30, 30 * 144, T0.date(), today)
    # A snapshot taken on the busy afternoon says 90%: sized for that, the host doubles. The
    # history says the 95th percentile is near 30%.
    assert fig.max == 90.0 and 29 <= (fig.p95 or 0) <= 31
    # Only a week of data: the figure says so.
    short = window_figure(days[-7:], today=today, window_days=30)
    assert short.days == 7
    assert window_figure(days, today=date(2027, 1, 1), window_days=30).p95 is None


def test_prune_bounds_the_store() -> None:
    days = daily(hourly(_month(set())))
    kept = prune(days, keep_after=T0 + timedelta(days=10), max_rows=15)
    assert len(kept) == 15 and kept[-1] == days[-1] and kept[0].start == T0 + timedelta(days=15)
    assert prune(days, keep_after=T0, max_rows=0) == []


@given(st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=60))
def test_rollup_order_p50_le_p95_le_max(values: list[float]) -> None:
    samples = [(T0 + timedelta(minutes=i), v) for i, v in enumerate(values)]
    for r in hourly(samples) + daily(hourly(samples)):
        assert r.p50 <= r.p95 + 1e-9 and r.p95 <= r.max + 1e-9
