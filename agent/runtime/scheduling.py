"""The daemon's periodic work (re-plan, retention, /metrics refresh, utilisation samples): the
only module that imports APScheduler (3.x).

Polls are not scheduled here: every polling role claims them from the schedule table
(:mod:`agent.runtime.lease_loop`), with the back-off of :mod:`agent.runtime.cadence`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


class PeriodicJobs:
    """Owns the APScheduler instance that runs the periodic jobs."""

    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._accepting = True

    def start(self) -> None:
        self._scheduler.start()

    def stop_accepting(self) -> None:
        """No job starts from now on. Jobs in flight go on: the scheduler is paused, not shut
        down, because shutting APScheduler's asyncio executor down cancels running jobs."""
        self._accepting = False
        if self._scheduler.running:
            self._scheduler.pause()

    def shutdown(self) -> None:
        """Stop the scheduler (after the jobs in flight have finished or been cancelled)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    @property
    def in_flight(self) -> set[asyncio.Task[Any]]:
        """Periodic jobs (a re-plan, say) running now."""
        return set(self._in_flight)

    def add(
        self,
        fn: Callable[[], Awaitable[None]],
        seconds: float,
        name: str,
        first_delay: float | None = None,
    ) -> None:
        """Run ``fn`` every ``seconds``; an interval of 0 (a job turned off) adds nothing."""
        if seconds <= 0:
            log.info("%s is off (interval 0)", name)
            return
        start = datetime.now(UTC) + timedelta(
            seconds=first_delay if first_delay is not None else seconds
        )
        self._scheduler.add_job(
            self._run,
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

    def remove(self, name: str) -> None:
        """Stop running the job ``name`` (a run in flight finishes); nothing when not added."""
        if self._scheduler.get_job(name) is not None:
            self._scheduler.remove_job(name)

    async def _run(self, fn: Callable[[], Awaitable[None]], name: str) -> None:
        """Run one periodic job. Tracked so that a stop waits for it; cut off at the end of a
        stop, it says so instead of reporting a failure."""
        if not self._accepting:
            return
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await fn()
        except asyncio.CancelledError:
            log.warning("%s was cut off by the stop; it runs again at the next start", name)
        except Exception:
            log.exception("%s failed; it runs again at its next interval", name)
        finally:
            if task is not None:
                self._in_flight.discard(task)
