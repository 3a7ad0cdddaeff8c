"""From the store to the pure planner and back: build the Estate, load settings and lifecycle
facts, run :func:`planner.plan`, store the Plan (summary, per-asset rows, waves, full JSON)."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text as sql
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, delete, select

import planner
from agent.bridge.apart import apart

# what plan runs read of the store, re-exported (agent.bridge.estate_reader: no ORM)
from agent.bridge.estate_reader import (
    USAGE_WINDOW_DAYS,
    estate_from_store,
    load_lifecycle,
    load_planner_settings,
)
from agent.bridge.estate_reader import _day as _day
from agent.bridge.plan_views import build_views
from agent.store import Store, jsontext, utcnow
from agent.store import tables as m
from agent.store.bulk import execute_many
from agent.store.database import json_value

__all__ = [
    "USAGE_WINDOW_DAYS",
    "compute_plan",
    "estate_from_store",
    "load_lifecycle",
    "load_planner_settings",
    "plan_body",
    "plan_stamp",
    "previous_plan",
    "prune_plans",
    "save_plan",
]

log = logging.getLogger(__name__)

_PLAN_ROWS = 5_000  # a plan's per-asset rows built and written at a time


# Assets and dependencies from which planning reports its steps to a caller's ``progress``
# (as ``cloudward import`` reports from 50,000 rows): seconds each at that size.
LOUD_FROM = 50_000


def compute_plan(
    store: Store,
    today: date,
    overrides: Path | None = None,
    *,
    fresh: bool = False,
    usage_window_days: int = USAGE_WINDOW_DAYS,
    progress: Callable[[str], None] | None = None,
) -> planner.Plan:
    """Plan the stored estate as of ``today``, starting from the newest stored plan (its groups
    and waves are kept where nothing forces a change) unless ``fresh``. Right-sizing reads the
    utilisation rollups of the last ``usage_window_days`` (the daily retention). ``progress``
    is told each step of a large estate's planning (from :data:`LOUD_FROM` rows)."""
    from agent.inventory.dependencies import rebuild_dependencies

    start = time.perf_counter()
    rebuild_dependencies(store)
    estate = estate_from_store(store, today, usage_window_days)
    previous = None if fresh else previous_plan(store)
    loud = progress if len(estate.assets) + len(estate.dependencies) >= LOUD_FROM else None
    if loud is not None:
        ours = sum(1 for a in estate.assets if not a.external)
        loud(
            f"read {ours:,} assets and {len(estate.dependencies):,} dependencies in "
            f"{time.perf_counter() - start:.1f} s; planning"
        )
    start = time.perf_counter()
    result = planner.plan(
        estate, load_planner_settings(overrides), today, load_lifecycle(store), previous
    )
    if loud is not None:
        loud(
            f"planned {len(result.waves):,} waves in {time.perf_counter() - start:.1f} s; "
            "storing the plan"
        )
    return result


def previous_plan(store: Store) -> planner.PreviousPlan | None:
    """The newest stored plan as a re-plan's starting point, read from its per-asset and wave
    rows (not its JSON body: tens of MB at 100,000 assets, none of it needed here) with plain
    SQL; None when no plan is stored yet."""
    with store.reading() as read:
        found = read("SELECT id, as_of FROM cw_plan ORDER BY id DESC LIMIT 1", {})
        if not found:
            return None
        plan_id, stored_as_of = found[0]
        plan = {"plan": plan_id}
        assets = read(
            "SELECT asset_id, move_group, wave FROM cw_asset_plan WHERE plan_id = :plan", plan
        )
        waves = read('SELECT number, start, "end", detail FROM cw_wave WHERE plan_id = :plan', plan)
    as_of = _day(stored_as_of)
    if as_of is None:
        return None
    return planner.PreviousPlan(
        as_of,
        {str(a): (g, w) for a, g, w in assets},
        {
            number: (
                date.fromisoformat(start),
                date.fromisoformat(end),
                str((json_value(detail) or {}).get("kind", "")),
            )
            for number, start, end, detail in waves
            if start and end
        },
    )


def save_plan(store: Store, result: planner.Plan, body: Mapping[str, Any] | None = None) -> int:
    """Store the plan: summary, per-asset results, waves and the full JSON. Returns its id.
    ``body`` is ``result.to_dict()`` when the caller has it already."""
    created = utcnow()

    def packed_body() -> tuple[str, bytes, str]:
        return _packed_body(result.to_dict() if body is None else body, created)

    # A large plan's body (seconds of CPU: its document, text, digest, packing and views) is
    # made in a forked child while this process writes the plan's rows, where it can fork
    # (the command line; agent.bridge.apart says when); else here, before the rows.
    with apart(packed_body, when=len(result.assets) >= PACK_APART_FROM) as packing:
        later = packing.result if packing.forked else None
        plan_id = _save_rows(store, result, created, None if later else packed_body(), later)
    refresh_statistics(store)
    return plan_id


# Assets from which a plan's body is made apart from its rows (below it a fork costs more
# than it saves).
PACK_APART_FROM = 5_000


def _packed_body(doc: Mapping[str, Any], created: datetime) -> tuple[str, bytes, str]:
    """A plan's stored body from its document: the digest of its text, the text packed, and
    the API's views of it as JSON text.

    The text is made a thousand assets at a time and each piece digested and handed to a
    packing thread as it is made (zlib lets go of the interpreter, so making and packing
    overlap, and the whole text is never held: 355 MB at 100,000 assets); then the views are
    built from the document as plan_body reads it back (the plan's id is filled in when a view
    is read: plan_views.stored_view)."""
    digest = hashlib.sha256()
    packer = zlib.compressobj(1)  # jsontext.packed's level: a zlib stream it reads back
    packed: list[bytes] = []
    with ThreadPoolExecutor(1, thread_name_prefix="cloudward-plan-pack") as pool:
        waiting: list[Future[bytes]] = []
        for piece in jsontext.dump_pieces(doc, "assets", ascii_only=True):
            digest.update(piece)
            waiting.append(pool.submit(packer.compress, piece))
            if len(waiting) > 2:  # at most two pieces held beside the one being made
                packed.append(waiting.pop(0).result())
        packed.extend(w.result() for w in waiting)
    packed.append(packer.flush())
    views = build_views({**doc, "plan_id": None, "created_at": created.isoformat()})
    return digest.hexdigest(), b"".join(packed), jsontext.dumps(views)


def _save_rows(
    store: Store,
    result: planner.Plan,
    created: datetime,
    body: tuple[str, bytes, str] | None,
    later: Callable[[], tuple[str, bytes, str]] | None,
) -> int:
    """The plan's rows, and its body (digest, packed text, views): ``body`` made before (its
    document and text already let go of: hundreds of MB each at 100,000 assets), or
    ``later``'s, asked for once the rows are written."""
    digest, packed, views = body or ("", b"", "")
    summary = {**result.summary(), "warnings": list(result.warnings)}
    if result.replan is not None:
        summary["replan"] = {
            "previous": result.replan.previous.isoformat(),
            "kept_waves": list(result.replan.kept_waves),
            "groups_moved": len(result.replan.moved),
        }
    with store.session() as s:
        row = m.PlanRow(
            created_at=created,
            as_of=result.today.isoformat(),
            assets=summary["assets"],
            waves=summary["waves"],
            digest=digest,
            summary=summary,
            body="",
            body_zlib=packed,
            # with the row, not after: SQLite rewrites a whole row (its body too) on an update
            views=views,
        )
        s.add(row)
        s.flush()
        assert row.id is not None
        plan_id = row.id
        ours = [a for a in result.assets if a.asset_id.isdigit()]  # not the external peers
        detail = _detail_texts()
        conn = s.connection()
        details = _PlanDetails(conn)
        for first in range(0, len(ours), _PLAN_ROWS):  # plain INSERTs, no ORM object per row
            batch = ours[first : first + _PLAN_ROWS]
            detail_ids = details.ids([detail(a) for a in batch])
            rows = [
                {
                    "plan_id": plan_id,
                    "asset_id": int(a.asset_id),
                    "support_status": a.support.status,
                    "days_to_eos": a.support.days_remaining,
                    "debt": a.debt.score,
                    "strategy": a.strategy.strategy,
                    "wave": a.wave,
                    "move_group": a.group,
                    "detail_id": detail_id,
                }
                for a, detail_id in zip(batch, detail_ids, strict=True)
            ]
            execute_many(conn, m.AssetPlan, rows)
        groups = {g.id: g for g in result.groups.groups}
        names = {a.asset_id: a.name for a in result.assets}
        waves = []  # plain INSERTs too: thousands of waves at 100,000 assets
        for w in result.waves:
            wave = w.wave
            waves.append(
                {
                    "plan_id": plan_id,
                    "number": wave.number,
                    "name": f"Wave {wave.number} ({wave.kind})",
                    "start": wave.start.isoformat(),
                    "end": wave.end.isoformat(),
                    "assets": len(wave.assets),
                    "groups": len(wave.groups),
                    "debt_retired": w.debt_retired,
                    "detail": {
                        "kind": wave.kind,
                        "reasons": list(wave.reasons),
                        "risk": wave.risk,
                        "effort_days": wave.effort_days,
                        "cost_delta": w.cost_delta,
                        "onprem_annual": w.onprem_annual,
                        "cloud_annual": w.cloud_annual,
                        "kwh_delta": w.kwh_delta,
                        "kgco2e_delta": w.kgco2e_delta,
                        "groups": [
                            {
                                "name": gid,
                                "reason": groups[gid].reason if gid in groups else "",
                                "strategy": groups[gid].strategy if gid in groups else "",
                                "assets": [
                                    names.get(x, x)
                                    for x in (groups[gid].assets if gid in groups else ())
                                ],
                            }
                            for gid in wave.groups
                        ],
                    },
                }
            )
        execute_many(conn, m.WaveRow, waves)
        if later is not None:  # the body made meanwhile: one update of a small row
            digest, packed, views = later()
            row.digest, row.body_zlib, row.views = digest, packed, views
            s.add(row)
        s.commit()
    return plan_id


# PostgreSQL: savers and pruners of plan details take turns, for their transaction (a pruner
# could otherwise drop a detail a saver has just found and is about to name).
_DETAILS_LOCK = sql("SELECT pg_advisory_xact_lock(hashtext('cloudward-plan-details'))")


class _PlanDetails:
    """The ``cw_plan_detail`` ids of plan rows' details, on a plan's saving connection: each
    detail's JSON text is looked up by its digest and stored (packed: jsontext.pack_detail)
    only when no plan stored it before (a re-plan of an estate that changed little adds few),
    under an id given here.
    PostgreSQL savers of plans take turns (an advisory lock for the transaction), so two never
    store the same new text; on SQLite the plan's own row, written first, holds the database's
    write lock."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.known: dict[str, int] = {}  # digest -> id, of the details this plan uses
        self.postgres = conn.dialect.name == "postgresql"
        if self.postgres:
            conn.execute(_DETAILS_LOCK)
        self.next_id = 1 + (conn.execute(sql("SELECT max(id) FROM cw_plan_detail")).scalar() or 0)
        self.any_stored = self.next_id > 1  # the first plan looks nothing up
        self.at_once = _DIGESTS if self.postgres or sqlite3.sqlite_version_info >= (3, 32) else 900

    def ids(self, texts: list[bytes]) -> list[int]:
        """The detail id of each of ``texts`` (details' JSON text), in order."""
        digests = [detail_digest(t) for t in texts]
        known = self.known
        wanted = {d: t for d, t in zip(digests, texts, strict=True) if d not in known}
        if wanted and self.any_stored:
            known.update(self._stored(list(wanted)))
        new = [(d, t) for d, t in wanted.items() if d not in known]
        if new:
            ids = self._new_ids(len(new))
            pack = jsontext.pack_detail
            execute_many(
                self.conn,
                m.PlanDetail,
                [
                    {"id": i, "digest": d, "detail": "", "detail_zlib": pack(t)}
                    for i, (d, t) in zip(ids, new, strict=True)
                ],
            )
            known.update((d, i) for i, (d, _) in zip(ids, new, strict=True))
        return [known[d] for d in digests]

    def _new_ids(self, n: int) -> list[int]:
        if self.postgres:  # the column's own sequence, as an insert without an id takes it
            return list(
                self.conn.execute(
                    sql(
                        "SELECT nextval(pg_get_serial_sequence('cw_plan_detail', 'id')) "
                        "FROM generate_series(1, :n)"
                    ),
                    {"n": n},
                ).scalars()
            )
        first, self.next_id = self.next_id, self.next_id + n
        return list(range(first, first + n))

    def _stored(self, digests: list[str]) -> dict[str, int]:
        """The ids of those of ``digests`` stored already, looked up on the driver's own
        connection (PostgreSQL: one array parameter a batch; SQLite: one bound value each)."""
        driver = self.conn.connection.driver_connection
        out: dict[str, int] = {}
        for first in range(0, len(digests), self.at_once):
            chosen = digests[first : first + self.at_once]
            if self.postgres:
                query = "SELECT digest, id FROM cw_plan_detail WHERE digest = ANY(%s)"
                found = driver.execute(query, (chosen,)).fetchall()
            else:
                marks = ", ".join("?" * len(chosen))
                query = f"SELECT digest, id FROM cw_plan_detail WHERE digest IN ({marks})"
                found = driver.execute(query, chosen).fetchall()
            out.update(found)
        return out


def detail_digest(text: bytes) -> str:
    """``cw_plan_detail.digest`` of a detail's JSON text: the first 128 bits of its SHA-256, in
    hex (revision 0010's migration computes the same for the rows it moves)."""
    return hashlib.sha256(text).hexdigest()[:32]


# Digests looked up at a time: within SQLite's limit of bound values since 3.32 (999 before)
# and PostgreSQL's (65,535).
_DIGESTS = 30_000


def refresh_statistics(store: Store) -> None:
    """Tell the database's query planner about the rows a plan's views read, as after any bulk
    load.

    PostgreSQL: until the tables are analysed, the new plan's id is not in the statistics and
    PostgreSQL expects about one row for it: the API's joins of 100,000 plan rows with their
    assets then run as nested loops for tens of seconds. Autovacuum analyses late, or never
    where it is turned off. Vacuuming too marks the new rows' pages all-visible, so the asset
    list counts active assets from ``ix_asset_status`` alone (27 to 4 ms at 100,000 assets);
    it reads only pages not yet marked, and blocks no reads or writes. SQLite keeps no
    statistics unless asked; without them it pages the asset list filtered by support status
    and device class by scanning the assets (10 ms at 100,000 assets) where the statistics let
    it read the class's index (0.2 ms). Analysing the two tables takes about 40 ms there at
    100,000 assets and one plan."""
    try:
        with store.engine.connect() as conn:
            if store.engine.dialect.name == "postgresql":  # VACUUM runs outside a transaction
                auto = conn.execution_options(isolation_level="AUTOCOMMIT")
                auto.execute(sql("VACUUM (ANALYZE) cw_asset_plan, cw_asset"))
            else:
                conn.execute(sql("ANALYZE cw_asset_plan"))
                conn.execute(sql("ANALYZE cw_asset"))
                conn.commit()
    except SQLAlchemyError as exc:  # the plan is stored; only the API may be slower for a while
        log.warning("could not analyse the plan tables: %s", str(exc).splitlines()[0])


def _detail_texts() -> Callable[[planner.AssetPlan], bytes]:
    """A maker of the JSON text of an asset's plan row ``detail``: its debt factors, number of
    dependants, support components, strategy rule and reasons, hub flag and debt retired, the
    text ``jsontext.dump_bytes`` gives such a dict (so a detail stored by an earlier plan is
    found by its digest). The planner gives assets with equal facts one shared factor or
    support component object (at 100,000 assets, some 30,000 distinct factors among a
    million), so each one's text is made once, under the object's identity; every such object
    is kept while the maker lives, so no identity is reused."""
    texts: dict[int, bytes] = {}
    kept: list[object] = []
    dump = jsontext.dump_bytes

    def made(obj: Any, make: Callable[[Any], dict[str, Any]]) -> bytes:
        kept.append(obj)
        text = texts[id(obj)] = dump(make(obj))
        return text

    def detail(a: planner.AssetPlan) -> bytes:
        known = texts.get
        factors = [known(id(f)) or made(f, _factor_json) for f in a.debt.factors]
        support = [known(id(c)) or made(c, _component_json) for c in a.support.components]
        rest = {  # the keys after "support", in the detail's order
            "strategy_rule": a.strategy.rule,
            "strategy_reasons": list(a.strategy.reasons),
            "hub": a.hub,
            "debt_retired": a.debt_retired,
        }
        return b"".join(
            (
                b'{"factors":[',
                b",".join(factors),
                b'],"dependants":',
                dump(a.debt.dependants),
                b',"support":[',
                b",".join(support),
                b"],",
                dump(rest)[1:],
            )
        )

    return detail


def _factor_json(f: planner.DebtFactor) -> dict[str, Any]:
    return {
        "name": f.name,
        "weight": f.weight,
        "value": round(f.value, 3),
        "points": round(f.points, 1),
        "evidence": f.evidence,
    }


def _component_json(c: Any) -> dict[str, Any]:
    return {
        "component": c.component,
        "subject": c.subject,
        "status": c.status,
        "product": c.product,
        "cycle": c.cycle,
        "security_until": c.security_until.isoformat() if c.security_until else None,
        "extended_until": c.extended_until.isoformat() if c.extended_until else None,
        "days_remaining": c.days_remaining,
        "evidence": c.evidence,
        "verdict": c.verdict,
        "why": c.why,
        "packaged_by": c.packaged_by,
        "source": c.source,
    }


def prune_plans(store: Store, keep: int = 20) -> int:
    """Keep the newest ``keep`` plans (older per-asset rows go with them, and the details
    no kept plan uses)."""
    with store.session() as s:
        if store.engine.dialect.name == "postgresql":
            s.exec(_DETAILS_LOCK)  # type: ignore[call-overload]
        ids = list(s.exec(select(m.PlanRow.id).order_by(col(m.PlanRow.id).desc())).all())
        old = [i for i in ids[keep:] if i is not None]
        if not old:
            return 0
        s.exec(delete(m.AssetPlan).where(col(m.AssetPlan.plan_id).in_(old)))
        s.exec(delete(m.WaveRow).where(col(m.WaveRow.plan_id).in_(old)))
        s.exec(delete(m.PlanRow).where(col(m.PlanRow.id).in_(old)))
        # the details no kept plan uses (an index on detail_id answers each look-up)
        s.exec(  # type: ignore[call-overload]
            sql(
                "DELETE FROM cw_plan_detail WHERE NOT EXISTS "
                "(SELECT 1 FROM cw_asset_plan p WHERE p.detail_id = cw_plan_detail.id)"
            )
        )
        s.commit()
        return len(old)


def plan_stamp(store: Store, plan_id: int | None = None) -> tuple[int, str, str] | None:
    """(id, digest, created_at) of a stored plan (the newest when None), without its body.

    A stored plan never changes, so anything derived from its body can be kept under this."""
    return store.plan_stamp(plan_id)


def plan_body(store: Store, plan_id: int | None = None) -> Mapping[str, Any] | None:
    with store.session() as s:
        q = select(m.PlanRow)
        q = (
            q.where(m.PlanRow.id == plan_id)
            if plan_id is not None
            else q.order_by(col(m.PlanRow.id).desc())
        )
        row = s.exec(q.limit(1)).first()
        if row is None:
            return None
        body: dict[str, Any] = jsontext.loads(jsontext.plan_text(row.body, row.body_zlib))
        body["plan_id"] = row.id
        body["created_at"] = row.created_at.isoformat()
        return body
