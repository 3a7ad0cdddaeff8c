"""The schedule table on each backend (SQLite: one process, plain UPDATEs; PostgreSQL: SKIP
LOCKED) and the claim loop of an agent alone on it (``--role all``): rows advance on their grid,
a failing target backs off as agent.runtime.cadence says, targets that leave the configuration
leave the schedule."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text, update
from sqlmodel import select

from agent.inventory.targets import PollJob
from agent.runtime import cadence, leases
from agent.runtime.lease_loop import LeaseCollector
from agent.store import Store, utcnow
from agent.store import tables as m


def job(i: int, interval: float = 60.0) -> PollJob:
    return PollJob(f"10.9.1.{i}", "snmp", 161, ("c",), "depot", (), interval)


def db_now(store: Store) -> datetime:
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as conn:
            value: datetime = conn.execute(text("SELECT now()")).scalar_one()
            return value
    return utcnow()


def make_due(store: Store, seconds_ago: float) -> datetime:
    due = db_now(store) - timedelta(seconds=seconds_ago)
    with store.engine.begin() as conn:
        conn.execute(update(leases.LEASE).values(next_due=due))
    return due


def rows(store: Store) -> dict[str, m.PollLease]:
    with store.session() as s:
        return {r.target: r for r in s.exec(select(m.PollLease)).all()}


def test_claim_release_and_back_off_on_each_backend(store: Store) -> None:
    jobs = [job(1), job(2)]
    key = jobs[0].key
    leases.upsert_leases(store, jobs)
    now = db_now(store)
    assert set(rows(store)) == {key, jobs[1].key}
    for row in rows(store).values():
        assert now - timedelta(seconds=1) <= row.next_due <= now + timedelta(seconds=15)
    assert leases.claim(store, "a", [key], 5, 30.0).claims == []  # not due yet

    before = make_due(store, seconds_ago=150)  # two and a half intervals late
    got = leases.claim(store, "a", [j.key for j in jobs], 5, 30.0)
    assert sorted(c.target for c in got.claims) == sorted(j.key for j in jobs)
    assert leases.claim(store, "b", [key], 5, 30.0).claims == []  # held
    slot = leases.release(store, "a", key, ok=True)
    assert slot is not None and slot.next_due == before + timedelta(seconds=180)
    row = rows(store)[key]
    assert (row.next_due, row.failures, row.leased_by, row.last_status) == (
        before + timedelta(seconds=180),
        0,
        None,
        "ok",
    )
    assert leases.release(store, "b", jobs[1].key, ok=True) is None  # not b's to release

    # Failures back off by the one policy, from the due time of each poll.
    for failures in (1, 2, 3):
        before = make_due(store, seconds_ago=1)
        leases.claim(store, "a", [key], 5, 30.0)
        leases.release(store, "a", key, ok=False)
        row = rows(store)[key]
        assert row.failures == failures
        assert row.next_due == before + timedelta(seconds=cadence.step(60, failures))
    # A silent range address waits the discovery interval; jitter is added to the step.
    before = make_due(store, seconds_ago=1)
    leases.claim(store, "a", [key], 5, 30.0)
    leases.release(store, "a", key, ok=False, discovering=True, jitter=0.1)
    assert rows(store)[key].next_due == before + timedelta(seconds=cadence.DISCOVERY_INTERVAL * 1.1)
    # Handed back without a poll (shutdown): still due, nothing else changes.
    before = make_due(store, seconds_ago=1)
    leases.claim(store, "a", [key], 5, 30.0)
    leases.release(store, "a", key, ok=True, advance=False)
    row = rows(store)[key]
    assert (row.next_due, row.failures, row.leased_by) == (before, 4, None)


def test_expired_lease_is_taken_over_and_the_schedule_read(store: Store) -> None:
    key = job(1).key
    leases.upsert_leases(store, [job(1), job(2)])
    make_due(store, seconds_ago=1)
    leases.claim(store, "a", [key], 5, 30.0)
    run_id = store.start_poll(key, "snmp", agent="a")  # "a" is killed mid-poll
    assert leases.renew(store, "a", [key], 30.0) == {key}
    assert leases.expire_own(store, "a") == 1
    [taken] = leases.claim(store, "b", [key], 5, 30.0).claims
    assert taken.taken_from == "a"
    [run] = store.poll_runs(target=key)
    assert run.id == run_id and run.status == "abandoned"
    assert leases.renew(store, "a", [key], 30.0) == set()
    # An agent alone on the schedule drops the rows of targets it no longer has, unless
    # another live agent holds them.
    assert leases.forget(store, "a", [job(2).key]) == 0  # b holds job 1
    leases.release(store, "b", key, ok=True)
    assert leases.forget(store, "a", [job(2).key]) == 1
    assert set(leases.schedule(store, [key, job(2).key])) == {job(2).key}


def test_alone_on_the_schedule_the_claim_loop_polls_and_backs_off(store: Store) -> None:
    """``--role all``'s loop: a good and a failing target on half-second intervals."""
    interval = 0.5
    good, bad = job(1, interval), job(2, interval)
    polls: dict[str, list[float]] = {good.key: [], bad.key: []}

    async def poll(j: PollJob) -> bool:
        polls[j.key].append(time.monotonic())
        await asyncio.sleep(0.02)
        return j.key == good.key

    async def scenario() -> dict[str, Any]:
        loop = LeaseCollector(
            store,
            poll,
            "alone",
            lease_seconds=5.0,
            capacity={"snmp": 4},
            max_idle=0.2,
            owner=True,
            jitter=0.1,
        )
        leases.upsert_leases(store, [good, bad])
        await loop.configure([good, bad])
        make_due(store, seconds_ago=0)
        task = asyncio.create_task(loop.run())
        deadline = time.monotonic() + 30
        while len(polls[bad.key]) < 4:
            assert time.monotonic() < deadline, polls
            await asyncio.sleep(0.05)
        seen = rows(store)
        # A reload without the failing target: its row leaves the schedule.
        leases.upsert_leases(store, [good])
        await loop.configure([good])
        loop.stop_accepting()
        await task
        await asyncio.gather(*loop.in_flight)
        await loop.finish()
        return seen

    seen = asyncio.run(scenario())
    row = seen[bad.key]
    assert row.failures in (len(polls[bad.key]), len(polls[bad.key]) - 1)  # one may be in flight
    gaps = [b - a for a, b in itertools.pairwise(polls[bad.key])]
    for n, gap in enumerate(gaps, start=1):  # 1 s, 2 s, 4 s: each a little later with jitter
        want = cadence.step(interval, n)
        assert want - 0.4 <= gap <= want * 1.1 + 0.5, (n, gaps)
    assert len(polls[good.key]) >= sum(gaps) / interval * 0.6, polls
    assert seen[good.key].failures == 0 and seen[good.key].last_status == "ok"
    assert seen[good.key].next_due > seen[bad.key].last_polled_at - timedelta(seconds=interval)
    after = rows(store)
    assert set(after) == {good.key}
    assert after[good.key].leased_by is None  # handed back at the stop
