"""Scheduling of polls and periodic work: the only module that imports APScheduler (3.x).

Each poll job runs at its interval with jitter; a failing target backs off exponentially
(interval x 2^failures, capped) and returns to its interval on the first success. Silent
addresses of a discovery range are retried on the slower discovery interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from agent.inventory.targets import PollJob

log = logging.getLogger(__name__)

MAX_BACKOFF_FACTOR = 16


@dataclass
class TargetState:
    job: PollJob
    failures: int = 0
    running: bool = False
    last_ok: datetime | None = None


PollFn = Callable[[PollJob], Awaitable[bool]]


class PollScheduler:
    """Owns the APScheduler instance and the per-target back-off state."""

    def __init__(
        self,
        poll: PollFn,
        *,
        jitter: float = 0.1,
        max_backoff: float = 6 * 3600,
        discovery_interval: float = 6 * 3600,
        seed: int | None = None,
    ) -> None:
        self._poll = poll
        self._jitter = jitter
        self._max_backoff = max_backoff
        self._discovery_interval = discovery_interval
        self._rng = random.Random(seed)
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self.targets: dict[str, TargetState] = {}
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._periodic_in_flight: set[asyncio.Task[Any]] = set()
        self._accepting = True

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._scheduler.start()

    def stop_accepting(self) -> None:
        """No new poll starts from now on. Polls in flight go on: the scheduler is paused, not
        shut down, because shutting APScheduler's asyncio executor down cancels running jobs."""
        self._accepting = False
        if self._scheduler.running:
            self._scheduler.pause()

    def shutdown(self) -> None:
        """Stop the scheduler (after the polls in flight have finished or been cancelled)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    @property
    def in_flight(self) -> set[asyncio.Task[Any]]:
        """Polls and periodic jobs (a re-plan, say) running now."""
        return set(self._in_flight) | set(self._periodic_in_flight)

    # --- jobs ------------------------------------------------------------------------------
    def interval_for(self, state: TargetState, known: bool) -> float:
        base = (
            state.job.interval
            if known or state.job.from_range is None
            else max(state.job.interval, self._discovery_interval)
        )
        if state.failures:
            factor = min(2**state.failures, MAX_BACKOFF_FACTOR)
            base = min(base * factor, max(base, self._max_backoff))
        return base

    def set_jobs(self, jobs: list[PollJob], known: set[str], *, first_delay: float = 2.0) -> None:
        """Replace the scheduled jobs (start-up and SIGHUP reload). Kept targets keep state."""
        wanted = {j.key: j for j in jobs}
        for key in list(self.targets):
            if key not in wanted:
                self.targets.pop(key)
                with contextlib.suppress(JobLookupError):
                    self._scheduler.remove_job(key)
        for n, (key, job) in enumerate(sorted(wanted.items())):
            state = self.targets.get(key)
            if state is None:
                state = self.targets[key] = TargetState(job)
                # Spread the first polls over a few seconds rather than all at once.
                delay = first_delay + (n % 200) * 0.05 + self._rng.random() * first_delay
                run_at = datetime.now(UTC) + timedelta(seconds=delay)
            else:
                state.job = job
                run_at = None
            self._schedule(state, key in known, run_at)

    def _schedule(self, state: TargetState, known: bool, run_at: datetime | None) -> None:
        interval = self.interval_for(state, known)
        if run_at is None:
            run_at = datetime.now(UTC) + timedelta(seconds=interval)
        jitter = interval * self._jitter * self._rng.random()
        self._scheduler.add_job(
            self._run,
            "date",
            run_date=run_at + timedelta(seconds=jitter),
            args=[state.job.key],
            id=state.job.key,
            replace_existing=True,
            misfire_grace_time=None,
        )

    def add_periodic(
        self,
        fn: Callable[[], Awaitable[None]],
        seconds: float,
        name: str,
        first_delay: float | None = None,
    ) -> None:
        start = datetime.now(UTC) + timedelta(
            seconds=first_delay if first_delay is not None else seconds
        )
        self._scheduler.add_job(
            self._periodic,
            "interval",
            args=[fn, name],
            seconds=seconds,
            id=name,
            name=name,
            next_run_time=start,
            max_instances=1,
            coalesce=True,
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def _periodic(self, fn: Callable[[], Awaitable[None]], name: str) -> None:
        """Run one periodic job (re-plan, retention, refresh). Tracked so that a stop waits for
        it; cut off at the end of a stop, it says so instead of reporting a failure."""
        if not self._accepting:
            return
        task = asyncio.current_task()
        if task is not None:
            self._periodic_in_flight.add(task)
        try:
            await fn()
        except asyncio.CancelledError:
            log.warning("%s was cut off by the stop; it runs again at the next start", name)
        except Exception:
            log.exception("%s failed; it runs again at its next interval", name)
        finally:
            if task is not None:
                self._periodic_in_flight.discard(task)

    async def _run(self, key: str) -> None:
        state = self.targets.get(key)
        if state is None or not self._accepting or state.running:
            return
        state.running = True
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        ok = False
        try:
            ok = await self._poll(state.job)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("poll of %s raised", key)
        finally:
            state.running = False
            if task is not None:
                self._in_flight.discard(task)
        if ok:
            state.failures = 0
            state.last_ok = datetime.now(UTC)
        else:
            state.failures += 1
        if self._accepting and key in self.targets:
            self._schedule(
                state, known=state.last_ok is not None or state.job.from_range is None, run_at=None
            )
