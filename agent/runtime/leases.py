"""The poll schedule (``cw_poll_lease``): one row per poll job, claimed, polled and released.

Every polling agent goes through it (:mod:`agent.runtime.lease_loop`). One row per poll job
(``snmp://10.0.0.1:161``); every agent upserts the rows of the jobs it is configured with. A
poller claims due rows, polls them, and releases each with ``next_due`` moved as
:func:`agent.runtime.cadence.next_due` says (the first interval boundary after the claim,
counted from the previous ``next_due``; a back-off boundary for a failing target). SQL only
stores that result.

- PostgreSQL: several agents may share the schedule. A claim is one statement with ``FOR UPDATE
  SKIP LOCKED``, so two agents never claim the same row; times are the database clock
  (``now()``), never an agent's.
- SQLite: one process owns the file; a claim is a plain UPDATE in a write transaction (``BEGIN
  IMMEDIATE``), and times are that process's clock.

A holder renews its leases while it polls; a lease that is not renewed (its agent was killed or
lost the database) expires after ``lease_seconds`` and the row is claimed again. Taking over an
expired lease looks at what the previous holder left in ``cw_poll_run``:

- a run it finished under that lease (it stored the result, then died before releasing): the
  poll is not repeated; the row is released as if the holder had done it;
- a run still marked running: it was cut off; it is closed as ``abandoned`` and the target is
  polled again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
    String,
    Table,
    any_,
    bindparam,
    case,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import delete as sa_delete
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url
from sqlalchemy.sql.elements import ColumnElement

from agent.errors import ConfigError
from agent.inventory.targets import PollJob
from agent.runtime import cadence
from agent.runtime.cadence import FIRST_POLL_SPREAD, Slot
from agent.store import Store, utcnow
from agent.store import tables as m
from agent.store.database import guarded

__all__ = ["FIRST_POLL_SPREAD", "Claim", "ClaimRound", "Slot"]

log = logging.getLogger(__name__)

UPSERT_CHUNK = 1000
LEASE = cast(Table, m.PollLease.__table__)  # type: ignore[attr-defined]
RUN = cast(Table, m.PollRun.__table__)  # type: ignore[attr-defined]

_CLAIM = text(
    """
    WITH due AS (
        SELECT target, leased_by AS previous, lease_mark AS previous_mark
        FROM cw_poll_lease
        WHERE target = ANY(:keys)
          AND next_due <= now()
          AND (leased_by IS NULL OR lease_expires < now())
        ORDER BY next_due
        LIMIT :n
        FOR UPDATE SKIP LOCKED
    )
    UPDATE cw_poll_lease AS l
    SET leased_by = :agent,
        leased_at = now(),
        lease_expires = now() + make_interval(secs => :lease),
        lease_mark = (SELECT coalesce(max(id), 0) FROM cw_poll_run)
    FROM due
    WHERE l.target = due.target
    RETURNING l.target, l.next_due, l.interval_s, due.previous, due.previous_mark
    """
)

_LEFT_BY = text(
    """
    SELECT status FROM cw_poll_run
    WHERE target = :target AND agent = :previous AND id > :mark
    ORDER BY id DESC
    """
)

_ABANDON = text(
    """
    UPDATE cw_poll_run
    SET status = 'abandoned', error_kind = 'abandoned', error = :reason
    WHERE target = :target AND agent = :previous AND id > :mark AND status = 'running'
    """
)


@dataclass(frozen=True)
class Claim:
    """A target this agent now holds and must poll, then release."""

    target: str
    interval_s: float
    taken_from: str | None = None  # the agent whose expired lease this was


@dataclass(frozen=True)
class ClaimRound:
    claims: list[Claim]
    recovered: list[str]  # taken over, but the previous holder had finished: not polled again
    wait_s: float | None  # seconds until another of the keys can be claimed (None: none can)


def require_postgresql(url: str, role: str, source: str | None = None) -> None:
    """The collector and planner roles share work through PostgreSQL; refuse anything else
    (``source``: the configuration file the URL came from, for the message)."""
    try:
        backend = make_url(url).get_backend_name()
    except Exception:
        backend = url.partition(":")[0]
    if backend != "postgresql":
        raise ConfigError(
            [
                f"--role {role}: several agents share their work through PostgreSQL (row "
                f"leases and advisory locks), and the database is {backend or url!r}. Set "
                "database: postgresql://USER@HOST/DB in the configuration (or --database), "
                "or run a single agent with --role all (the default), which works on SQLite"
            ],
            source,
        )


def first_due_offset(job: PollJob) -> float:
    """Seconds from now to a new target's first poll (see :func:`cadence.first_due_offset`)."""
    return cadence.first_due_offset(job.key, job.interval)


# --- helpers ---------------------------------------------------------------------------------


def _postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _now(conn: Connection) -> datetime:
    """The schedule's clock: the database's on PostgreSQL (the transaction's start, as
    ``now()``), this process's on SQLite (the one process that owns the file)."""
    if _postgresql(conn):
        value: datetime = conn.execute(text("SELECT now()")).scalar_one()
        return value
    return utcnow()


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _among(conn: Connection, keys: Sequence[str]) -> ColumnElement[bool]:
    """``target`` is one of ``keys``, as one parameter however many keys there are."""
    if _postgresql(conn):
        return LEASE.c.target == any_(bindparam(None, list(keys), type_=ARRAY(String)))
    listed = func.json_each(bindparam(None, json.dumps(list(keys)))).table_valued("value")
    return LEASE.c.target.in_(select(listed.c.value))


@contextmanager
def _writing(store: Store) -> Iterator[Connection]:
    """A write transaction; on SQLite taken at once (``BEGIN IMMEDIATE``), so that what it
    reads is still true when it writes."""
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn
            conn.commit()
    else:
        with store.engine.begin() as conn:
            yield conn


# --- configuration ---------------------------------------------------------------------------


@guarded
def upsert_leases(store: Store, jobs: Sequence[PollJob]) -> int:
    """Add rows for new jobs; refresh protocol, site and interval of known ones.

    The schedule of a known row is kept; only when its interval shrank is ``next_due`` brought
    forward to at most one new interval from now (it is never moved later).
    """
    if store.engine.dialect.name != "postgresql":
        return _upsert_plain(store, jobs)
    done = 0
    with store.engine.begin() as conn:
        now = _now(conn)
        for start in range(0, len(jobs), UPSERT_CHUNK):
            chunk = jobs[start : start + UPSERT_CHUNK]
            stmt = pg_insert(m.PollLease).values([_new_row(j, now) for j in chunk])
            new = stmt.excluded
            stmt = stmt.on_conflict_do_update(
                index_elements=["target"],
                set_={
                    "protocol": new.protocol,
                    "site": new.site,
                    "interval_s": new.interval_s,
                    "configured_at": new.configured_at,
                    "next_due": text(
                        "CASE WHEN excluded.interval_s < cw_poll_lease.interval_s THEN "
                        "least(cw_poll_lease.next_due, "
                        "now() + make_interval(secs => excluded.interval_s)) "
                        "ELSE cw_poll_lease.next_due END"
                    ),
                },
            )
            conn.execute(stmt)
            done += len(chunk)
    return done


def _new_row(job: PollJob, now: datetime) -> dict[str, Any]:
    return {
        "target": job.key,
        "protocol": job.protocol,
        "site": job.site,
        "interval_s": job.interval,
        "next_due": now + timedelta(seconds=first_due_offset(job)),
        "failures": 0,
        "lease_mark": 0,
        "configured_at": now,
    }


def _upsert_plain(store: Store, jobs: Sequence[PollJob]) -> int:
    """:func:`upsert_leases` on SQLite: read the known rows, insert the new ones, update the
    others (one process owns the file, so nothing changes in between)."""
    with _writing(store) as conn:
        now = _now(conn)
        for start in range(0, len(jobs), UPSERT_CHUNK):
            chunk = jobs[start : start + UPSERT_CHUNK]
            known = {
                r.target: (r.interval_s, _aware(r.next_due))
                for r in conn.execute(
                    select(LEASE.c.target, LEASE.c.interval_s, LEASE.c.next_due).where(
                        LEASE.c.target.in_([j.key for j in chunk])
                    )
                )
            }
            fresh = [_new_row(j, now) for j in chunk if j.key not in known]
            if fresh:
                conn.execute(LEASE.insert(), fresh)
            changed = []
            for j in chunk:
                if j.key not in known:
                    continue
                interval, due = known[j.key]
                if j.interval < interval:
                    due = min(due, now + timedelta(seconds=j.interval))
                changed.append(
                    {
                        "t": j.key,
                        "protocol": j.protocol,
                        "site": j.site,
                        "interval_s": j.interval,
                        "configured_at": now,
                        "next_due": due,
                    }
                )
            if changed:
                conn.execute(
                    update(LEASE)
                    .where(LEASE.c.target == bindparam("t"))
                    .values(
                        protocol=bindparam("protocol"),
                        site=bindparam("site"),
                        interval_s=bindparam("interval_s"),
                        configured_at=bindparam("configured_at"),
                        next_due=bindparam("next_due"),
                    ),
                    changed,
                )
    return len(jobs)


@guarded
def forget(store: Store, agent: str, keys: Sequence[str]) -> int:
    """Delete the rows of targets not among ``keys`` that no other live agent holds: what an
    agent alone on its schedule does when targets leave its configuration."""
    with _writing(store) as conn:
        now = _now(conn)
        result = conn.execute(
            sa_delete(LEASE).where(
                ~_among(conn, keys),
                or_(
                    LEASE.c.leased_by.is_(None),
                    LEASE.c.leased_by == agent,
                    LEASE.c.lease_expires < now,
                ),
            )
        )
        return int(result.rowcount)


@guarded
def schedule(store: Store, keys: Sequence[str]) -> dict[str, Slot]:
    """Where each of ``keys`` stands on the schedule (rows not stored yet are left out)."""
    if not keys:
        return {}
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(LEASE.c.target, LEASE.c.next_due, LEASE.c.failures).where(_among(conn, keys))
        )
        return {r.target: Slot(_aware(r.next_due), int(r.failures)) for r in rows}


# --- claims ----------------------------------------------------------------------------------


def _claim_rows(
    conn: Connection, agent: str, keys: Sequence[str], n: int, lease_seconds: float
) -> list[tuple[str, datetime, float, str | None, int]]:
    """Lease up to ``n`` due rows; (target, next_due, interval_s, previous holder, its mark)."""
    if _postgresql(conn):
        rows = conn.execute(
            _CLAIM, {"keys": list(keys), "n": n, "agent": agent, "lease": lease_seconds}
        ).all()
        return [(r[0], r[1], float(r[2]), r[3], int(r[4] or 0)) for r in rows]
    now = _now(conn)
    free = or_(LEASE.c.leased_by.is_(None), LEASE.c.lease_expires < now)
    due = conn.execute(
        select(
            LEASE.c.target,
            LEASE.c.next_due,
            LEASE.c.interval_s,
            LEASE.c.leased_by,
            LEASE.c.lease_mark,
        )
        .where(_among(conn, keys), LEASE.c.next_due <= now, free)
        .order_by(LEASE.c.next_due)
        .limit(n)
    ).all()
    if not due:
        return []
    mark = conn.execute(select(func.coalesce(func.max(RUN.c.id), 0))).scalar_one()
    conn.execute(
        update(LEASE)
        .where(LEASE.c.target.in_([r.target for r in due]), free)
        .values(
            leased_by=agent,
            leased_at=now,
            lease_expires=now + timedelta(seconds=lease_seconds),
            lease_mark=mark,
        )
    )
    return [
        (r.target, _aware(r.next_due), float(r.interval_s), r.leased_by, int(r.lease_mark))
        for r in due
    ]


def _wait_s(conn: Connection, agent: str, keys: Sequence[str]) -> float | None:
    """Seconds until one of ``keys`` not held by this agent can be claimed (None: no such)."""
    when = case(
        (LEASE.c.leased_by.is_(None), LEASE.c.next_due),
        else_=(
            func.greatest(LEASE.c.next_due, LEASE.c.lease_expires)
            if _postgresql(conn)
            else func.max(LEASE.c.next_due, LEASE.c.lease_expires)
        ),
    )
    soonest = conn.execute(
        select(func.min(when, type_=LEASE.c.next_due.type)).where(
            _among(conn, keys), or_(LEASE.c.leased_by.is_(None), LEASE.c.leased_by != agent)
        )
    ).scalar_one()
    if soonest is None:
        return None
    return max(0.0, (_aware(soonest) - _now(conn)).total_seconds())


def claim_in(
    conn: Connection, agent: str, keys: Sequence[str], n: int, lease_seconds: float
) -> ClaimRound:
    """Claim up to ``n`` due rows among ``keys`` on ``conn`` (the caller commits)."""
    rows = _claim_rows(conn, agent, keys, n, lease_seconds)
    claims: list[Claim] = []
    recovered: list[str] = []
    for target, _due, interval_s, previous, mark in sorted(rows, key=lambda r: r[1]):
        if previous is None:
            claims.append(Claim(target, interval_s))
            continue
        left = [
            s
            for (s,) in conn.execute(
                _LEFT_BY, {"target": target, "previous": previous, "mark": mark}
            )
        ]
        conn.execute(
            _ABANDON,
            {
                "target": target,
                "previous": previous,
                "mark": mark,
                "reason": f"{target}: the lease of {previous} expired before the poll finished "
                f"(agent stopped or cut off); {agent} polls it again",
            },
        )
        finished = [s for s in left if s in ("ok", "failed")]
        if finished:
            _release_in(
                conn,
                agent,
                target,
                ok=finished[0] == "ok",
                poller=previous,
                status="recovered" if finished[0] == "ok" else "failed",
            )
            recovered.append(target)
            log.info(
                "%s: %s had polled it before its lease expired; not polled again", target, previous
            )
        else:
            claims.append(Claim(target, interval_s, taken_from=previous))
            log.info("%s: took over from %s, whose lease expired", target, previous)
    return ClaimRound(claims, recovered, _wait_s(conn, agent, keys))


@guarded
def claim(
    store: Store, agent: str, keys: Sequence[str], n: int, lease_seconds: float
) -> ClaimRound:
    """Claim up to ``n`` due targets among ``keys`` (the jobs this agent can poll)."""
    if not keys or n <= 0:
        return ClaimRound([], [], None)
    with _writing(store) as conn:
        return claim_in(conn, agent, keys, n, lease_seconds)


# --- releases --------------------------------------------------------------------------------


def _release_in(
    conn: Connection,
    agent: str,
    target: str,
    *,
    ok: bool,
    advance: bool = True,
    poller: str | None = None,
    status: str | None = None,
    discovering: bool = False,
    jitter: float = 0.0,
) -> Slot | None:
    held = LEASE.c.target == target, LEASE.c.leased_by == agent
    query = select(LEASE.c.next_due, LEASE.c.leased_at, LEASE.c.interval_s, LEASE.c.failures).where(
        *held
    )
    if _postgresql(conn):
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        return None
    now = _now(conn)
    slot = Slot(_aware(row.next_due), int(row.failures))
    values: dict[str, Any] = {"leased_by": None, "leased_at": None, "lease_expires": None}
    if advance:
        claimed = _aware(row.leased_at) if row.leased_at is not None else now
        slot = cadence.after_poll(
            slot, claimed, float(row.interval_s), ok=ok, discovering=discovering, jitter=jitter
        )
        values.update(
            next_due=slot.next_due,
            failures=slot.failures,
            last_polled_at=now,
            last_status=status or ("ok" if ok else "failed"),
            last_agent=poller or agent,
        )
    conn.execute(update(LEASE).where(*held).values(**values))
    return slot


@guarded
def release(
    store: Store,
    agent: str,
    target: str,
    *,
    ok: bool,
    advance: bool = True,
    discovering: bool = False,
    jitter: float = 0.0,
) -> Slot | None:
    """Give a target back. ``advance``: it was polled (its result is stored), so it is next due
    as :func:`cadence.next_due` says (``discovering`` and ``jitter`` go to it); else it stays
    due now. Returns where it now stands.

    None when this agent no longer held it (its lease expired and another took it over)."""
    with _writing(store) as conn:
        return _release_in(
            conn, agent, target, ok=ok, advance=advance, discovering=discovering, jitter=jitter
        )


@guarded
def put(
    store: Store, agent: str, target: str, slot: Slot, *, status: str, polled_at: datetime
) -> bool:
    """Store a slot computed by an agent alone on its schedule while the database was away
    (it polled from its copy in memory). Written unless another agent holds the row now."""
    with _writing(store) as conn:
        now = _now(conn)
        result = conn.execute(
            update(LEASE)
            .where(
                LEASE.c.target == target,
                or_(
                    LEASE.c.leased_by.is_(None),
                    LEASE.c.leased_by == agent,
                    LEASE.c.lease_expires < now,
                ),
            )
            .values(
                next_due=slot.next_due,
                failures=slot.failures,
                last_polled_at=polled_at,
                last_status=status,
                last_agent=agent,
                leased_by=None,
                leased_at=None,
                lease_expires=None,
            )
        )
        return bool(result.rowcount)


@guarded
def renew(store: Store, agent: str, keys: Sequence[str], lease_seconds: float) -> set[str]:
    """Extend this agent's leases on ``keys``; return the ones it still holds."""
    if not keys:
        return set()
    with _writing(store) as conn:
        until = _now(conn) + timedelta(seconds=lease_seconds)
        rows = conn.execute(
            update(LEASE)
            .where(LEASE.c.leased_by == agent, _among(conn, keys))
            .values(lease_expires=until)
            .returning(LEASE.c.target)
        )
        return {r[0] for r in rows}


@guarded
def expire_own(store: Store, agent: str) -> int:
    """Leases held under this agent's name by an earlier run of it (killed, so never released)
    expire now, and the claim takes them over like any other expired lease."""
    with _writing(store) as conn:
        result = conn.execute(
            update(LEASE)
            .where(LEASE.c.leased_by == agent)
            .values(lease_expires=_now(conn) - timedelta(seconds=1))
        )
        return int(result.rowcount)


@guarded
def overdue(store: Store, keys: Sequence[str] | None = None) -> int:
    """Targets due for more than one interval that nobody holds: no collector serves them
    (PostgreSQL: the planner's view of a shared schedule).

    ``keys``: count only these (the configured ones; rows of targets removed from every
    configuration stay in the table, unclaimed)."""
    where = "" if keys is None else "AND target = ANY(:keys) "
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM cw_poll_lease "
                    "WHERE next_due < now() - make_interval(secs => interval_s) "
                    "AND (leased_by IS NULL OR lease_expires < now()) " + where
                ),
                {} if keys is None else {"keys": list(keys)},
            ).scalar_one()
        )
