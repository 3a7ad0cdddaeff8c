"""The one schedule and back-off policy (agent.runtime.cadence): steps, the grid, jitter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from agent.runtime import cadence
from agent.runtime.cadence import Slot, after_poll, first_due_offset, next_due, step

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_failures_double_the_step_up_to_sixteen_times_and_six_hours() -> None:
    assert [step(60, f) for f in range(7)] == [60, 120, 240, 480, 960, 960, 960]
    assert step(3600, 3) == cadence.MAX_BACKOFF_SECONDS  # 8 h capped at 6 h
    assert step(8 * 3600, 2) == 8 * 3600  # an interval longer than the cap is kept, not grown
    assert step(60, 10_000) == 960  # no huge numbers for a target that failed for years


def test_silent_range_addresses_wait_the_discovery_interval() -> None:
    assert step(60, 0, discovering=True) == cadence.DISCOVERY_INTERVAL
    assert step(60, 3, discovering=True) == cadence.DISCOVERY_INTERVAL
    assert step(12 * 3600, 1, discovering=True) == 12 * 3600


def test_next_due_is_the_first_boundary_after_the_claim() -> None:
    # On time: one interval after the due time, whenever the poll ended.
    assert next_due(due=at(0), claimed=at(0.2), interval=60, failures=0) == at(60)
    # Two and a half intervals late: on the grid, after the claim.
    assert next_due(due=at(0), claimed=at(150), interval=60, failures=0) == at(180)
    # A failure backs off from the due time: 2 x 60.
    assert next_due(due=at(0), claimed=at(10), interval=60, failures=1) == at(120)
    # Claimed early (clock skew between agents): still one step on, never the same time.
    assert next_due(due=at(0), claimed=at(-5), interval=60, failures=0) == at(60)


def test_jitter_is_a_fraction_of_the_step() -> None:
    assert next_due(due=at(0), claimed=at(1), interval=60, failures=0, jitter=0.1) == at(66)
    assert next_due(due=at(0), claimed=at(1), interval=60, failures=2, jitter=0.05) == at(252)


def test_after_poll_counts_failures_and_a_success_resets_them() -> None:
    slot = Slot(at(0))
    slot = after_poll(slot, at(1), 60, ok=False)
    assert slot == Slot(at(120), 1)
    slot = after_poll(slot, at(121), 60, ok=False)
    assert slot == Slot(at(120 + 240), 2)
    slot = after_poll(slot, at(361), 60, ok=True)
    assert slot == Slot(at(420), 0)
    # A range address that never answered: the discovery interval, until it answers.
    silent = after_poll(Slot(at(0)), at(1), 60, ok=False, discovering=True)
    assert silent == Slot(at(cadence.DISCOVERY_INTERVAL), 1)
    answered = after_poll(silent, silent.next_due, 60, ok=True, discovering=True)
    assert answered.next_due == silent.next_due + timedelta(seconds=60)


def test_first_polls_are_spread_by_key_the_same_everywhere() -> None:
    offsets = [first_due_offset(f"snmp://10.0.0.{i}:161", 300) for i in range(50)]
    assert all(0 <= o < cadence.FIRST_POLL_SPREAD for o in offsets)
    assert len(set(offsets)) == 50
    assert offsets == [first_due_offset(f"snmp://10.0.0.{i}:161", 300) for i in range(50)]
    assert first_due_offset("snmp://10.0.0.1:161", 2) < 2


@given(
    interval=st.floats(min_value=1, max_value=86_400),
    failures=st.integers(min_value=0, max_value=40),
    late=st.floats(min_value=-60, max_value=10 * 86_400),
    jitter=st.floats(min_value=0, max_value=0.999),
)
def test_next_due_is_after_the_claim_and_on_the_grid(
    interval: float, failures: int, late: float, jitter: float
) -> None:
    claimed = at(late)
    due = next_due(due=T0, claimed=claimed, interval=interval, failures=failures, jitter=jitter)
    s = step(interval, failures)
    assert interval <= s <= max(interval * cadence.MAX_BACKOFF_FACTOR, interval)
    assert due > claimed
    steps = ((due - T0).total_seconds() - s * jitter) / s
    assert abs(steps - round(steps)) < 1e-5 and round(steps) >= 1
    # never more than a step (and its jitter) after the claim, or after the due time if earlier
    assert (due - max(claimed, T0)).total_seconds() <= s * (1 + jitter) + 1e-5
