"""What each role of ``cloudward run`` runs, in one table (:data:`ROLES`), and what agents
sharing one PostgreSQL store need besides the schedule (name lock, planning lock).

========== ===================================== ================================ ==========
role       polls (claim loop)                    plans (re-plan, estate, retention) shared
========== ===================================== ================================ ==========
all        every target; alone on its schedule   yes                              no
collector  the targets of ``agent.sites``        no                               yes
planner    nothing                               yes, one planner at a time;      yes
                                                 exports the overdue targets
========== ===================================== ================================ ==========

Every polling role polls through the same claim loop (:mod:`agent.runtime.lease_loop`) on the
same schedule table (:mod:`agent.runtime.leases`). An agent alone on its schedule (``all``,
SQLite or PostgreSQL) adds jitter to due times, drops the rows of targets that left its
configuration, and polls on from memory while the database is away. Shared roles need
PostgreSQL; every agent in one holds an advisory lock named after it for as long as it runs, so
that two live agents cannot share a name (leases are held by name). PostgreSQL advisory locks
are released with the connection that holds them, also when the process is killed.

Sample exposition (planner)::

    cloudward_poll_targets_overdue 0.0
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import Connection, Table, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from agent.errors import AgentError, ConfigError, StoreError
from agent.inventory.targets import PollJob
from agent.store import Store
from agent.store import tables as m
from agent.store.database import guarded

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Role:
    """What an agent of this role runs."""

    name: str
    polls: bool  # claims and polls targets (the claim loop)
    plans: bool  # re-plans; exports the estate and plan, applies retention, warms plan views
    shared: bool  # one of several agents on one PostgreSQL store (see the module docstring)
    reports_overdue: bool = False  # exports cloudward_poll_targets_overdue
    jitter: float = 0.0  # largest fraction of a step added to a target's next due time

    @property
    def owns_schedule(self) -> bool:
        """Alone on its schedule: see the module docstring."""
        return self.polls and not self.shared

    def served(self, jobs: Sequence[PollJob], sites: Sequence[str]) -> list[PollJob]:
        """The jobs this role polls: none, every one, or (shared) those of ``sites``."""
        if not self.polls:
            return []
        if not self.shared or not sites:
            return list(jobs)
        return [j for j in jobs if j.site in sites]

    def describe(
        self, agent: str, served: int, jobs: int, sites: Sequence[str], lease_seconds: float
    ) -> str:
        """The line saying what this agent does (at start and after a reload)."""
        if not self.shared:
            return f"{agent}: polls its {jobs} poll jobs alone and plans"
        if not self.polls:
            return f"{self.name} {agent}: plans and serves; polls nothing"
        return (
            f"{self.name} {agent}: polls {served} of {jobs} poll jobs "
            f"(sites: {', '.join(sites) or 'all'}); leases of {lease_seconds:.0f}s"
        )


ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        Role("all", polls=True, plans=True, shared=False, jitter=0.1),
        Role("collector", polls=True, plans=False, shared=True),
        Role("planner", polls=False, plans=True, shared=True, reports_overdue=True),
    )
}


def role_named(name: str) -> Role:
    try:
        return ROLES[name]
    except KeyError:
        raise AgentError(f"unknown role {name!r}: use one of {', '.join(ROLES)}") from None


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


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


@guarded
def has_new_data(store: Store) -> bool:
    """A poll finished ok after the newest plan was stored (or there is data and no plan).

    Only the newest thousand poll runs are read (by primary key), so the check stays cheap on a
    long history. Finish times come from the pollers' clocks, plan times from the planner's:
    a skew between them delays a re-plan until the next poll, it does not lose one."""
    run = cast(Table, m.PollRun.__table__)  # type: ignore[attr-defined]
    plan = cast(Table, m.PlanRow.__table__)  # type: ignore[attr-defined]
    recent = (
        select(run.c.finished_at)
        .where(run.c.status == "ok")
        .order_by(run.c.id.desc())
        .limit(1000)
        .subquery()
    )
    with store.engine.connect() as conn:
        polled = conn.execute(select(func.max(recent.c.finished_at))).scalar_one()
        planned = conn.execute(select(func.max(plan.c.created_at))).scalar_one()
    if polled is None:
        return False
    return planned is None or _aware(polled) > _aware(planned)


@contextmanager
def planning_lock(store: Store) -> Iterator[bool]:
    """Try to become the one planner of this schema; yields whether this process is.

    PostgreSQL: a session-level advisory lock on its own connection, unlocked on the way out;
    if unlocking fails the connection is discarded, which releases the lock too. SQLite: one
    process owns the file, so it is the planner."""
    if store.engine.dialect.name != "postgresql":
        yield True
        return
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


def plan_if_new(store: Store, plan: Callable[[], int]) -> int | None:
    """Run ``plan`` (returning the stored plan's id) when a poll finished after the newest
    plan and no other planner is planning; None when it did not run."""
    with planning_lock(store) as held:
        if not held:
            log.debug("another planner is planning; not planning now")
            return None
        if not has_new_data(store):
            return None
        return plan()
