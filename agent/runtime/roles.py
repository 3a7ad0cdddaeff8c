"""The collector and planner roles of ``cloudward run``: several agents, one PostgreSQL store.

``--role collector``: no APScheduler poll jobs; the claim loop of
:mod:`agent.runtime.lease_loop` polls the targets of ``agent.sites`` on the shared schedule
(:mod:`agent.runtime.leases`). It serves /metrics (its collector metrics and leases held)
and the API; it neither plans nor exports the estate.

``--role planner``: polls nothing; re-plans when a poll finished after the newest plan, under
an advisory lock so that one planner stores plans at a time; serves the API, pages and /metrics
(with the number of overdue targets: due for more than an interval and held by nobody).

Every agent in a role holds an advisory lock named after it for as long as it runs, so that
two live agents cannot share a name (leases are held by name). PostgreSQL advisory locks are
released with the connection that holds them, also when the process is killed.

Sample exposition (planner)::

    cloudward_poll_targets_overdue 0.0
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from agent.errors import AgentError, ConfigError, StoreError
from agent.inventory.targets import PollJob
from agent.runtime import leases
from agent.runtime.lease_loop import LeaseCollector, LeaseMetrics
from agent.store import Store
from agent.store.store import guarded

if TYPE_CHECKING:
    from agent.runtime.daemon import Daemon

log = logging.getLogger(__name__)

ROLES = ("all", "collector", "planner")


class MultiAgent:
    """What :class:`~agent.runtime.daemon.Daemon` runs instead of its APScheduler poll jobs in the
    collector and planner roles (``role all`` does not use this class)."""

    def __init__(self, daemon: Daemon, role: str) -> None:
        if role not in ("collector", "planner"):
            raise AgentError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        self.daemon = daemon
        self.role = role
        self.collector: LeaseCollector | None = None
        self._task: asyncio.Task[None] | None = None
        self._overdue: Gauge | None = None
        self._name_lock: AgentNameLock | None = None
        self._configured: list[str] = []

    @property
    def store(self) -> Store:
        assert self.daemon.store is not None
        return self.daemon.store

    def served(self, jobs: list[PollJob]) -> list[PollJob]:
        sites = self.daemon.settings.agent.sites
        return [j for j in jobs if not sites or j.site in sites]

    async def open(self) -> None:
        """Right after the store opens: PostgreSQL only, and one live agent per name."""
        if self.store.engine.dialect.name != "postgresql":
            leases.require_postgresql(self.store.url, self.role)
        name = self.daemon.agent_name
        self._name_lock = await asyncio.to_thread(hold_agent_name, self.store, name)

    async def start(self, jobs: list[PollJob]) -> None:
        d = self.daemon
        await asyncio.to_thread(leases.upsert_leases, self.store, jobs)
        self._configured = [j.key for j in jobs]
        served = self.served(jobs)
        log.info(
            "%s %s: %s; leases of %.0fs",
            self.role,
            d.agent_name,
            f"polls {len(served)} of {len(jobs)} poll jobs "
            f"(sites: {', '.join(d.settings.agent.sites) or 'all'})"
            if self.role == "collector"
            else "plans and serves; polls nothing",
            d.settings.agent.lease_seconds,
        )
        if self.role == "planner":
            self._overdue = overdue_gauge(d.registry)
            return
        assert d.poller is not None
        poller = d.poller
        defaults = d.settings.defaults
        self.collector = LeaseCollector(
            self.store,
            d._poll,
            d.agent_name,
            lease_seconds=d.settings.agent.lease_seconds,
            capacity={"snmp": defaults.snmp.concurrency, "ssh": defaults.ssh.concurrency},
            metrics=LeaseMetrics(d.registry),
            pending=lambda: len(poller.pending),
            flush=poller.flush_pending,
        )
        self.collector.set_jobs(served)
        self._task = asyncio.get_running_loop().create_task(self.collector.run())

    async def set_jobs(self, jobs: list[PollJob]) -> None:
        """SIGHUP: the new configuration's rows, and (collector) the jobs to serve."""
        try:
            await asyncio.to_thread(leases.upsert_leases, self.store, jobs)
            self._configured = [j.key for j in jobs]
        except StoreError as exc:
            log.warning("SIGHUP: the shared schedule was not updated: %s", exc)
        d = self.daemon
        if (d.settings.agent.name or d.agent_name) != d.agent_name:
            log.warning("SIGHUP: agent.name changes need a restart; still %s", d.agent_name)
        if self.collector is not None:
            served = self.served(jobs)
            self.collector.lease_seconds = d.settings.agent.lease_seconds
            self.collector.set_jobs(served)
            log.info("collector %s: polls %d of %d poll jobs", d.agent_name, len(served), len(jobs))

    def counted(self, jobs: list[PollJob]) -> list[PollJob]:
        """The jobs the per-target metrics describe: the ones this agent polls."""
        return self.served(jobs) if self.collector is not None else []

    def stop_accepting(self) -> None:
        if self.collector is not None:
            self.collector.stop_accepting()

    @property
    def in_flight(self) -> set[asyncio.Task[None]]:
        return self.collector.in_flight if self.collector is not None else set()

    async def close(self) -> None:
        """After the polls in flight finished or were cancelled: hand back every lease."""
        if self._task is not None:
            _done, running = await asyncio.wait({self._task}, timeout=10)
            for task in running:
                task.cancel()
        if self.collector is not None:
            await self.collector.finish()
        if self._name_lock is not None:
            self._name_lock.close()
            self._name_lock = None

    # --- planner role --------------------------------------------------------------------
    async def replan(self) -> None:
        """Plan when a poll finished after the newest plan, if no other planner is planning."""
        d = self.daemon
        started = time.monotonic()
        try:
            if self._overdue is not None:
                keys = self._configured or None
                self._overdue.set(await asyncio.to_thread(leases.overdue, self.store, keys))
            plan_id = await asyncio.to_thread(self._plan_if_new)
        except (StoreError, SQLAlchemyError) as exc:
            log.warning("re-plan postponed: database unavailable (%s)", str(exc)[:200])
            return
        except AgentError as exc:
            log.error("re-plan failed: %s", exc)
            return
        if plan_id is None:
            return
        d.plan_seconds = time.monotonic() - started
        log.info("plan %d computed in %.1fs", plan_id, d.plan_seconds)
        await d.refresh()

    def _plan_if_new(self) -> int | None:
        with planning_lock(self.store) as held:
            if not held:
                log.debug("another planner is planning; not planning now")
                return None
            if not has_new_data(self.store):
                return None
            return self.daemon._plan_once()


def overdue_gauge(registry: CollectorRegistry) -> Gauge:
    """The planner's view of the shared schedule: a target that stays overdue has lost its
    collector (all collectors of its site are down, or too busy)."""
    return Gauge(
        "cloudward_poll_targets_overdue",
        "Targets due for more than one interval that no collector holds.",
        registry=registry,
    )


class AgentNameLock:
    """The advisory lock that says "an agent with this name is running"; see
    :func:`hold_agent_name`."""

    def __init__(self, conn: Connection, key: int) -> None:
        self._conn: Connection | None = conn
        self._key = key

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            conn.commit()
        except SQLAlchemyError:
            conn.invalidate()  # a closed session holds no locks
        conn.close()


def hold_agent_name(store: Store, agent: str) -> AgentNameLock:
    """Take a lock named after this agent until :meth:`AgentNameLock.close` (a killed process
    loses it at once, with its connection). Leases are held by name, so a second live agent
    with the same name would take the first one's leases as its own: it is refused."""
    try:
        conn = store.engine.connect()
        key = conn.execute(
            text(
                "SELECT hashtext('cloudward-agent:' || coalesce(current_schema(), '') "
                "|| ':' || :name)"
            ),
            {"name": agent},
        ).scalar_one()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()
        conn.commit()
    except SQLAlchemyError as exc:
        raise StoreError(
            f"database {store.safe_url}: cannot register agent {agent}: {exc}", transient=True
        ) from exc
    if not got:
        conn.close()
        raise ConfigError(
            [
                f"agent.name: another agent named {agent!r} is running on this database; give "
                "each agent its own name (agent.name in its configuration; the default is the "
                "host name)"
            ]
        )
    return AgentNameLock(conn, int(key))


@guarded
def has_new_data(store: Store) -> bool:
    """A poll finished ok after the newest plan was stored (or there is data and no plan).

    Only the newest thousand poll runs are read (by primary key), so the check stays cheap on a
    long history. Finish times come from the collectors' clocks, plan times from the planner's:
    a skew between them delays a re-plan until the next poll, it does not lose one."""
    with store.engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT coalesce((SELECT max(finished_at) FROM (SELECT finished_at "
                    "FROM cw_poll_run WHERE status = 'ok' ORDER BY id DESC LIMIT 1000) AS r) "
                    "> coalesce((SELECT max(created_at) FROM cw_plan), '-infinity'), false)"
                )
            ).scalar_one()
        )


@contextmanager
def planning_lock(store: Store) -> Iterator[bool]:
    """Try to become the one planner of this schema; yields whether this process is.

    A session-level advisory lock on its own connection, unlocked on the way out; if unlocking
    fails the connection is discarded, which releases the lock too."""
    try:
        conn = store.engine.connect()
    except SQLAlchemyError as exc:
        raise StoreError(
            f"database {store.safe_url}: cannot take the planning lock: {exc}", transient=True
        ) from exc
    held = False
    key = 0
    try:
        try:
            key = conn.execute(
                text("SELECT hashtext('cloudward-planner:' || coalesce(current_schema(), ''))")
            ).scalar_one()
            held = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()
            )
            conn.commit()
        except SQLAlchemyError as exc:
            raise StoreError(
                f"database {store.safe_url}: cannot take the planning lock: {exc}",
                transient=True,
            ) from exc
        yield held
    finally:
        if held:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
            except SQLAlchemyError:
                conn.invalidate()  # a closed session holds no locks
        conn.close()
