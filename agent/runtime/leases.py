"""The shared poll schedule of several agents on one PostgreSQL store (``cw_poll_lease``).

One row per poll job (``snmp://10.0.0.1:161``). Every agent upserts the rows of the jobs it is
configured with; a collector claims due rows in one statement (``FOR UPDATE SKIP LOCKED``, so
two collectors never claim the same row), polls them, and releases each with ``next_due``
moved to the first interval boundary after the claim, counted from the previous ``next_due`` so
the schedule does not drift (and a poll that ends past the next boundary does not cost the next
interval its poll: that one is due at once). A holder renews its leases while it polls; a
lease that is not renewed (its agent was killed or lost the database) expires after
``lease_seconds`` and the row is claimed by another collector. Due and lease times are
compared with the database clock (``now()``), never an agent's.

Taking over an expired lease looks at what the previous holder left in ``cw_poll_run``:

- a run it finished under that lease (it stored the result, then died before releasing): the
  poll is not repeated; the row is released as if the holder had done it;
- a run still marked running: it was cut off; it is closed as ``abandoned`` and the target is
  polled again.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url

from agent.errors import ConfigError
from agent.inventory.targets import PollJob
from agent.store import Store
from agent.store import models as m
from agent.store.store import guarded

log = logging.getLogger(__name__)

FIRST_POLL_SPREAD = 120.0  # new targets are first due within min(interval, this) seconds
MAX_BACKOFF_FACTOR = 16  # a failing target waits interval x 2^failures, at most x16 ...
MAX_BACKOFF_SECONDS = 6 * 3600.0  # ... and at most this long (unless its interval is longer)
UPSERT_CHUNK = 1000

# The first boundary after the claim (now, without one): next_due + k * step, k >= 1. ``step``
# is the interval, or the back-off interval of a failing target. Counting from the claim, not
# the release, keeps one poll per interval when a poll runs past the next boundary.
_STEP = (
    "CASE WHEN :ok THEN interval_s ELSE least(interval_s * least(power(2, failures + 1), "
    ":max_factor), greatest(interval_s, :max_backoff)) END"
)
_ADVANCE = (
    f"next_due + make_interval(secs => ({_STEP}) * greatest(1, "
    f"floor(extract(epoch FROM coalesce(leased_at, now()) - next_due) / ({_STEP})) + 1))"
)

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

# Seconds until one of ``keys`` not held by this agent can be claimed (None: no such row).
_NEXT = text(
    """
    SELECT extract(epoch FROM min(
        CASE WHEN leased_by IS NULL THEN next_due ELSE greatest(next_due, lease_expires) END
    ) - now())
    FROM cw_poll_lease
    WHERE target = ANY(:keys) AND leased_by IS DISTINCT FROM :agent
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

_RELEASE = text(
    f"""
    UPDATE cw_poll_lease
    SET next_due = CASE WHEN :advance THEN {_ADVANCE} ELSE next_due END,
        failures = CASE WHEN NOT :advance THEN failures WHEN :ok THEN 0 ELSE failures + 1 END,
        last_polled_at = CASE WHEN :advance THEN now() ELSE last_polled_at END,
        last_status = CASE WHEN :advance THEN :status ELSE last_status END,
        last_agent = CASE WHEN :advance THEN :poller ELSE last_agent END,
        leased_by = NULL, leased_at = NULL, lease_expires = NULL
    WHERE target = :target AND leased_by = :agent
    """
)

_RENEW = text(
    """
    UPDATE cw_poll_lease SET lease_expires = now() + make_interval(secs => :lease)
    WHERE leased_by = :agent AND target = ANY(:keys)
    RETURNING target
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
    """Seconds from now to a new target's first poll: spread by key so a fleet does not start
    at once, the same on every agent."""
    frac = zlib.crc32(job.key.encode()) / 2**32
    return frac * min(job.interval, FIRST_POLL_SPREAD)


@guarded
def upsert_leases(store: Store, jobs: Sequence[PollJob]) -> int:
    """Add rows for new jobs; refresh protocol, site and interval of known ones.

    The schedule of a known row is kept; only when its interval shrank is ``next_due`` brought
    forward to at most one new interval from now (it is never moved later).
    """
    done = 0
    with store.engine.begin() as conn:
        now = conn.execute(text("SELECT now()")).scalar_one()
        for start in range(0, len(jobs), UPSERT_CHUNK):
            chunk = jobs[start : start + UPSERT_CHUNK]
            stmt = pg_insert(m.PollLease).values(
                [
                    {
                        "target": j.key,
                        "protocol": j.protocol,
                        "site": j.site,
                        "interval_s": j.interval,
                        "next_due": now + timedelta(seconds=first_due_offset(j)),
                        "failures": 0,
                        "lease_mark": 0,
                        "configured_at": now,
                    }
                    for j in chunk
                ]
            )
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


def claim_in(
    conn: Connection, agent: str, keys: Sequence[str], n: int, lease_seconds: float
) -> ClaimRound:
    """Claim up to ``n`` due rows among ``keys`` on ``conn`` (the caller commits)."""
    rows = conn.execute(
        _CLAIM, {"keys": list(keys), "n": n, "agent": agent, "lease": lease_seconds}
    ).all()
    claims: list[Claim] = []
    recovered: list[str] = []
    for target, _due, interval_s, previous, mark in sorted(rows, key=lambda r: r[1]):
        if previous is None:
            claims.append(Claim(target, float(interval_s)))
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
            claims.append(Claim(target, float(interval_s), taken_from=previous))
            log.info("%s: took over from %s, whose lease expired", target, previous)
    wait = conn.execute(_NEXT, {"keys": list(keys), "agent": agent}).scalar_one()
    return ClaimRound(claims, recovered, None if wait is None else max(0.0, float(wait)))


@guarded
def claim(
    store: Store, agent: str, keys: Sequence[str], n: int, lease_seconds: float
) -> ClaimRound:
    """Claim up to ``n`` due targets among ``keys`` (the jobs this agent can poll)."""
    if not keys or n <= 0:
        return ClaimRound([], [], None)
    with store.engine.begin() as conn:
        return claim_in(conn, agent, keys, n, lease_seconds)


def _release_in(
    conn: Connection,
    agent: str,
    target: str,
    *,
    ok: bool,
    advance: bool = True,
    poller: str | None = None,
    status: str | None = None,
) -> bool:
    result = conn.execute(
        _RELEASE,
        {
            "target": target,
            "agent": agent,
            "ok": ok,
            "advance": advance,
            "status": status or ("ok" if ok else "failed"),
            "poller": poller or agent,
            "max_factor": MAX_BACKOFF_FACTOR,
            "max_backoff": MAX_BACKOFF_SECONDS,
        },
    )
    return bool(result.rowcount)


@guarded
def release(store: Store, agent: str, target: str, *, ok: bool, advance: bool = True) -> bool:
    """Give a target back. ``advance``: it was polled (its result is stored), so it is next due
    at the first interval boundary after the claim (a back-off boundary if it failed); else it
    stays due now.

    False when this agent no longer held it (its lease expired and another took it over)."""
    with store.engine.begin() as conn:
        return _release_in(conn, agent, target, ok=ok, advance=advance)


@guarded
def renew(store: Store, agent: str, keys: Sequence[str], lease_seconds: float) -> set[str]:
    """Extend this agent's leases on ``keys``; return the ones it still holds."""
    if not keys:
        return set()
    with store.engine.begin() as conn:
        rows = conn.execute(_RENEW, {"keys": list(keys), "agent": agent, "lease": lease_seconds})
        return {r[0] for r in rows}


@guarded
def expire_own(store: Store, agent: str) -> int:
    """Leases held under this agent's name by an earlier run of it (killed, so never released)
    expire now, and the claim takes them over like any other expired lease."""
    with store.engine.begin() as conn:
        result = conn.execute(
            text(
                "UPDATE cw_poll_lease SET lease_expires = now() - interval '1 second' "
                "WHERE leased_by = :agent"
            ),
            {"agent": agent},
        )
        return int(result.rowcount)


@guarded
def overdue(store: Store, keys: Sequence[str] | None = None) -> int:
    """Targets due for more than one interval that nobody holds: no collector serves them.

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
