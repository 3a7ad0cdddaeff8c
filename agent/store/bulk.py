"""Bulk writes for ``cloudward import``: many assets and dependencies per statement.

An imported asset none of whose identity keys the store holds yet (nor an earlier row of the
same import) is a new asset, whatever :func:`agent.store.identity.decide` would weigh. Such
assets are written the way :meth:`Store.save_facts` then :meth:`Store.set_planning_hints` would
write them, row for row, but a batch at a time with ``executemany`` and no ORM object per row.
Every other asset (one that an earlier import or a poll already stored, or two rows naming one
box) goes through ``save_facts`` itself, in the order of the file, so identity resolution,
history and events stay exactly as for a single save.

``tests/agent/test_import_bulk.py`` imports the same estate both ways and compares every row.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, TypeDecorator, insert, text
from sqlmodel import Session, col, delete, select

from agent.store import jsontext
from agent.store import tables as m
from agent.store.database import RESOLVE_LOCK, SOURCE_PRIORITY, Store, _clip, _field_values, guarded
from agent.store.identity import BMC, good_serial, identity_keys, serial_family, serial_key
from agent.store.inert import inert_value
from agent.store.link_kinds import MANAGES
from agent.store.placement import link_placement, short_name
from collectors.facts import Facts


@contextlib.contextmanager
def paused_collector() -> Iterator[None]:
    """Python's cyclic garbage collector held off while a one-shot command's bulk work
    builds millions of objects that form next to no cycle (an import's rows, a plan's estate
    and result: frozen dataclasses, tuples, dicts). Left on, it walks the growing heap again
    and again, a large share of an import's or a plan's time at 100,000 assets, with the same
    peak memory either way (`python -m bench import plancli` pause it on both sides, as the
    commands do). Reference counting still frees everything at once; the collector
    is turned back on afterwards (if it was on), with what the work left alive moved out of
    its sight (``gc.freeze``): the youngest generation holds every object made during the
    pause, and its first collection would walk them all (0.2 s after a plan of 100,000
    assets) for cycles that are next to none. Not for the daemon: it would pause every
    other thread's collection too."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.freeze()
            gc.enable()


_IN = 500  # keys per IN (...) look-up
_ROWS = 20_000  # dependency rows per executemany
# SQLite's page cache (KiB) while a bulk write runs, instead of its 2 MB default: the unique
# and foreign-key indexes of a million dependency rows are inserted in no particular order, and
# with the default cache nearly every insert evicts and later re-reads an index page (measured
# at 960,000 rows: 20 s with the default, 10 s with this). Set back when the write ends.
_BULK_CACHE_KIB = 256 * 1024
_NEW = "a new asset: no stored asset holds any of its identity keys"
_BULK_CHILDREN = {"software", "storage", "listening"}  # what an import's Facts may carry


@dataclass(frozen=True, slots=True)
class ImportedAsset:
    """One asset of an import, as ``save_facts(facts, site=, tags=, exposures=)`` and then
    ``set_planning_hints(hints)`` would be given it."""

    facts: Facts
    site: str | None
    tags: Sequence[str]
    exposures: Sequence[Mapping[str, str]]
    hints: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class DependencyRow:
    """One imported dependency, its ends resolved (an asset id, or None and the address)."""

    src_asset_id: int | None
    dst_asset_id: int | None
    src_ref: str
    dst_ref: str
    port: int
    service: str | None
    client_process: str | None
    count: int


def _keys(facts: Facts) -> dict[str, int]:
    best: dict[str, int] = {}
    for key, weight in identity_keys(facts):
        best[key] = max(weight, best.get(key, 0))
    return best


def _simple(facts: Facts) -> bool:
    """Only the children an import gives: anything else goes the single-save way."""
    for name in _OTHER_FIELDS:
        value = getattr(facts, name)
        if value and isinstance(value, tuple):
            return False
    return True


_OTHER_FIELDS = tuple(f.name for f in dataclasses.fields(Facts) if f.name not in _BULK_CHILDREN)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _IN):
        yield items[i : i + _IN]


def _held(s: Session, keys: Iterable[str]) -> dict[str, int]:
    """Which of ``keys`` the store holds, and for which asset."""
    wanted = sorted({k[:400] for k in keys})
    out: dict[str, int] = {}
    if s.get_bind().dialect.name == "postgresql":  # one array parameter, not one per key
        found = s.connection().execute(
            text("SELECT key, asset_id FROM cw_asset_key WHERE key = ANY(:keys)"),
            {"keys": wanted},
        )
        return {key: int(aid) for key, aid in found}
    for part in _chunks(wanted):
        out.update(
            s.exec(
                select(m.AssetKey.key, m.AssetKey.asset_id).where(col(m.AssetKey.key).in_(part))
            ).all()
        )
    return out


@guarded
def save_imported(
    store: Store, items: Sequence[ImportedAsset], now: datetime, *, inert: bool = False
) -> list[int]:
    """Store ``items`` in order; the asset id of each. One transaction per run of new assets.
    ``inert``: the caller knows the text of ``items`` holds no control character (it came from
    a file read whole that had none), so it is not made inert again."""
    if not inert:  # the facts and what the file says beside them (site, tags, exposures, hints)
        items = [inert_value(it) for it in items]
    prepared = [(it.facts, it) for it in items]
    keys = [_keys(f) for f, _ in prepared]
    ids: list[int] = []
    i = 0
    while i < len(prepared):
        with store._resolving, store.session() as s:
            if store._pg:
                s.connection().execute(
                    text("SELECT pg_advisory_xact_lock(:k)"), {"k": _resolve_lock()}
                )
            held = _held(s, (k for ks in keys[i:] for k in ks))
            claimed: set[str] = set()
            run: list[int] = []
            while i < len(prepared):
                mine = {k[:400] for k in keys[i]}
                if mine & claimed or any(k in held for k in mine) or not _simple(prepared[i][0]):
                    break
                claimed |= mine
                run.append(i)
                i += 1
            if run:
                with bulk_cache(s.connection()):
                    batch = [prepared[j] for j in run]
                    ids += _insert_new(s, batch, [keys[j] for j in run], now)
                s.commit()
        if i < len(prepared):  # a box the store may know: resolve it as a poll would be
            facts, it = prepared[i]
            asset_id = store.save_facts(
                facts, site=it.site, tags=it.tags, exposures=it.exposures, now=now
            )
            store.set_planning_hints(asset_id, it.hints)
            ids.append(asset_id)
            i += 1
    return ids


@contextlib.contextmanager
def bulk_cache(conn: Connection) -> Iterator[None]:
    """A large SQLite page cache on ``conn`` for the duration (nothing on PostgreSQL)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    (before,) = driver.execute("PRAGMA cache_size").fetchone()
    driver.execute(f"PRAGMA cache_size=-{_BULK_CACHE_KIB}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size={int(before)}")


def _resolve_lock() -> int:
    return RESOLVE_LOCK


@functools.cache
def _asset_defaults() -> dict[str, Any]:
    """Every ``cw_asset`` column but the id, at its default (mutable ones are set per row)."""
    out: dict[str, Any] = {}
    for column in m.Asset.__table__.columns:  # type: ignore[attr-defined]
        if column.name != "id":
            out[column.name] = m.Asset.model_fields[column.name].get_default(
                call_default_factory=True
            )
    return out


def asset_row(facts: Facts, it: ImportedAsset, now: datetime) -> dict[str, Any]:
    """The ``cw_asset`` row ``save_facts`` makes for a new asset from these (inert) Facts."""

    assert SOURCE_PRIORITY.get(facts.protocol) is not None
    row = dict(_asset_defaults())
    label = facts.sys_name or facts.address or facts.target
    row["name"] = label[:255]
    evidence: dict[str, str] = {"identity": _NEW}
    sources: dict[str, str] = {}
    for field, value in _field_values(facts).items():
        value = _clip(value) if field != "sys_descr" else value
        if value in (None, "", "unknown"):
            continue
        row[field] = value
        sources[field] = facts.protocol
        if field in facts.identity.evidence:
            evidence[field] = facts.identity.evidence[field]
    if facts.sys_name and row["name"] in (facts.address, facts.target, None):
        row["name"] = _clip(facts.sys_name)
    row.update(
        field_sources=sources,
        evidence=evidence,
        mgmt_address=facts.address,
        site=it.site,
        tags=sorted(set(it.tags)),
        sources=[facts.protocol],
        exposures=[{**e, "source": facts.protocol} for e in it.exposures],
        planning={**it.hints},
        first_seen=now,
        last_seen=now,
    )
    return row


def _insert_new(
    s: Session,
    batch: Sequence[tuple[Facts, ImportedAsset]],
    keys: Sequence[dict[str, int]],
    now: datetime,
) -> list[int]:

    conn = s.connection()
    rows = [asset_row(f, it, now) for f, it in batch]
    table = m.Asset.__table__  # type: ignore[attr-defined]
    if conn.dialect.name == "postgresql":  # ids drawn as single inserts would draw them
        drawn = conn.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('cw_asset', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": len(rows)},
        )
        ids = sorted(int(r[0]) for r in drawn)
        execute_many(conn, m.Asset, [{"id": i, **r} for i, r in zip(ids, rows, strict=True)])
    else:  # the first row draws its id; the transaction now holds SQLite's one write lock, so
        # the ids after it are free (the largest the table has had, plus one, and onwards)
        first = conn.execute(insert(table).returning(table.c.id), rows[:1]).scalar_one()
        ids = list(range(int(first), int(first) + len(rows)))
        execute_many(
            conn, m.Asset, [{"id": i, **r} for i, r in zip(ids[1:], rows[1:], strict=True)]
        )
    key_rows = [
        {
            "key": key[:400],
            "asset_id": aid,
            "strength": weight,
            "source": facts.protocol,
            "last_seen": now,
        }
        for (facts, _), aid, ks in zip(batch, ids, keys, strict=True)
        for key, weight in ks.items()
    ]
    manages = _manages(s, rows, ids, now)
    execute_many(conn, m.AssetKey, key_rows)
    children: dict[type[Any], list[dict[str, Any]]] = {
        m.SoftwareRow: [],
        m.StorageRow: [],
        m.ListeningRow: [],
    }
    for (facts, _), aid in zip(batch, ids, strict=True):
        src = facts.protocol
        for sw in facts.software:
            children[m.SoftwareRow].append(
                {
                    "asset_id": aid,
                    "source": src,
                    "name": _clip(sw.name, 512),
                    "version": _clip(sw.version),
                    "kind": sw.kind,
                    "install_date": sw.install_date,
                }
            )
        for st in facts.storage:
            children[m.StorageRow].append(
                {
                    "asset_id": aid,
                    "source": src,
                    "descr": _clip(st.descr, 512),
                    "kind": st.kind,
                    "size_bytes": st.size_bytes,
                    "used_bytes": st.used_bytes,
                    "mount": _clip(st.mount, 512),
                }
            )
        for li in facts.listening:
            children[m.ListeningRow].append(
                {
                    "asset_id": aid,
                    "source": src,
                    "proto": li.proto,
                    "address": li.address,
                    "port": li.port,
                    "process": _clip(li.process),
                }
            )
    for child, child_rows in children.items():
        execute_many(conn, child, child_rows)
    # links in the order one save after another makes them: its ``manages`` link, then the
    # ``hosts`` links of the hypervisors that list it
    placed = _placed(s, rows, ids)
    links: list[dict[str, Any]] = []
    for aid in ids:
        if aid in manages:
            links.append(manages[aid])
        if aid in placed:
            execute_many(conn, m.AssetLink, links)
            links.clear()
            asset = s.get(m.Asset, aid)
            assert asset is not None
            link_placement(s, asset, now)
    execute_many(conn, m.AssetLink, links)
    return ids


def execute_many(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """``INSERT`` of ``rows`` (dicts with the same keys) into ``table`` (an SQLModel class):
    executemany on SQLite, COPY on PostgreSQL."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        _sqlite_insert(conn, table.__table__, rows)
        return
    names = list(rows[0])
    columns = table.__table__.c
    # what COPY cannot take as it is, found by the columns' types (as SQLAlchemy binds them),
    # not value by value: JSON as its text. Times go as they are: every time column is
    # zone-aware (SQLModel's UTCDateTime, tests/agent/test_store_open.py), and COPY stores an
    # aware time as the instant it is, as a bound parameter would.
    as_json = [i for i, n in enumerate(names) if isinstance(columns[n].type, JSON)]
    take = _getter(names)
    dumps = jsontext.dumps

    def values(row: Mapping[str, Any]) -> Sequence[Any]:
        out = list(take(row))
        for i in as_json:
            if isinstance(out[i], dict | list):
                out[i] = dumps(out[i])
        return out

    driver = conn.connection.driver_connection
    assert driver is not None
    quote = conn.dialect.identifier_preparer.quote  # a column may be a keyword ("end")
    sql = f"COPY {table.__table__.name} ({', '.join(map(quote, names))}) FROM STDIN"
    with driver.cursor() as cur, cur.copy(sql) as copy:
        if as_json:
            for row in rows:
                copy.write_row(values(row))
        else:  # most bulk rows: numbers and text only
            for row in rows:
                copy.write_row(take(row))


def _sqlite_insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """executemany on the driver's own cursor, each value bound as SQLAlchemy binds it (its
    column type's processor for the dialect: JSON as text, times in its format), without the
    per-row work of a Core ``insert``; a table whose omitted columns have defaults that
    SQLAlchemy fills in takes the Core path."""
    names = list(rows[0])
    if any(c.name not in rows[0] and c.default is not None for c in table.columns):
        conn.execute(insert(table), rows)
        return
    dialect = conn.dialect
    plain: list[str] = []
    bound: list[tuple[str, Callable[[Any], Any]]] = []
    for name in names:
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            plain.append(name)
        elif _is_time(table.c[name].type):
            bound.append((name, _memo(process)))  # a batch shares a few times
        else:
            bound.append((name, process))
    take = _getter(plain)
    if bound:
        data = [take(row) + tuple([p(row[n]) for n, p in bound]) for row in rows]
    else:
        data = [take(row) for row in rows]
    columns = ", ".join(map(dialect.identifier_preparer.quote, plain + [n for n, _ in bound]))
    driver = conn.connection.driver_connection
    assert driver is not None
    marks = ", ".join("?" * len(names))
    driver.executemany(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", data)


def _getter(names: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A function giving these values of a row as a tuple (operator.itemgetter, always a
    tuple)."""
    if len(names) > 1:
        return operator.itemgetter(*names)
    return lambda row: tuple(row[n] for n in names)


def _is_time(kind: Any) -> bool:
    """Whether a column of this type holds times: through a type decorator (SQLModel's
    ``UTCDateTime``, whose own ``python_type`` says ``object``) to the type it stores as."""
    base = kind.impl_instance if isinstance(kind, TypeDecorator) else kind
    try:
        return base.python_type is datetime
    except NotImplementedError:
        return False


def _memo(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    done: dict[Any, Any] = {}

    def bind(value: Any) -> Any:
        if value not in done:
            done[value] = process(value)
        return done[value]

    return bind


def _manages(
    s: Session, rows: Sequence[dict[str, Any]], ids: Sequence[int], now: datetime
) -> dict[int, dict[str, Any]]:
    """``manages`` links by serial (:func:`agent.store.resolution.link_management`), by the
    new asset that makes each: it looks for the other family's key among the stored ones and
    those of the rows before it, as one save after another would."""
    wanted: list[tuple[int, str, str, bool]] = []
    for row, aid in zip(rows, ids, strict=True):
        serial = (row["serial"] or "").strip().upper()
        if good_serial(serial):
            controller = serial_family(row["device_class"]) == BMC
            wanted.append(
                (aid, serial, serial_key(serial, "server" if controller else BMC), controller)
            )
    if not wanted:
        return {}
    stored = _held(s, (w[2] for w in wanted))
    earlier: dict[str, int] = {}
    links: dict[int, dict[str, Any]] = {}
    for aid, serial, other_key, controller in wanted:
        other = earlier.get(other_key, stored.get(other_key[:400]))
        earlier[serial_key(serial, BMC if controller else "server")] = aid
        if other is None or other == aid:
            continue
        src, dst = (aid, other) if controller else (other, aid)
        links[aid] = {
            "src_asset_id": src,
            "dst_asset_id": dst,
            "kind": MANAGES,
            "evidence": f"same serial {serial}",
            "first_seen": now,
            "last_seen": now,
        }
    return links


def _placed(s: Session, rows: Sequence[dict[str, Any]], ids: Sequence[int]) -> set[int]:
    """New assets that a hypervisor's stored guest list may name (by name or system UUID):
    only those can gain a ``hosts`` link, so only those take the single-save way for it."""
    guests = s.exec(select(m.GuestRow.name)).all()
    if not guests:
        return set()
    names = {short_name(n) for n in guests} - {""}
    return {
        aid
        for row, aid in zip(rows, ids, strict=True)
        if {short_name(row["name"]), short_name(row["sys_name"])} & names or row.get("system_uuid")
    }


# --- dependencies -------------------------------------------------------------------------


_VARYING = (  # cw_dependency's columns an imported row fills from its dependency
    "src_key",
    "dst_key",
    "src_asset_id",
    "dst_asset_id",
    "src_address",
    "dst_address",
    "port",
    "service",
    "process",
    "client_process",
    "count",
)
_REINDEX_FROM = 100_000  # rows from which an import rebuilds the dependency table's indexes


def _plain_indexes(driver: Any, table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes an SQLite table has beside its primary key and
    unique constraints (those have no statement of their own); none on PostgreSQL."""
    if not hasattr(driver, "total_changes"):  # not sqlite3's connection
        return []
    found = driver.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL ORDER BY name",
        (table,),
    ).fetchall()
    return [(str(name), str(sql)) for name, sql in found]


def _same(value: Any) -> Any:
    return value


@guarded
def replace_imported_dependencies(
    store: Store,
    rows: Iterable[DependencyRow],
    now: datetime,
    progress: Callable[[int], None] | None = None,
    *,
    expected: int = 0,
) -> int:
    """Drop the dependencies an earlier import gave and write ``rows``, in one transaction
    (readers see the old set or the new one); COPY on PostgreSQL, executemany on SQLite.
    ``expected``: about how many rows come; from :data:`_REINDEX_FROM` on SQLite the table's
    plain indexes are dropped for the write and built again before it commits (building an
    index once is quicker than growing it row by row)."""
    table = m.DependencyRow.__table__  # type: ignore[attr-defined]
    written = 0
    with store.session() as s:
        s.exec(delete(m.DependencyRow).where(col(m.DependencyRow.origin) == "import"))
        conn = s.connection()
        dialect = conn.dialect
        processed = {  # as SQLAlchemy binds them (its own type for the dialect)
            name: (table.c[name].type.dialect_impl(dialect).bind_processor(dialect) or _same)(value)
            for name, value in (
                ("origin", "import"),
                ("seen_by_client", True),
                ("seen_by_server", False),
                ("first_seen", now),
                ("last_seen", now),
            )
        }
        driver = conn.connection.driver_connection
        assert driver is not None

        # the columns that differ per row, in this order, then the ones every row shares
        columns = [*_VARYING, *processed]
        assert sorted(columns) == sorted(c.name for c in table.columns if c.name != "id")
        shared = tuple(processed.values())

        def values(d: DependencyRow) -> tuple[Any, ...]:
            src, dst = d.src_asset_id, d.dst_asset_id
            return (
                f"asset:{src}" if src is not None else f"ext:{d.src_ref}",
                f"asset:{dst}" if dst is not None else f"ext:{d.dst_ref}",
                src,
                dst,
                None if src is not None else d.src_ref,
                None if dst is not None else d.dst_ref,
                d.port,
                d.service,
                None,
                d.client_process,
                d.count,
                *shared,
            )

        names = ", ".join(columns)
        reindex = _plain_indexes(driver, table.name) if expected >= _REINDEX_FROM else []
        with bulk_cache(conn):
            for name, _ in reindex:
                driver.execute(f'DROP INDEX "{name}"')
            if store._pg:
                sql = f"COPY {table.name} ({names}) FROM STDIN"
                with driver.cursor() as cur, cur.copy(sql) as copy:
                    for d in rows:
                        copy.write_row(values(d))
                        written += 1
                        if progress is not None and written % 100_000 == 0:
                            progress(written)
            else:
                sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})"
                cur = driver.cursor()
                batch: list[tuple[Any, ...]] = []
                for d in rows:
                    batch.append(values(d))
                    if len(batch) >= _ROWS:
                        cur.executemany(sql, batch)
                        written += len(batch)
                        batch.clear()
                        if progress is not None and written % 100_000 == 0:
                            progress(written)
                cur.executemany(sql, batch)
                written += len(batch)
                cur.close()
            for _, create in reindex:
                driver.execute(create)
        s.commit()
    return written
