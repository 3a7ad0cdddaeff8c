"""The collector role's claim loop: poll the targets this agent holds leases on.

A loop takes due targets of this agent's sites from the shared lease table
(:mod:`agent.runtime.leases`) while it has free polling capacity, polls each (with the daemon's
:class:`~agent.inventory.polling.Poller`), and gives it back once the result is stored, or, with the
database away, once the results that waited have been written. Leases in hand are renewed
every third of ``agent.lease_seconds``; a collector that dies stops renewing and its targets
are taken over when its leases expire. :mod:`agent.runtime.roles` wires it into the daemon.

Sample exposition::

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy.exc import SQLAlchemyError

from agent.errors import StoreError
from agent.inventory.targets import PollJob
from agent.runtime import leases
from agent.store import Store

log = logging.getLogger(__name__)

MAX_IDLE = 5.0  # look for due targets at least this often (new rows, changed schedules)
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
    ok: bool
    advance: bool


class LeaseCollector:
    """Claim, poll and release targets; see the module docstring.

    ``pending`` tells how many results wait in memory for the database and ``flush`` writes
    them: a lease whose result waits is released only after it has been written.

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
    ) -> None:
        self.store = store
        self._poll = poll
        self.agent = agent
        self.lease_seconds = lease_seconds
        self.capacity = capacity
        self.metrics = metrics
        self._pending = pending
        self._flush = flush
        self._max_idle = max_idle
        self._rng = random.Random(seed)
        self.jobs: dict[str, PollJob] = {}
        self._busy: dict[str, asyncio.Task[None]] = {}
        self._unreleased: dict[str, Unreleased] = {}
        self._accepting = True
        self._wake = asyncio.Event()
        self._db_down_logged = False
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lease")

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    # --- what the daemon calls ---------------------------------------------------------------
    def set_jobs(self, jobs: list[PollJob]) -> None:
        """The jobs this agent serves (its sites'); in-flight polls of removed ones finish."""
        self.jobs = {j.key: j for j in jobs}
        self._wake.set()

    @property
    def in_flight(self) -> set[asyncio.Task[None]]:
        return set(self._busy.values())

    @property
    def held(self) -> set[str]:
        return set(self._busy) | set(self._unreleased)

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
        if self._flush is not None and self._pending():
            try:
                await self._flush()
            except (StoreError, SQLAlchemyError) as exc:
                log.warning("results still wait for the database: %s", exc)
        if not self._pending():
            await self._release_waiting()
        self._set_gauge()
        self._executor.shutdown(wait=False)

    # --- one round ---------------------------------------------------------------------------
    async def _round(self) -> float:
        """Release what waits, claim what is due; return seconds until worth looking again."""
        if self._unreleased:
            if self._flush is not None and self._pending():
                try:
                    await self._flush()
                except (StoreError, SQLAlchemyError) as exc:
                    log.debug("flush failed: %s", exc)
            if not self._pending():
                await self._release_waiting()
        wait = self._max_idle
        saturated = False
        by_proto: dict[str, list[str]] = {}
        for key, job in self.jobs.items():
            if key not in self._busy and key not in self._unreleased:
                by_proto.setdefault(job.protocol, []).append(key)
        for proto, keys in sorted(by_proto.items()):
            busy = sum(1 for k in self._busy if self._protocol(k) == proto)
            free = self.capacity.get(proto, 1) - busy
            if free <= 0:
                continue  # a finishing poll wakes the loop
            try:
                got = await self._db(
                    leases.claim, self.store, self.agent, keys, free, self.lease_seconds
                )
            except StoreError as exc:
                if not self._db_down_logged:
                    log.warning("cannot claim targets: %s", exc)
                    self._db_down_logged = True
                return self._max_idle
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
        self._set_gauge()
        if saturated:
            return 0.0  # more may be due: look again at once
        # A due row another agent is claiming right now reads as due: do not spin on it.
        return max(wait, 0.05) + self._rng.random() * WAKE_JITTER

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
        task = asyncio.get_running_loop().create_task(self._poll_and_release(job))
        self._busy[claim.target] = task

    async def _poll_and_release(self, job: PollJob) -> None:
        ok = False
        try:
            ok = await self._poll(job)
        except asyncio.CancelledError:
            # Shutting down: the poll did not finish, so the target is still due now.
            self._busy.pop(job.key, None)
            self._unreleased[job.key] = Unreleased(ok=False, advance=False)
            raise
        except Exception:
            log.exception("poll of %s raised", job.key)
        self._busy.pop(job.key, None)
        self._unreleased[job.key] = Unreleased(ok=ok, advance=True)
        if not self._pending():
            await self._release_waiting(only=job.key)
        self._wake.set()

    async def _release_waiting(self, only: str | None = None) -> None:
        keys = [only] if only is not None else list(self._unreleased)
        for key in keys:
            how = self._unreleased.pop(key, None)  # taken out first: released exactly once
            if how is None:
                continue
            try:
                still_ours = await self._db(
                    leases.release, self.store, self.agent, key, ok=how.ok, advance=how.advance
                )
            except StoreError as exc:
                self._unreleased.setdefault(key, how)
                log.debug("release of %s waits for the database: %s", key, exc)
                return
            if not still_ours:
                log.warning(
                    "%s: the lease expired while this agent held it and another agent took "
                    "the target over; this poll's result is stored, the schedule is theirs",
                    key,
                )
        self._set_gauge()

    async def _renew(self) -> None:
        keys = sorted(self.held)
        if not keys:
            return
        try:
            kept = await self._db(leases.renew, self.store, self.agent, keys, self.lease_seconds)
        except StoreError as exc:
            log.warning("cannot renew %d leases: %s", len(keys), exc)
            return
        # Still in hand but not renewed: it expired and was taken over (this agent or the
        # database was stalled for longer than the lease). Released meanwhile: not in hand.
        for key in (set(keys) & self.held) - kept:
            log.warning("%s: lease lost to another agent; its poll here still completes", key)
            self._unreleased.pop(key, None)

    def _set_gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.held.set(len(self.held))
