"""``cloudward run``: the long-running daemon.

Polls each target on its schedule, re-plans after collection, serves the HTTP API, pages and
``/metrics``. SIGTERM/SIGINT: stop starting polls, let in-flight polls finish for a grace
period, cancel the rest (recorded as cancelled), stop the server, close the store.
SIGHUP: reload the configuration, validated first; a bad file keeps the old one running (with
``hangup_stops``, as ``cloudward demo`` runs it, SIGHUP stops like SIGTERM: the terminal closed).

What runs depends on the role (``all``, the default; ``collector`` and ``planner`` share one
PostgreSQL store with other agents): :data:`agent.runtime.roles.ROLES` says. Polls of every
role go through the claim loop (:mod:`agent.runtime.lease_loop`) on the schedule table;
APScheduler (:mod:`agent.runtime.scheduling`) runs only the periodic jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from prometheus_client import Gauge
from sqlalchemy.exc import SQLAlchemyError

from agent.configuration.config_file import Settings, load_settings, with_agent
from agent.errors import AgentError, ConfigError, StoreError
from agent.inventory.polling import Poller
from agent.inventory.sampling import Sampler
from agent.inventory.targets import PollJob, expand_targets
from agent.runtime import leases, roles
from agent.runtime.lease_loop import LeaseCollector, LeaseMetrics
from agent.runtime.scheduling import PeriodicJobs
from agent.store import Store
from agent.store.usage_history import latest_samples
from agent.telemetry.metrics import (
    AssetPoint,
    EstateSnapshot,
    UsagePoint,
    WavePoint,
    new_registry,
)
from collectors.snmp.identify import load_rules

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
        hangup_stops: bool = False,
    ) -> None:
        self.settings = settings
        self.hangup_stops = hangup_stops  # SIGHUP: stop (a terminal's session) or reload
        # --name/--site given at start also hold for every configuration reloaded later
        self._agent_flags = agent
        self.role = roles.role_named(role)
        self.agent_name = settings.agent.name or socket.gethostname()
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
        self.periodic: PeriodicJobs | None = None
        self.claims: LeaseCollector | None = None  # the claim loop, in polling roles
        self._claim_task: asyncio.Task[None] | None = None
        self._name_lock: roles.AgentNameLock | None = None
        self._overdue: Gauge | None = None
        self._configured: list[str] = []  # keys of the configured poll jobs
        self.state: DaemonState | None = None
        self.api_state: Any = None  # the API application's state, once it serves
        self.polls_done = 0
        self.plan_seconds: float | None = None
        self.sampler: Sampler | None = None

    # --- polling ---------------------------------------------------------------------------
    async def _poll(self, job: PollJob) -> bool:
        assert self.poller is not None
        result = await self.poller.poll(job, known=True)
        self.polls_done += 1
        return result.ok

    @property
    def spool_path(self) -> Path:
        if self.role.shared:  # agents on one host may share a state_dir
            return self.settings.state_dir / f"pending-results-{self.agent_name}.jsonl"
        return self.settings.state_dir / "pending-results.jsonl"

    def _jobs(self) -> list[PollJob]:
        return expand_targets(self.settings)

    def _served(self, jobs: list[PollJob]) -> list[PollJob]:
        return self.role.served(jobs, self.settings.agent.sites)

    async def _upsert_schedule(self, jobs: list[PollJob]) -> None:
        """Every agent keeps a row per configured job on the schedule (a planner too: it
        counts the overdue ones); the claim loop polls the role's share of them."""
        assert self.store is not None
        await asyncio.to_thread(leases.upsert_leases, self.store, jobs)
        self._configured = [j.key for j in jobs]

    def _claim_loop(self) -> LeaseCollector:
        assert self.store is not None and self.poller is not None
        poller = self.poller
        defaults = self.settings.defaults
        return LeaseCollector(
            self.store,
            self._poll,
            self.agent_name,
            lease_seconds=self.settings.agent.lease_seconds,
            capacity={"snmp": defaults.snmp.concurrency, "ssh": defaults.ssh.concurrency},
            metrics=LeaseMetrics(self.registry) if self.role.shared else None,
            pending=lambda: len(poller.pending),
            flush=poller.flush_pending,
            owner=self.role.owns_schedule,
            jitter=self.role.jitter,
        )

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
        if self.api_state is not None and self.role.plans:
            # A new plan's views are built here rather than by its first request (seconds
            # for 100,000 assets); an unchanged plan costs one small query. Roles that do not
            # plan leave it to a request: they serve the plan only on the side.
            from agent.api.routes import warm_plan_views

            with contextlib.suppress(StoreError, SQLAlchemyError):
                await asyncio.to_thread(warm_plan_views, self.api_state, self.store)

    async def prune(self) -> None:
        """Apply the retention settings (history, poll runs, events) and mark gone the
        endpoints no switch has seen for ``discovery.endpoint_max_age_days``, whichever switch
        saw them last (one no longer polled included)."""
        assert self.store is not None
        days = self.settings.discovery.endpoint_max_age_days
        try:
            removed = await asyncio.to_thread(
                self.store.prune,
                history_days=self.settings.history_retention_days,
                poll_run_days=self.settings.poll_run_retention_days,
            )
            gone = await asyncio.to_thread(self.store.age_endpoints, days)
        except StoreError as exc:
            log.warning("retention clean-up postponed: %s", exc)
            return
        if gone:
            log.info("%d endpoints not seen for %d days marked gone", len(gone), days)
        if any(removed.values()):
            log.info("retention: removed %s", ", ".join(f"{v} {k}" for k, v in removed.items()))

    async def sample(self) -> None:
        """Sample the served targets whose newest inventory succeeded (utilisation rollups)."""
        assert self.store is not None and self.poller is not None
        if self.sampler is None:
            self.sampler = Sampler(self.settings, self.store, self.poller.client)
        self.sampler.settings = self.settings
        try:
            await self.sampler.run_once(self._served(self._jobs()))
        except (StoreError, SQLAlchemyError) as exc:
            log.warning("sampling postponed: database unavailable (%s)", str(exc)[:200])

    async def replan(self) -> None:
        """Re-plan when a poll finished after the newest plan (with several agents on one
        store, only when no other planner is planning)."""
        assert self.store is not None
        started = time.monotonic()
        try:
            if self._overdue is not None:
                keys = self._configured or None
                self._overdue.set(await asyncio.to_thread(leases.overdue, self.store, keys))
            plan_id = await asyncio.to_thread(roles.plan_if_new, self.store, self.plan_once)
        except (StoreError, SQLAlchemyError) as exc:
            log.warning("re-plan postponed: database unavailable (%s)", str(exc)[:200])
            return
        except AgentError as exc:
            log.error("re-plan failed: %s", exc)
            return
        if plan_id is None:
            return
        self.plan_seconds = time.monotonic() - started
        log.info("plan %d computed in %.1fs", plan_id, self.plan_seconds)
        await self.refresh()

    def plan_once(self) -> int:
        """Compute a plan from the store now, store it and prune old ones; its id."""
        from agent.bridge.plan_runs import compute_plan, prune_plans, save_plan

        assert self.store is not None
        overrides = self.settings.planner_settings
        result = compute_plan(
            self.store,
            date.today(),
            overrides,
            usage_window_days=self.settings.sampling.daily_retention_days,
        )
        plan_id = save_plan(self.store, result)
        prune_plans(self.store, keep=self.settings.plans_kept)
        return plan_id

    # --- lifecycle -------------------------------------------------------------------------
    async def run(self) -> int:
        from agent.api import serve_api

        self.store = await asyncio.to_thread(
            functools.partial(Store.open, self.database or self.settings.database, pooled=True)
        )
        if self.role.shared:  # PostgreSQL only, one live agent per name
            if self.store.engine.dialect.name != "postgresql":
                leases.require_postgresql(self.store.url, self.role.name)
            self._name_lock = await asyncio.to_thread(
                roles.hold_agent_name, self.store, self.agent_name
            )
        if self.role.polls:  # a role that polls nothing left nothing running
            abandoned = await asyncio.to_thread(
                self.store.close_abandoned_polls,
                agent=self.agent_name,
                unlabelled=not self.role.shared,
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
        self.periodic = PeriodicJobs()
        jobs = self._jobs()
        await self._upsert_schedule(jobs)
        served = self._served(jobs)
        if self.role.polls:
            self.claims = self._claim_loop()
            await self.claims.configure(served)
        if self.role.reports_overdue:
            self._overdue = roles.overdue_gauge(self.registry)
        self._count_targets(jobs)
        agent = self.settings.agent
        log.info(
            "%s",
            self.role.describe(
                self.agent_name, len(served), len(jobs), agent.sites, agent.lease_seconds
            ),
        )
        if self.role.polls:  # sampling.interval 0: the job is not added
            self.periodic.add(self.sample, self.settings.sampling.interval, "sample")
        if self.role.plans:
            self.periodic.add(self.refresh, self.refresh_seconds, "refresh", first_delay=0.5)
            self.periodic.add(self.prune, 6 * 3600, "prune", first_delay=120)
            self.periodic.add(
                self.replan,
                self.replan_seconds,
                "replan",
                first_delay=min(30.0, self.replan_seconds),
            )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(
            signal.SIGHUP, self._hung_up if self.hangup_stops else self._reload.set
        )
        host, port = parse_listen(self.listen)
        server, server_task = await serve_api(self, host, port)
        self.periodic.start()
        if self.claims is not None:
            self._claim_task = loop.create_task(self.claims.run())
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

    def _hung_up(self) -> None:
        log.info("SIGHUP: the terminal closed; stopping")
        self._stop.set()

    def _count_targets(self, jobs: list[PollJob]) -> None:
        jobs = self._served(jobs)  # the per-target metrics describe what this agent polls
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
        if (new.agent.name or self.agent_name) != self.agent_name:
            log.warning("SIGHUP: agent.name changes need a restart; still %s", self.agent_name)
        old_sampling = self.settings.sampling.interval
        self.settings = new
        assert self.poller is not None
        self.poller.settings = new
        changed = new.sampling.interval != old_sampling
        if self.periodic is not None and self.role.polls and changed:  # 0: sampling off
            self.periodic.remove("sample")
            self.periodic.add(self.sample, new.sampling.interval, "sample")
            log.info("SIGHUP: sampling every %gs (was %gs)", new.sampling.interval, old_sampling)
        jobs = self._jobs()
        try:
            await self._upsert_schedule(jobs)
        except StoreError as exc:
            log.warning("SIGHUP: the schedule was not updated: %s", exc)
        served = self._served(jobs)
        if self.claims is not None:
            self.claims.lease_seconds = new.agent.lease_seconds
            await self.claims.configure(served)
        self._count_targets(jobs)
        if self.state is not None:
            self.state.settings = new
        log.info(
            "SIGHUP: configuration reloaded: %d poll jobs; %s",
            len(jobs),
            self.role.describe(
                self.agent_name, len(served), len(jobs), new.agent.sites, new.agent.lease_seconds
            ),
        )

    async def shutdown(self, server: Any, server_task: asyncio.Task[Any]) -> None:
        log.info("stopping: no new polls; waiting up to %.0fs for polls in flight", self.grace)
        assert self.periodic is not None
        self.periodic.stop_accepting()
        pending = self.periodic.in_flight
        if self.claims is not None:
            self.claims.stop_accepting()
            pending |= self.claims.in_flight
        if pending:
            _done, still = await asyncio.wait(pending, timeout=self.grace)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=5)
                log.warning("cancelled %d polls still running at shutdown", len(still))
        self.periodic.shutdown()
        if self._claim_task is not None:
            _done, running = await asyncio.wait({self._claim_task}, timeout=10)
            for task in running:
                task.cancel()
        if self.claims is not None:  # write what waits, hand back the leases still held
            await self.claims.finish()
        if self._name_lock is not None:
            self._name_lock.close()
            self._name_lock = None
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
    from agent.store import tables as m

    plan_points = store.plan_asset_points()
    points = []
    for a in store.list_assets(status="active"):  # a replaced box is history, not estate
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
        usage=[
            UsagePoint(u.name, u.site or "unassigned", u.cpu_pct, u.mem_pct, u.at.timestamp())
            for u in latest_samples(store)
        ],
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
