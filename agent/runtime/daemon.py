"""``cloudward run``: the long-running daemon.

Polls each target on its schedule, re-plans after collection, serves the HTTP API, pages and
``/metrics``. SIGTERM/SIGINT: stop starting polls, let in-flight polls finish for a grace
period, cancel the rest (recorded as cancelled), stop the server, close the store.
SIGHUP: reload the configuration, validated first; a bad file keeps the old one running.

``role``: ``all`` (the default) polls on its own APScheduler schedule and plans. ``collector``
and ``planner`` share one PostgreSQL store with other agents: see :mod:`agent.runtime.roles`; the
hooks for them below are marked "roles".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from agent.configuration.config_file import Settings, load_settings, with_agent
from agent.errors import AgentError, ConfigError, StoreError
from agent.inventory.polling import Poller
from agent.inventory.targets import PollJob, expand_targets
from agent.runtime.scheduling import PollScheduler
from agent.store import Store
from agent.telemetry.metrics import AssetPoint, EstateSnapshot, WavePoint, new_registry
from collectors.snmp.identify import load_rules

if TYPE_CHECKING:
    from agent.runtime.roles import MultiAgent

log = logging.getLogger(__name__)


@dataclass
class DaemonState:
    """What the API and pages read: the store, metrics registry and the last refresh."""

    settings: Settings
    store: Store
    started: float = field(default_factory=time.time)
    config_path: str | None = None
    agent_name: str = field(default_factory=socket.gethostname)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    extra: dict[str, Any] = field(default_factory=dict)


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError([f"listen: {listen!r} is not HOST:PORT (e.g. 127.0.0.1:8470)"])
    return host.strip("[]") or "127.0.0.1", int(port)


class Daemon:
    def __init__(
        self,
        settings: Settings,
        *,
        config_path: str | None = None,
        listen: str | None = None,
        database: str | None = None,
        grace_seconds: float = 10.0,
        replan_seconds: float | None = None,
        refresh_seconds: float = 15.0,
        on_ready: Callable[[Daemon], Awaitable[None]] | None = None,
        role: str = "all",
        agent: tuple[str | None, Sequence[str]] = (None, ()),
    ) -> None:
        self.settings = settings
        # --name/--site given at start also hold for every configuration reloaded later
        self._agent_flags = agent
        # roles: collector/planner share the work through PostgreSQL (agent.runtime.roles).
        self.role = role
        self.agent_name = settings.agent.name or socket.gethostname()
        self.multi: MultiAgent | None = None
        self.config_path = config_path
        self.listen = listen or settings.api.listen
        self.database = database
        self.grace = grace_seconds
        self.replan_seconds = replan_seconds or settings.replan_interval
        self.refresh_seconds = refresh_seconds
        self.on_ready = on_ready
        self.registry, self.live, self.estate = new_registry()
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self.store: Store | None = None
        self.poller: Poller | None = None
        self.scheduler: PollScheduler | None = None
        self.state: DaemonState | None = None
        self.api_state: Any = None  # the API application's state, once it serves
        self._dirty = False
        self.polls_done = 0
        self.plan_seconds: float | None = None

    # --- polling ---------------------------------------------------------------------------
    async def _poll(self, job: PollJob) -> bool:
        assert self.poller is not None
        result = await self.poller.poll(job, known=True)
        self.polls_done += 1
        if result.ok:
            self._dirty = True
        return result.ok

    @property
    def spool_path(self) -> Path:
        if self.role != "all":  # roles: agents on one host may share a state_dir
            return self.settings.state_dir / f"pending-results-{self.agent_name}.jsonl"
        return self.settings.state_dir / "pending-results.jsonl"

    def _jobs(self) -> list[PollJob]:
        return expand_targets(self.settings)

    async def refresh(self) -> None:
        """Write results that waited for the database, then rebuild the /metrics snapshot."""
        assert self.store is not None and self.poller is not None
        try:
            await self.poller.flush_pending()
            snap = await asyncio.to_thread(build_snapshot, self.store, self.plan_seconds)
        except (StoreError, SQLAlchemyError) as exc:
            waiting = len(self.poller.pending)
            log.warning(
                "database unavailable (%s); %d results wait to be written",
                str(exc).splitlines()[0][:200],
                waiting,
            )
            return
        self.estate.snapshot = snap
        if self.api_state is not None and self.role != "collector":
            # A new plan's views are built here rather than by its first request (seconds
            # for 100,000 assets); an unchanged plan costs one small query. Collectors leave
            # it to a request: they serve the plan only on the side.
            from agent.api.routes import warm_plan_views

            with contextlib.suppress(StoreError, SQLAlchemyError):
                await asyncio.to_thread(warm_plan_views, self.api_state, self.store)

    async def prune(self) -> None:
        """Apply the retention settings (history, poll runs, events)."""
        assert self.store is not None
        try:
            removed = await asyncio.to_thread(
                self.store.prune,
                history_days=self.settings.history_retention_days,
                poll_run_days=self.settings.poll_run_retention_days,
            )
        except StoreError as exc:
            log.warning("retention clean-up postponed: %s", exc)
            return
        if any(removed.values()):
            log.info("retention: removed %s", ", ".join(f"{v} {k}" for k, v in removed.items()))

    async def replan(self) -> None:
        """Re-plan when new collection has arrived since the last plan."""
        if not self._dirty:
            return
        self._dirty = False
        started = time.monotonic()
        try:
            plan_id = await asyncio.to_thread(self._plan_once)
        except (StoreError, SQLAlchemyError) as exc:
            self._dirty = True
            log.warning("re-plan postponed: database unavailable (%s)", str(exc)[:200])
            return
        except AgentError as exc:
            log.error("re-plan failed: %s", exc)
            return
        self.plan_seconds = time.monotonic() - started
        log.info("plan %d computed in %.1fs", plan_id, self.plan_seconds)
        await self.refresh()

    def _plan_once(self) -> int:
        from agent.plans.bridge import compute_plan, prune_plans, save_plan

        assert self.store is not None
        overrides = self.settings.planner_settings
        result = compute_plan(self.store, date.today(), overrides)
        plan_id = save_plan(self.store, result)
        prune_plans(self.store, keep=self.settings.plans_kept)
        return plan_id

    # --- lifecycle -------------------------------------------------------------------------
    async def run(self) -> int:
        from agent.api import serve_api

        self.store = await asyncio.to_thread(Store.open, self.database or self.settings.database)
        if self.role != "all":  # roles: PostgreSQL only, one live agent per name
            from agent.runtime.roles import MultiAgent

            self.multi = MultiAgent(self, self.role)
            await self.multi.open()
        if self.role != "planner":  # a planner polls nothing, so it left nothing running
            abandoned = await asyncio.to_thread(
                self.store.close_abandoned_polls,
                agent=self.agent_name,
                unlabelled=self.role == "all",
            )
            if abandoned:
                log.warning("closed %d poll runs left running by an earlier stop", abandoned)
        self.state = DaemonState(
            self.settings, self.store, config_path=self.config_path, agent_name=self.agent_name
        )
        self.poller = Poller(
            self.settings,
            self.store,
            load_rules(),
            metrics=self.live,
            agent_name=self.state.agent_name,
        )
        spooled = self.poller.pending.load(self.spool_path)
        if spooled:
            log.info("replaying %d results spooled at the last stop", spooled)
            await self.poller.flush_pending()
        self.scheduler = PollScheduler(self._poll)
        jobs = self._jobs()
        if self.role == "all":
            known = await asyncio.to_thread(self.store.known_targets)
            self.scheduler.set_jobs(jobs, known)
        else:  # roles: claim polls from the shared lease table instead of scheduling them
            assert self.multi is not None
            await self.multi.start(jobs)
        self._count_targets(jobs)
        if self.role != "collector":  # roles: collectors neither plan, prune nor export the estate
            self.scheduler.add_periodic(
                self.refresh, self.refresh_seconds, "refresh", first_delay=0.5
            )
            self.scheduler.add_periodic(self.prune, 6 * 3600, "prune", first_delay=120)
            self.scheduler.add_periodic(
                self.replan if self.multi is None else self.multi.replan,
                self.replan_seconds,
                "replan",
                first_delay=min(30.0, self.replan_seconds),
            )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload.set)
        host, port = parse_listen(self.listen)
        server, server_task = await serve_api(self, host, port)
        self.scheduler.start()
        log.info(
            "cloudward running: %d poll jobs, API on http://%s:%d/ (pid %d)",
            len(jobs),
            host,
            port,
            os.getpid(),
        )
        self.state.ready.set()
        if self.on_ready is not None:
            await self.on_ready(self)
        try:
            while not self._stop.is_set():
                waiter = asyncio.ensure_future(self._reload.wait())
                stopper = asyncio.ensure_future(self._stop.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
                if self._reload.is_set() and not self._stop.is_set():
                    self._reload.clear()
                    await self.reload()
        finally:
            await self.shutdown(server, server_task)
        return 0

    def _count_targets(self, jobs: list[PollJob]) -> None:
        if self.multi is not None:  # roles: count only what this agent polls
            jobs = self.multi.counted(jobs)
        for proto in ("snmp", "ssh"):
            self.live.targets.labels(proto).set(sum(1 for j in jobs if j.protocol == proto))
        self.live.set_targets([(j.key, j.protocol, j.interval) for j in jobs])

    async def reload(self) -> None:
        if self.config_path is None:
            log.warning("SIGHUP: no configuration file to reload")
            return
        try:
            new = await asyncio.to_thread(load_settings, self.config_path)
            new = with_agent(new, *self._agent_flags)
        except ConfigError as exc:
            log.error("SIGHUP: configuration not reloaded, the running one is kept:\n%s", exc)
            return
        if new.database != self.settings.database and self.database is None:
            log.warning(
                "SIGHUP: database changes need a restart; keeping %s",
                self.store.safe_url if self.store else "the current database",
            )
            new = new.model_copy(update={"database": self.settings.database})
        self.settings = new
        assert self.poller is not None and self.scheduler is not None and self.store is not None
        self.poller.settings = new
        jobs = self._jobs()
        if self.multi is not None:  # roles
            await self.multi.set_jobs(jobs)
        else:
            known = await asyncio.to_thread(self.store.known_targets)
            self.scheduler.set_jobs(jobs, known)
        self._count_targets(jobs)
        if self.state is not None:
            self.state.settings = new
        log.info("SIGHUP: configuration reloaded: %d poll jobs", len(jobs))

    async def shutdown(self, server: Any, server_task: asyncio.Task[Any]) -> None:
        log.info("stopping: no new polls; waiting up to %.0fs for polls in flight", self.grace)
        assert self.scheduler is not None
        self.scheduler.stop_accepting()
        pending = self.scheduler.in_flight
        if self.multi is not None:  # roles
            self.multi.stop_accepting()
            pending |= self.multi.in_flight
        if pending:
            _done, still = await asyncio.wait(pending, timeout=self.grace)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=5)
                log.warning("cancelled %d polls still running at shutdown", len(still))
        self.scheduler.shutdown()
        if self.multi is not None:  # roles: hand back the leases still held
            await self.multi.close()
        server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(server_task, timeout=5)
        if self.poller is not None:
            self.poller.close()
            if self.poller.pending:
                with contextlib.suppress(StoreError, SQLAlchemyError):
                    await self.poller.flush_pending()
                spooled = self.poller.pending.spool(self.spool_path)
                if spooled:
                    log.warning(
                        "database still unavailable: %d results spooled to %s and "
                        "written at the next start",
                        spooled,
                        self.spool_path,
                    )
        if self.store is not None:
            # Anything still marked running here was cut off: say so rather than leave it.
            with contextlib.suppress(StoreError, SQLAlchemyError):
                await asyncio.to_thread(
                    self.store.close_abandoned_polls,
                    "the agent stopped before the poll finished",
                    agent=self.agent_name,
                )
            self.store.close()
        log.info("stopped cleanly")


def build_snapshot(store: Store, plan_seconds: float | None = None) -> EstateSnapshot:
    from agent.store import models as m

    plan_points = store.plan_asset_points()
    points = []
    for a in store.list_assets():
        extra = plan_points.get(a.id or 0, {})
        days, debt = extra.get("days_to_eos"), extra.get("debt")
        points.append(
            AssetPoint(
                name=a.name,
                device_class=a.device_class or "unknown",
                site=a.site or "unassigned",
                support_status=str(extra.get("support_status", "unknown")),
                days_to_eos=days if isinstance(days, int) else None,
                debt=float(debt) if isinstance(debt, int | float) else None,
            )
        )
    latest = store.latest_plan()
    return EstateSnapshot(
        assets=points,
        waves=store_wave_points(store),
        plan_ts=latest.created_at.timestamp() if latest else None,
        plan_day_ts=_day_ts(latest.as_of) if latest else None,
        plan_seconds=plan_seconds,
        refreshed_ts=time.time(),
        history_rows=store.count(m.AssetHistory),
    )


def store_wave_points(store: Store) -> list[WavePoint]:
    points = []
    for w in store.plan_waves():
        points.append(
            WavePoint(
                wave=str(w.number),
                assets=w.assets,
                groups=w.groups,
                start_ts=_day_ts(w.start),
                end_ts=_day_ts(w.end),
                debt_retired=w.debt_retired,
            )
        )
    return points


def _day_ts(day: str | None) -> float | None:
    if not day:
        return None
    from datetime import UTC, datetime

    return datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()


def run_daemon(
    config_path: str | None,
    settings: Settings,
    listen: str | None,
    database: str | None = None,
    role: str = "all",
    agent: tuple[str | None, Sequence[str]] = (None, ()),
) -> int:
    daemon = Daemon(
        settings,
        config_path=config_path,
        listen=listen,
        database=database,
        role=role,
        agent=agent,
    )
    try:
        return asyncio.run(daemon.run())
    except AgentError as exc:
        log.error("%s", exc)
        return 2


def pid_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(os.getpid()))
