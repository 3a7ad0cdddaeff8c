"""The claim loop: poll the targets this agent claims from the schedule, in every polling role.

A loop takes due targets from the schedule table (:mod:`agent.runtime.leases`) while it has free
polling capacity, polls each (with the daemon's :class:`~agent.inventory.polling.Poller`), and
gives it back once the result is stored, or, with the database away, once the results that
waited have been written; the release moves the target to its next due time as
:mod:`agent.runtime.cadence` says. Leases in hand are renewed every third of
``agent.lease_seconds``; an agent that dies stops renewing and its targets are taken over when
its leases expire.

An agent alone on its schedule (``--role all``, the ``owner``) keeps a copy of the schedule in
memory: while the database is away it goes on polling from that copy (the results wait in the
poller, the new due times here) and writes both back when the database answers. Agents that
share a schedule (``--role collector``) poll only what they could claim.

Sample exposition (agents sharing a schedule)::

    cloudward_poll_leases_held 3.0
    cloudward_poll_lease_claims_total 118.0
    cloudward_poll_lease_takeovers_total 2.0
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy.exc import SQLAlchemyError

from agent.errors import StoreError
from agent.inventory.targets import PollJob
from agent.runtime import cadence, leases
from agent.runtime.cadence import Slot
from agent.store import Store, utcnow

log = logging.getLogger(__name__)

MAX_IDLE = 5.0  # look for due targets at least this often (new rows, changed schedules)
FINISH_WAIT = 10.0  # at shutdown, how long the hand-back writes may still take
WAKE_JITTER = 0.25  # agents waiting for the same due time wake in random order: fair shares

PollFn = Callable[[PollJob], Awaitable[bool]]
T = TypeVar("T")


class LeaseMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.held = Gauge(
            "cloudward_poll_leases_held",
            "Targets this agent holds a lease on (polling or about to release).",
            registry=registry,
        )
        self.claims = Counter(
            "cloudward_poll_lease_claims",
            "Targets claimed from the shared schedule.",
            registry=registry,
        )
        self.takeovers = Counter(
            "cloudward_poll_lease_takeovers",
            "Targets claimed after another agent's lease on them expired (polled again, or "
            "released when that agent had finished the poll).",
            registry=registry,
        )


@dataclass(frozen=True)
class Unreleased:
    """A target polled (or handed back) whose row is still to be written."""

    ok: bool
    advance: bool
    discovering: bool = False
    jitter: float = 0.0
    slot: Slot | None = None  # owner: the next slot as computed here
    local: bool = False  # owner: polled from memory, so ``slot`` is what to store
    polled_at: datetime | None = None


class LeaseCollector:
    """Claim, poll and release targets; see the module docstring.

    ``pending`` tells how many results wait in memory for the database and ``flush`` writes
    them: a lease whose result waits is released only after it has been written. ``owner``:
    this agent is alone on its schedule (see the module docstring). ``jitter``: the largest
    fraction of a step added to a target's next due time (:func:`cadence.next_due`).

    Lease statements run on threads of their own, so that renewals never queue behind the
    poll results being written on the default executor.
    """

    def __init__(
        self,
        store: Store,
        poll: PollFn,
        agent: str,
        *,
        lease_seconds: float,
        capacity: dict[str, int],
        metrics: LeaseMetrics | None = None,
        pending: Callable[[], int] = lambda: 0,
        flush: Callable[[], Awaitable[Any]] | None = None,
        max_idle: float = MAX_IDLE,
        seed: int | None = None,
        owner: bool = False,
        jitter: float = 0.0,
    ) -> None:
        self.store = store
        self._poll = poll
        self.agent = agent
        self.lease_seconds = lease_seconds
        self.capacity = capacity
        self.metrics = metrics
        self.owner = owner
        self.jitter = jitter
        self._pending = pending
        self._flush = flush
        self._max_idle = max_idle
        self._rng = random.Random(seed)
        self.jobs: dict[str, PollJob] = {}
        self.known: set[str] = set()  # targets that have answered (no discovery back-off)
        self._slots: dict[str, Slot] = {}  # owner: the schedule as last read or written
        self._busy: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # until done, its release write included
        self._claimed_at: dict[str, datetime] = {}
        self._local: set[str] = set()  # owner: polling from memory (no lease in the database)
        self._unreleased: dict[str, Unreleased] = {}
        self._accepting = True
        self._wake = asyncio.Event()
        self._db_down_logged = False
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lease")
        self._statements: set[Future[Any]] = set()

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        statement = self._executor.submit(functools.partial(fn, *args, **kwargs))
        self._statements.add(statement)
        statement.add_done_callback(self._statements.discard)
        return await asyncio.wrap_future(statement)

    # --- what the daemon calls ---------------------------------------------------------------
    def set_jobs(
        self,
        jobs: list[PollJob],
        *,
        known: set[str] | None = None,
        slots: dict[str, Slot] | None = None,
    ) -> None:
        """The jobs this agent serves; in-flight polls of removed ones finish. ``known``: the
        targets that have answered; ``slots`` (owner): the schedule as stored."""
        self.jobs = {j.key: j for j in jobs}
        if known is not None:
            self.known = set(known)
        if self.owner:
            if slots is not None:
                self._slots.update(slots)
            now = utcnow()
            for key in set(self._slots) - set(self.jobs):
                del self._slots[key]
            for j in jobs:  # not stored yet (the database was away): first due soon
                if j.key not in self._slots:
                    offset = cadence.first_due_offset(j.key, j.interval)
                    self._slots[j.key] = Slot(now + timedelta(seconds=offset))
        self._wake.set()

    async def configure(self, jobs: list[PollJob]) -> None:
        """Start-up and reload: :meth:`set_jobs` with what the database knows of ``jobs``; an
        owner also drops the rows of targets it no longer has. The rows of ``jobs`` are
        upserted before (:func:`leases.upsert_leases`)."""
        keys = [j.key for j in jobs]
        known: set[str] | None = None
        slots: dict[str, Slot] | None = None
        try:
            if self.owner:
                dropped = await self._db(leases.forget, self.store, self.agent, keys)
                if dropped:
                    log.info("%d targets left the configuration and the schedule", dropped)
                slots = await self._db(leases.schedule, self.store, keys)
            known = await self._db(self.store.known_targets)
        except StoreError as exc:
            log.warning("the schedule is read again when the database answers: %s", exc)
        self.set_jobs(jobs, known=known, slots=slots)

    @property
    def in_flight(self) -> set[asyncio.Task[None]]:
        """Polls not yet finished, counting the write that hands each target back."""
        return {t for t in self._tasks if not t.done()}

    @property
    def held(self) -> set[str]:
        return set(self._busy) | set(self._unreleased)

    def _leased(self) -> set[str]:
        """Targets in hand that hold a lease in the database (not polled from memory)."""
        busy = set(self._busy) - self._local
        return busy | {k for k, how in self._unreleased.items() if not how.local}

    def stop_accepting(self) -> None:
        self._accepting = False
        self._wake.set()

    async def run(self) -> None:
        """Claim and poll until :meth:`stop_accepting`."""
        try:
            stale = await self._db(leases.expire_own, self.store, self.agent)
            if stale:
                log.warning(
                    "%d leases held by an earlier run of %s are taken back", stale, self.agent
                )
        except StoreError as exc:
            log.warning("%s", exc)
        renewed = time.monotonic()
        while self._accepting:
            next_renew = renewed + self.lease_seconds / 3  # (a reload may change the lease)
            self._wake.clear()  # set again by a finishing poll, a reload or a stop
            try:
                wait = await self._round()
                if time.monotonic() >= next_renew:
                    await self._renew()
                    renewed = time.monotonic()
                    next_renew = renewed + self.lease_seconds / 3
            except Exception:  # a bug here must not silently end collection
                log.exception("claim loop failed; trying again in %.0fs", self._max_idle)
                wait = self._max_idle
            wait = min(wait, max(0.0, next_renew - time.monotonic()))
            if wait > 0 and self._accepting:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def finish(self) -> None:
        """After shutdown: write what waits and hand back every lease still in hand."""
        if self.in_flight:  # releases still being written: let them end before the executor
            await asyncio.wait(self.in_flight, timeout=FINISH_WAIT)
        if self._flush is not None and self._pending():
            try:
                await self._flush()
            except (StoreError, SQLAlchemyError) as exc:
                log.warning("results still wait for the database: %s", exc)
        if not self._pending():
            await self._release_waiting()
        self._set_gauge()
        self._executor.shutdown(wait=False, cancel_futures=True)
        running = [asyncio.wrap_future(f) for f in self._statements if not f.done()]
        if running:  # a statement still running (a stalled database) is left to its timeout
            await asyncio.wait(running, timeout=FINISH_WAIT)

    # --- one round ---------------------------------------------------------------------------
    async def _round(self) -> float:
        """Release what waits, claim what is due; return seconds until worth looking again."""
        answered = True  # the database did (an owner polls from memory when it does not)
        if self._unreleased:
            if self._flush is not None and self._pending():
                try:
                    await self._flush()  # stops at the first write the database refuses
                except (StoreError, SQLAlchemyError) as exc:
                    log.debug("flush failed: %s", exc)
                answered = not self._pending()
            if not self._pending():
                answered = await self._release_waiting() and answered
        wait = self._max_idle
        saturated = claim_failed = False
        by_proto: dict[str, list[str]] = {}
        for key, job in self.jobs.items():
            if key not in self._busy and key not in self._unreleased:
                by_proto.setdefault(job.protocol, []).append(key)
        for proto, keys in sorted(by_proto.items()):
            free = self._free(proto)
            if free <= 0:
                continue  # a finishing poll wakes the loop
            try:
                got = await self._db(
                    leases.claim, self.store, self.agent, keys, free, self.lease_seconds
                )
            except StoreError as exc:
                if not self._db_down_logged:
                    log.warning(
                        "cannot claim targets: %s%s",
                        exc,
                        "; polling on from the schedule in memory" if self.owner else "",
                    )
                    self._db_down_logged = True
                answered, claim_failed = False, True
                break
            self._db_down_logged = False
            if self.metrics is not None and got.recovered:
                self.metrics.claims.inc(len(got.recovered))
                self.metrics.takeovers.inc(len(got.recovered))
            for c in got.claims:
                if self._accepting:
                    self._start(c)
                else:  # stopped while claiming: hand it back as still due
                    self._unreleased[c.target] = Unreleased(ok=False, advance=False)
            if got.wait_s is not None:
                wait = min(wait, got.wait_s)
            saturated = saturated or len(got.claims) + len(got.recovered) >= free
        if self.owner and not answered:
            return self._claim_from_memory()
        if claim_failed:
            return self._max_idle
        self._set_gauge()
        if saturated:
            return 0.0  # more may be due: look again at once
        # A due row another agent is claiming right now reads as due: do not spin on it.
        return max(wait, 0.05) + self._rng.random() * WAKE_JITTER

    def _free(self, proto: str) -> int:
        busy = sum(1 for k in self._busy if self._protocol(k) == proto)
        return self.capacity.get(proto, 1) - busy

    def _claim_from_memory(self) -> float:
        """Owner, database away: start the due targets of the copy of the schedule."""
        now = utcnow()
        wait = self._max_idle
        free: dict[str, int] = {}
        due = sorted(
            (slot.next_due, key)
            for key, slot in self._slots.items()
            if key in self.jobs and key not in self._busy
        )
        for when, key in due:
            if when > now:
                wait = min(wait, (when - now).total_seconds())
                break
            proto = self.jobs[key].protocol
            if proto not in free:
                free[proto] = self._free(proto)
            if free[proto] <= 0 or not self._accepting:
                continue
            free[proto] -= 1
            self._local.add(key)
            self._start(leases.Claim(key, self.jobs[key].interval))
        self._set_gauge()
        return max(wait, 0.05)

    def _protocol(self, key: str) -> str:
        job = self.jobs.get(key)
        return job.protocol if job is not None else key.partition(":")[0]

    def _start(self, claim: leases.Claim) -> None:
        job = self.jobs.get(claim.target)
        if self.metrics is not None:
            self.metrics.claims.inc()
            if claim.taken_from is not None:
                self.metrics.takeovers.inc()
        if job is None:  # removed from the configuration between listing and claiming
            self._unreleased[claim.target] = Unreleased(ok=False, advance=False)
            return
        self._claimed_at[job.key] = utcnow()
        task = asyncio.get_running_loop().create_task(self._poll_and_release(job))
        self._busy[claim.target] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _poll_and_release(self, job: PollJob) -> None:
        key = job.key
        local = key in self._local
        ok = False
        try:
            ok = await self._poll(job)
        except asyncio.CancelledError:
            # Shutting down: the poll did not finish, so the target is still due now.
            self._busy.pop(key, None)
            self._local.discard(key)
            if not local:
                self._unreleased[key] = Unreleased(ok=False, advance=False)
            raise
        except Exception:
            log.exception("poll of %s raised", key)
        if ok:
            self.known.add(key)
        how = Unreleased(
            ok=ok,
            advance=True,
            discovering=job.from_range is not None and key not in self.known,
            jitter=self._rng.random() * self.jitter,
            local=local,
            polled_at=utcnow(),
        )
        if self.owner:  # the next slot as this agent sees it, for polling on from memory
            slot = self._slots.get(key) or Slot(self._claimed_at.get(key, utcnow()))
            slot = cadence.after_poll(
                slot,
                self._claimed_at.get(key, slot.next_due),
                job.interval,
                ok=ok,
                discovering=how.discovering,
                jitter=how.jitter,
            )
            self._slots[key] = slot
            how = replace(how, slot=slot)
        self._busy.pop(key, None)
        self._local.discard(key)
        self._claimed_at.pop(key, None)
        # Polled from memory while an older result of it waited: the newer slot replaces it
        # (storing a slot also hands back a lease this agent still holds on the row).
        self._unreleased[key] = how
        if not self._pending():
            await self._release_waiting(only=key)
        self._wake.set()

    async def _release_waiting(self, only: str | None = None) -> bool:
        """Write the rows of the targets in hand that wait; False when the database did not
        answer (the rest wait for the next round)."""
        keys = [only] if only is not None else list(self._unreleased)
        for key in keys:
            how = self._unreleased.pop(key, None)  # taken out first: released exactly once
            if how is None:
                continue
            try:
                done = await self._write(key, how)
            except StoreError as exc:
                if how.slot is not None and not how.local:  # owner: store the slot instead
                    how = replace(how, local=True)
                self._unreleased.setdefault(key, how)
                log.debug("release of %s waits for the database: %s", key, exc)
                return False
            if not done and key in self.jobs:
                log.warning(
                    "%s: the lease expired while this agent held it and another agent took "
                    "the target over; this poll's result is stored, the schedule is theirs",
                    key,
                )
        self._set_gauge()
        return True

    async def _write(self, key: str, how: Unreleased) -> bool:
        """Release ``key`` (or, polled from memory, store the slot computed here)."""
        if how.local:
            if how.slot is None or not how.advance:
                return True  # nothing was leased, nothing moved
            status = "ok" if how.ok else "failed"
            return await self._db(
                leases.put,
                self.store,
                self.agent,
                key,
                how.slot,
                status=status,
                polled_at=how.polled_at or utcnow(),
            )
        slot = await self._db(
            leases.release,
            self.store,
            self.agent,
            key,
            ok=how.ok,
            advance=how.advance,
            discovering=how.discovering,
            jitter=how.jitter,
        )
        if slot is not None and self.owner and key in self._slots:
            self._slots[key] = slot
        return slot is not None

    async def _renew(self) -> None:
        keys = sorted(self._leased())
        if not keys:
            return
        try:
            kept = await self._db(leases.renew, self.store, self.agent, keys, self.lease_seconds)
        except StoreError as exc:
            log.warning("cannot renew %d leases: %s", len(keys), exc)
            return
        # Still in hand but not renewed: it expired and was taken over (this agent or the
        # database was stalled for longer than the lease). Released meanwhile: not in hand.
        for key in (set(keys) & self._leased()) - kept:
            log.warning("%s: lease lost to another agent; its poll here still completes", key)
            self._unreleased.pop(key, None)

    def _set_gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.held.set(len(self.held))
