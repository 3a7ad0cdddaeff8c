"""The store: one SQLModel schema on SQLite (default, one file) or PostgreSQL (by URL).

Writes of one poll happen in one transaction: a failed or interrupted poll leaves everything
stored earlier as it was. A failed poll only adds a poll run row with the error.

Opening is cheap when there is nothing to migrate: an SQLite file whose ``alembic_version``
already holds :data:`HEAD_REVISION` is checked with ``sqlite3`` alone, and SQLAlchemy, SQLModel,
the table definitions and Alembic are imported only when something needs them (the engine is
built on first use). :meth:`Store.rows`, :meth:`Store.read_assets` and :meth:`Store.plan_body`
read with plain SQL, so a command that only prints what is stored need not build the ORM.
"""

from __future__ import annotations

import functools
import logging
import operator
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agent.errors import StoreError
from agent.store import jsontext
from collectors.facts import ASSET_FIELDS, Facts

if TYPE_CHECKING:  # imported where used: opening and plain reads need none of them
    from sqlalchemy.engine import Engine
    from sqlmodel import Session, SQLModel

    from agent.store import tables as m

log = logging.getLogger(__name__)

# Which source wins a field when two protocols disagree: a higher number overrides a lower one;
# a lower one only fills a blank. SSH reads the OS itself; SNMP reads what the agent reports.
SOURCE_PRIORITY = {"import": 0, "snmp": 1, "ssh": 2, "user": 3}

# The asset fields copied from Facts are declared once, in collectors.facts.ASSET_FIELDS.
TRACKED_FIELDS = tuple(f.name for f in ASSET_FIELDS if f.tracked)  # changes kept as history
VOLATILE_FIELDS = tuple(f.name for f in ASSET_FIELDS if not f.tracked)
_UNKNOWNS = {None, "", "unknown"}


F = TypeVar("F", bound=Callable[..., Any])


def _is_transient(exc: Exception) -> bool:
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    driver_level = _driver_error(exc) and type(exc).__name__ in (
        "OperationalError",
        "InterfaceError",
    )
    return (isinstance(exc, OperationalError | InterfaceError) or driver_level) and any(
        w in text
        for w in (
            "connection",
            "server closed",
            "terminating",
            "could not connect",
            "timeout",
            "database is locked",
            "shutting down",
            "refused",
        )
    )


def guarded(fn: F) -> F:
    """Translate database errors into StoreError, marking the ones worth retrying."""

    @functools.wraps(fn)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except StoreError:
            raise
        except OSError as exc:  # e.g. the disk holding SQLite is full or read-only
            raise StoreError(f"database {self.safe_url}: {fn.__name__} failed: {exc}") from exc
        except Exception as exc:
            from sqlalchemy.exc import SQLAlchemyError

            if not isinstance(exc, SQLAlchemyError) and not _driver_error(exc):
                raise
            raise database_error(self, f"{fn.__name__} failed", exc) from exc

    return wrapper  # type: ignore[return-value]


def _driver_error(exc: Exception) -> bool:
    """An error of the database driver itself (sqlite3, psycopg), as the bulk paths that write
    on the driver's own cursor raise them."""
    return isinstance(exc, sqlite3.Error) or type(exc).__module__.split(".")[0] == "psycopg"


def database_error(store: Store, doing: str, exc: Exception) -> StoreError:
    """A database failure as the store reports it: what failed, the driver's first line, and
    what to do about a full or read-only disk under SQLite."""
    orig = getattr(exc, "orig", None) or exc
    return StoreError(
        f"database {store.safe_url}: {doing}: "
        f"{str(orig).strip().splitlines()[0][:300]}{disk_problem(store.url)}",
        transient=_is_transient(exc),
    )


def disk_problem(url: str) -> str:
    """For an SQLite file on a full or read-only file system, say which and what to do."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
        if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
            return ""
        folder = Path(parsed.database).expanduser().parent
        st = os.statvfs(folder)
    except (OSError, ValueError, ArgumentError):
        return ""
    if st.f_flag & os.ST_RDONLY:
        return f" (the file system holding {folder} is read-only: remount it read-write)"
    if st.f_bavail * st.f_frsize < 1 << 20:
        free = st.f_bavail * st.f_frsize
        return f" (the disk holding {folder} is full, {free:,} bytes free: free some space)"
    return ""


def utcnow() -> datetime:
    return datetime.now(UTC)


# (name, the record holding it or None for Facts itself, a getter of the value from Facts):
# AssetField.read without splitting its path on every read (an import reads 40 per asset)
_READERS = tuple(
    (f.name, f.source.split(".")[0] if "." in f.source else None, operator.attrgetter(f.source))
    for f in ASSET_FIELDS
)


def _field_values(facts: Facts) -> dict[str, Any]:
    """Every :data:`ASSET_FIELDS` value of ``facts``, as ``AssetField.read`` gives it."""
    return {
        name: None if record is not None and getattr(facts, record) is None else get(facts)
        for name, record, get in _READERS
    }


def _clip(value: Any, limit: int = 255) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit]
    return value


def _sync_children(
    s: Session, table: Any, asset_id: int, source: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Make the rows of ``table`` that this asset has from ``source`` the given ``rows``
    (every column but the id, asset and source): a stored row equal to a given one in every
    column stays as it is, the others are deleted and the missing ones inserted. Re-polling a
    box that has not changed then writes none of its child rows (it wrote them all again)."""
    from collections import Counter

    from sqlalchemy import delete, insert, select

    t = table.__table__
    names = [c.name for c in t.columns if c.name not in ("id", "asset_id", "source")]
    conn = s.connection()
    stored: dict[tuple[Any, ...], list[int]] = {}
    for row in conn.execute(
        select(t.c.id, *(t.c[n] for n in names)).where(
            t.c.asset_id == asset_id, t.c.source == source
        )
    ):
        stored.setdefault(tuple(row[1:]), []).append(int(row[0]))
    wanted = Counter(tuple(r[n] for n in names) for r in rows)
    surplus: list[int] = []
    for key, ids in stored.items():
        kept = min(len(ids), wanted[key])
        wanted[key] -= kept
        surplus += ids[kept:]
    missing = []
    for r in rows:
        key = tuple(r[n] for n in names)
        if wanted[key] > 0:
            wanted[key] -= 1
            missing.append({**r, "asset_id": asset_id, "source": source})
    for first in range(0, len(surplus), 500):
        conn.execute(delete(t).where(t.c.id.in_(surplus[first : first + 500])))
    if missing:
        conn.execute(insert(t), missing)


class Store:
    """Open with :meth:`open`; every method opens and closes its own session.

    The SQLAlchemy engine is built on first use of :attr:`engine` (at once when :meth:`open`
    had to create or migrate the schema)."""

    def __init__(
        self,
        engine: Engine | None,
        url: str,
        *,
        sqlite_file: Path | None = None,
        engine_kw: Mapping[str, Any] | None = None,
    ) -> None:
        self._engine = engine
        self._engine_kw = dict(engine_kw or {})
        self._engine_lock = threading.Lock()
        self._sqlite_file = sqlite_file  # set when plain reads may use sqlite3 itself
        self.url = url
        # Identity resolution reads, then writes: two saves of one box at the same time (SNMP
        # and SSH, or two of its addresses) must not both create it. One lock per process, and
        # on PostgreSQL a transaction-scoped advisory lock shared by every agent.
        self._resolving = threading.Lock()
        self._pg = engine is not None and engine.dialect.name == "postgresql"

    @classmethod
    def open(
        cls, url: str, *, create: bool = True, pooled: bool = False, **engine_kw: Any
    ) -> Store:
        """The store at ``url``; with ``create``, its schema created or migrated to the head
        revision first. An existing SQLite file already at the head revision (the usual case)
        is opened without SQLAlchemy or Alembic: nothing is imported until something is read
        or written through the engine, and plain reads open a connection of their own, as a
        one-shot command wants. ``pooled``: a long-running process (the daemon and its API)
        reads through the engine's pool from the start (a new SQLite connection per request
        costs more than serving a kept view)."""
        path = _sqlite_file(url)
        if (
            path is not None
            and path.is_file()
            and (not create or _sqlite_revisions(path) == [HEAD_REVISION])
        ):
            opened = cls(None, url, sqlite_file=path, engine_kw=engine_kw)
            if pooled:
                opened.engine  # noqa: B018 - built now: plain reads go through its pool
            return opened
        store = cls(_new_engine(url, engine_kw), url, sqlite_file=path)
        if create:
            store.create_schema()
        return store

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    self._engine = _new_engine(self.url, self._engine_kw)
        return self._engine

    def create_schema(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` with the Alembic migrations that ship in the package.

        A database created before migrations existed (tables but no version) is stamped at the
        first revision and upgraded from there. A database newer than this cloudward is refused.
        """
        from alembic import command
        from alembic.config import Config
        from alembic.script import ScriptDirectory
        from sqlalchemy import inspect as sa_inspect
        from sqlalchemy import text
        from sqlalchemy.exc import OperationalError

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        script = ScriptDirectory.from_config(cfg)
        try:
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # Several agents may start at once on one schema: migrate one at a time.
                    conn.execute(
                        text(
                            "SELECT pg_advisory_xact_lock(hashtext('cloudward-migrate:' "
                            "|| coalesce(current_schema(), '')))"
                        )
                    )
                cfg.attributes["connection"] = conn
                current = _current_revision(conn)
                if current is not None and not _known_revision(script, current):
                    raise StoreError(
                        f"the database {self.safe_url} holds schema {current}, which this "
                        "cloudward does not know (it is newer): upgrade cloudward first"
                    )
                if current is None and sa_inspect(conn).has_table("cw_asset"):
                    command.stamp(cfg, FIRST_REVISION)
                command.upgrade(cfg, revision)
                now = _current_revision(conn)
                if now != current:
                    log.info(
                        "database schema %s: %s",
                        "created" if current is None else f"upgraded from {current}",
                        now,
                    )
        except OperationalError as exc:
            raise StoreError(
                f"cannot open the database {self.safe_url}: {exc.orig}{disk_problem(self.url)}"
            ) from None

    def schema_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return _current_revision(conn)

    @property
    def safe_url(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def in_forked_child(self) -> None:
        """Call first in a process forked from the one that opened this store: the engine's
        pool is replaced by an empty one, leaving the connections it shares with the parent
        alone (closing or using them would break the parent's), so reads here open their
        own (SQLAlchemy's advice for a pool crossing a fork)."""
        if self._engine is not None:
            self._engine.dispose(close=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        from sqlmodel import Session

        with Session(self.engine, expire_on_commit=False) as s:
            yield s

    # --- plain reads ---------------------------------------------------------------------
    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of one read-only SQL statement (``:name`` parameters), as tuples.

        On an SQLite file whose engine is not built yet this goes through ``sqlite3`` itself,
        without importing SQLAlchemy; otherwise through the engine. Values come as the driver
        gives them (on SQLite, JSON and times as text): :meth:`read_assets` decodes them."""
        with self.reading() as read:
            return read(sql, params or {})

    @contextmanager
    def reading(self) -> Iterator[Callable[[str, Mapping[str, Any]], list[tuple[Any, ...]]]]:
        """A reader of several read-only statements on one connection, as :meth:`rows` reads
        one: ``read(sql, params)`` gives the rows as tuples, values as the driver gives them
        (decode them with :func:`json_value` and :func:`utc`)."""
        if self._engine is None and self._sqlite_file is not None:
            try:
                plain = sqlite3.connect(self._sqlite_file, timeout=30)
            except sqlite3.Error as exc:
                raise StoreError(
                    f"database {self.safe_url}: cannot read: {exc}{disk_problem(self.url)}"
                ) from None

            def read_plain(sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
                try:
                    return plain.execute(sql, dict(params)).fetchall()
                except sqlite3.Error as exc:
                    raise StoreError(
                        f"database {self.safe_url}: cannot read: {exc}{disk_problem(self.url)}"
                    ) from None

            try:
                yield read_plain
            finally:
                plain.close()
            return
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.engine.connect() as conn:

                def read(sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
                    try:
                        return [tuple(r) for r in conn.execute(text(sql), dict(params))]
                    except SQLAlchemyError as exc:
                        raise database_error(self, "cannot read", exc) from exc

                yield read
        except SQLAlchemyError as exc:
            raise database_error(self, "cannot read", exc) from exc

    @contextmanager
    def driver(self) -> Iterator[tuple[str, Any]]:
        """The dialect's name (``sqlite`` or ``postgresql``) and a DB-API connection of the
        store's own driver, for reads of many rows with no per-row work beyond the driver's.
        On an SQLite file whose engine is not built yet, an ``sqlite3`` connection of its own
        (SQLAlchemy is not imported); otherwise a connection of the engine's pool. Values come
        as the driver gives them (decode them with :func:`json_value` and :func:`utc`). A caller
        that writes commits on the connection itself; nothing else is committed. A failed
        statement is a :class:`StoreError` naming the database."""
        try:
            if self._engine is None and self._sqlite_file is not None:
                plain = sqlite3.connect(self._sqlite_file, timeout=30)
                try:
                    yield "sqlite", plain
                finally:
                    plain.close()
                return
            with self.engine.connect() as conn:
                dialect = conn.dialect.name
                if dialect not in ("sqlite", "postgresql"):
                    raise StoreError(
                        f"database {self.safe_url}: {dialect} is not supported; use "
                        "sqlite:///path/to/file.db or postgresql://user@host/db"
                    )
                yield dialect, conn.connection.driver_connection
        except StoreError:
            raise
        except Exception as exc:
            if not _driver_error(exc) and "sqlalchemy" not in type(exc).__module__:
                raise
            raise database_error(self, "cannot read or write", exc) from exc

    def read_assets(self, fields: Sequence[str], status: str | None = None) -> list[dict[str, Any]]:
        """These columns of every stored asset, or of those with this ``status``, by id, as
        the ORM would give them: JSON columns decoded, times as aware UTC datetimes."""
        bad = [f for f in fields if not _COLUMN.fullmatch(f)]
        if bad:
            raise ValueError(f"not asset columns: {bad}")
        sql = f"SELECT {', '.join(fields)} FROM cw_asset"  # the names are checked above
        if status is not None:
            sql += " WHERE status = :status"
        out = []
        params = {"status": status} if status is not None else None
        for row in self.rows(sql + " ORDER BY id", params):
            item = dict(zip(fields, row, strict=True))
            for f in fields:
                if f in ASSET_JSON_COLUMNS:
                    item[f] = json_value(item[f])
                elif f in ASSET_TIME_COLUMNS:
                    item[f] = utc(item[f])
            out.append(item)
        return out

    def plan_body(self, plan_id: int | None = None) -> dict[str, Any] | None:
        """A stored plan's JSON body (the newest when ``plan_id`` is None) with its
        ``plan_id`` and ``created_at``: agent.bridge.plan_runs.plan_body read with plain SQL,
        for a command that only prints a stored plan and need not build the ORM."""
        sql = "SELECT id, body, body_zlib, created_at FROM cw_plan"
        if plan_id is None:
            found = self.rows(sql + " ORDER BY id DESC LIMIT 1")
        else:
            found = self.rows(sql + " WHERE id = :id", {"id": plan_id})
        if not found:
            return None
        pid, body, packed, created = found[0]
        doc: dict[str, Any] = jsontext.loads(jsontext.plan_text(body, packed))
        doc["plan_id"] = pid
        when = utc(created)
        doc["created_at"] = when.isoformat() if when is not None else None
        return doc

    def plan_stamp(self, plan_id: int | None = None) -> tuple[int, str, str] | None:
        """(id, digest, created_at) of a stored plan (the newest when None), without its body,
        with plain SQL: the API asks it on every request for a view of a plan."""
        sql = "SELECT id, digest, created_at FROM cw_plan"
        if plan_id is None:
            found = self.rows(sql + " ORDER BY id DESC LIMIT 1")
        else:
            found = self.rows(sql + " WHERE id = :id", {"id": plan_id})
        if not found or found[0][0] is None:
            return None
        pid, digest, created = found[0]
        when = utc(created)
        return int(pid), str(digest), when.isoformat() if when is not None else ""

    # --- poll runs ---------------------------------------------------------------------
    @guarded
    def start_poll(
        self,
        target: str,
        protocol: str,
        *,
        site: str | None = None,
        agent: str | None = None,
        started_at: datetime | None = None,
    ) -> int:
        from agent.store import tables as m

        run = m.PollRun(
            target=target,
            protocol=protocol,
            site=site,
            agent=agent,
            started_at=started_at or utcnow(),
            status="running",
        )
        with self.session() as s:
            s.add(run)
            s.commit()
            assert run.id is not None
            return run.id

    @guarded
    def fail_poll(
        self, run_id: int, *, kind: str, error: str, values_read: int = 0, status: str = "failed"
    ) -> None:
        from agent.store import tables as m

        with self.session() as s:
            run = s.get(m.PollRun, run_id)
            if run is None:
                return
            run.finished_at = utcnow()
            run.duration_s = (run.finished_at - run.started_at).total_seconds()
            run.status = status
            run.error_kind = kind
            run.error = error[:4000]
            run.values_read = values_read
            s.add(run)
            s.commit()

    @guarded
    def add_event(
        self, kind: str, target: str | None, message: str, asset_id: int | None = None
    ) -> None:
        from agent.store import tables as m

        with self.session() as s:
            s.add(
                m.Event(
                    at=utcnow(), kind=kind, target=target, asset_id=asset_id, message=message[:4000]
                )
            )
            s.commit()

    @guarded
    def set_planning_hints(self, asset_id: int, hints: Mapping[str, object]) -> None:
        from agent.store import tables as m

        with self.session() as s:
            asset = s.get(m.Asset, asset_id)
            if asset is not None:
                asset.planning = {**asset.planning, **hints}
                s.add(asset)
                s.commit()

    @guarded
    def close_abandoned_polls(
        self,
        reason: str = "the agent stopped before the poll finished",
        *,
        agent: str | None = None,
        unlabelled: bool = False,
    ) -> int:
        """Mark poll runs left 'running' by a killed agent; return how many.

        ``agent``: only that agent's runs (several agents, or a scan, share a store), and with
        ``unlabelled`` also runs that name no agent (written before runs were labelled)."""
        from sqlmodel import col, or_, select

        from agent.store import tables as m

        with self.session() as s:
            q = select(m.PollRun).where(m.PollRun.status == "running")
            if agent is not None:
                mine = m.PollRun.agent == agent
                q = q.where(or_(mine, col(m.PollRun.agent).is_(None)) if unlabelled else mine)
            runs = s.exec(q).all()
            for run in runs:
                run.status = "abandoned"
                run.error_kind = "abandoned"
                run.error = reason
                s.add(run)
            s.commit()
            return len(runs)

    # --- facts ---------------------------------------------------------------------------
    @guarded
    def save_facts(
        self,
        facts: Facts,
        *,
        run_id: int | None = None,
        site: str | None = None,
        tags: Sequence[str] = (),
        now: datetime | None = None,
        exposures: Sequence[Mapping[str, str]] | None = None,
        name: str | None = None,
        endpoint_max_age_days: int | None = None,
    ) -> int:
        """Resolve the asset (agent.store.identity), update it with history, replace this
        source's child rows, and close the poll run as ok: all in one transaction. Returns the
        asset id.

        ``exposures`` (insecure settings seen while polling, e.g. a default SNMP community)
        replace the ones this protocol reported before. ``name`` (a target's name in the
        configuration) names the asset, whatever name the box gives itself.

        Endpoints the poll saw on edge ports, and its ARP entries, are kept too
        (agent.store.sightings); with ``endpoint_max_age_days`` the endpoints last seen on this
        box and not seen since that many days are then marked gone."""
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        from agent.store import tables as m
        from agent.store.inert import inert_facts
        from agent.store.placement import link_placement
        from agent.store.resolution import link_management, resolve, save_keys
        from agent.store.sightings import age_endpoints, store_endpoints

        now = now or utcnow()
        facts = inert_facts(facts)  # device text never carries control sequences into the store
        try:
            with self._resolving, self.session() as s:
                if self._pg:
                    s.connection().execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": RESOLVE_LOCK}
                    )
                asset = resolve(s, facts, now, name)
                if exposures is not None:
                    kept = [e for e in asset.exposures if e.get("source") != facts.protocol]
                    asset.exposures = kept + [{**e, "source": facts.protocol} for e in exposures]
                self._update_asset(s, asset, facts, site, tags, now, name)
                assert asset.id is not None
                save_keys(s, asset.id, facts, now)
                link_management(s, asset, now)
                self._store_children(s, asset.id, facts, now)
                link_placement(s, asset, now)
                store_endpoints(s, asset, facts, now)
                if endpoint_max_age_days is not None:
                    age_endpoints(s, now, endpoint_max_age_days, asset.id)
                if run_id is not None:
                    run = s.get(m.PollRun, run_id)
                    if run is not None:
                        run.finished_at = utcnow()
                        run.duration_s = (run.finished_at - run.started_at).total_seconds()
                        run.status = "ok"
                        run.values_read = facts.values_read
                        run.asset_id = asset.id
                        if facts.warnings:
                            run.error = "; ".join(facts.warnings)[:4000]
                        s.add(run)
                s.commit()
                return asset.id
        except SQLAlchemyError as exc:
            if _is_transient(exc):
                raise
            raise StoreError(
                f"could not save {facts.target} to {self.safe_url}: {getattr(exc, 'orig', exc)}"
                f"{disk_problem(self.url)}"
            ) from exc

    def _update_asset(
        self,
        s: Session,
        asset: m.Asset,
        facts: Facts,
        site: str | None,
        tags: Sequence[str],
        now: datetime,
        name: str | None = None,
    ) -> None:
        from agent.store import tables as m
        from agent.store.sightings import SOURCE as SIGHTING

        source = facts.protocol
        prio = SOURCE_PRIORITY.get(source, 1)
        sources = dict(asset.field_sources)
        values = _field_values(facts)
        evidence = dict(asset.evidence)
        for field, value in values.items():
            value = _clip(value) if field != "sys_descr" else value
            current = getattr(asset, field)
            owner = sources.get(field)
            owner_prio = SOURCE_PRIORITY.get(owner, -1) if owner else -1
            if value in _UNKNOWNS:
                continue
            if current not in _UNKNOWNS and prio < owner_prio:
                continue
            if current != value:
                if field in TRACKED_FIELDS and current not in _UNKNOWNS:
                    s.add(
                        m.AssetHistory(
                            asset_id=asset.id or 0,
                            at=now,
                            field_name=field,
                            old=str(current),
                            new=str(value),
                            source=source,
                        )
                    )
                    if field == "engine_id":
                        s.add(
                            m.Event(
                                at=now,
                                kind="engine_id_changed",
                                target=facts.target,
                                asset_id=asset.id,
                                message=f"SNMP engine ID of {asset.name} changed from "
                                f"{current} to {value}: agent reset or box replaced",
                            )
                        )
                setattr(asset, field, value)
            sources[field] = source
            if field in facts.identity.evidence:
                evidence[field] = facts.identity.evidence[field]
        if name:  # the configuration names it: that name stands, whatever the box calls itself
            if asset.name != name:
                s.add(
                    m.AssetHistory(
                        asset_id=asset.id or 0,
                        at=now,
                        field_name="name",
                        old=asset.name,
                        new=name,
                        source="config",
                    )
                )
                asset.name = _clip(name)
            sources["name"] = "config"
            evidence["name"] = f"the name of target {facts.target} in the configuration"
        elif (
            facts.sys_name
            and sources.get("name") != "config"
            and (
                asset.name in (facts.address, facts.target, None)
                or sources.get("name") == SIGHTING  # named by its MAC until it answers
            )
        ):
            if sources.get("name") == SIGHTING:
                del sources["name"]
            asset.name = _clip(facts.sys_name)
        asset.field_sources = sources
        asset.evidence = evidence
        asset.mgmt_address = facts.address or asset.mgmt_address
        asset.site = site or asset.site
        asset.tags = sorted(set(asset.tags) | set(tags))
        asset.sources = sorted(set(asset.sources) | {source})
        asset.last_seen = now
        s.add(asset)
        s.flush()

    def _store_children(self, s: Session, asset_id: int, facts: Facts, now: datetime) -> None:
        from agent.store import tables as m
        from collectors.system_uuid import canonical

        src = facts.protocol
        children: dict[Any, list[dict[str, Any]]] = {
            table: []
            for table in (
                m.Interface,
                m.AddressRow,
                m.SoftwareRow,
                m.HardwareRow,
                m.StorageRow,
                m.NeighborRow,
                m.ListeningRow,
                m.GuestRow,
            )
        }
        for i in facts.interfaces:
            children[m.Interface].append(
                dict(
                    if_index=i.index,
                    name=_clip(i.name),
                    descr=i.descr,
                    alias=_clip(i.alias),
                    if_type=i.type,
                    mac=i.mac,
                    speed=i.speed,
                    mtu=i.mtu,
                    admin_status=i.admin_status,
                    oper_status=i.oper_status,
                )
            )
        for a in facts.addresses:
            children[m.AddressRow].append(
                dict(
                    address=a.address,
                    prefix_len=a.prefix_len,
                    if_index=a.if_index,
                    family=a.family,
                )
            )
        for sw in facts.software:
            children[m.SoftwareRow].append(
                dict(
                    name=_clip(sw.name, 512),
                    version=_clip(sw.version),
                    kind=sw.kind,
                    install_date=sw.install_date,
                )
            )
        for h in facts.hardware:
            children[m.HardwareRow].append(
                dict(
                    ent_index=h.index,
                    klass=h.klass,
                    name=_clip(h.name),
                    descr=h.descr,
                    model=_clip(h.model),
                    serial=_clip(h.serial),
                    hw_rev=_clip(h.hw_rev),
                    fw_rev=_clip(h.fw_rev),
                    sw_rev=_clip(h.sw_rev),
                    manufacturer=_clip(h.manufacturer),
                    parent_index=h.parent_index,
                    mfg_date=h.mfg_date,
                )
            )
        for st in facts.storage:
            children[m.StorageRow].append(
                dict(
                    descr=_clip(st.descr, 512),
                    kind=st.kind,
                    size_bytes=st.size_bytes,
                    used_bytes=st.used_bytes,
                    mount=_clip(st.mount, 512),
                )
            )
        for n in facts.neighbors:
            children[m.NeighborRow].append(
                dict(
                    protocol=n.protocol,
                    local_port=_clip(n.local_port),
                    remote_chassis_id=_clip(n.remote_chassis_id),
                    remote_port=_clip(n.remote_port),
                    remote_sys_name=_clip(n.remote_sys_name),
                    remote_descr=n.remote_descr,
                    remote_address=n.remote_address,
                    remote_platform=_clip(n.remote_platform),
                )
            )
        for li in facts.listening:
            children[m.ListeningRow].append(
                dict(
                    proto=li.proto,
                    address=li.address,
                    port=li.port,
                    process=_clip(li.process),
                )
            )
        for g in facts.guests:
            children[m.GuestRow].append(
                dict(
                    platform=g.platform[:16],
                    name=_clip(g.name) or "",
                    uuid=canonical(g.uuid) or _clip(g.uuid, 64),
                    guest_os=_clip(g.guest_os, 128),
                    state=_clip(g.state, 32),
                )
            )
        for table, rows in children.items():
            _sync_children(s, table, asset_id, src, rows)
        self._merge_connections(s, asset_id, facts, now)

    @staticmethod
    def _merge_connections(s: Session, asset_id: int, facts: Facts, now: datetime) -> None:
        from sqlmodel import select

        from agent.store import tables as m

        if not facts.connections:
            return
        existing = {
            (c.proto, c.local_address, c.local_port, c.remote_address, c.remote_port, c.process): c
            for c in s.exec(select(m.ConnectionRow).where(m.ConnectionRow.asset_id == asset_id))
        }
        seen: set[tuple[str, str, int, str, int, str]] = set()
        serving = {li.port for li in facts.listening}
        for c in facts.connections:
            local_port, remote_port = _collapse_ephemeral(c.local_port, c.remote_port, serving)
            key = (
                c.proto,
                c.local_address,
                local_port,
                c.remote_address,
                remote_port,
                _clip(c.process or ""),
            )
            if key in seen:
                continue
            seen.add(key)
            row = existing.get(key)
            if row is None:
                s.add(
                    m.ConnectionRow(
                        asset_id=asset_id,
                        proto=c.proto,
                        local_address=c.local_address,
                        local_port=local_port,
                        remote_address=c.remote_address,
                        remote_port=remote_port,
                        process=key[5],
                        count=1,
                        first_seen=now,
                        last_seen=now,
                    )
                )
            else:
                row.count += 1
                row.last_seen = now
                s.add(row)

    @guarded
    def age_endpoints(
        self, max_age_days: int, *, now: datetime | None = None, switch_id: int | None = None
    ) -> list[int]:
        """Mark gone the endpoints not seen for ``max_age_days`` (those last seen on
        ``switch_id`` only, when given), each with an event; return their asset ids."""
        from agent.store.sightings import age_endpoints as age

        with self._resolving, self.session() as s:
            gone = age(s, now or utcnow(), max_age_days, switch_id)
            s.commit()
            return gone

    # --- reads ---------------------------------------------------------------------------
    def list_assets(self, status: str | None = None) -> list[m.Asset]:
        """Every stored asset, or those with this ``status`` (``active``, ``replaced``)."""
        from sqlmodel import col, select

        from agent.store import tables as m

        with self.session() as s:
            q = select(m.Asset).order_by(col(m.Asset.id))
            if status is not None:
                q = q.where(m.Asset.status == status)
            return list(s.exec(q).all())

    def count(self, table: type[SQLModel], **where: Any) -> int:
        from sqlmodel import func, select

        with self.session() as s:
            q = select(func.count()).select_from(table)
            for k, v in where.items():
                q = q.where(getattr(table, k) == v)
            return int(s.exec(q).one())

    def children(self, table: type[Any], asset_id: int) -> list[Any]:
        from sqlmodel import select

        with self.session() as s:
            return list(s.exec(select(table).where(table.asset_id == asset_id)).all())

    def poll_runs(self, *, target: str | None = None, limit: int = 1000) -> list[m.PollRun]:
        from sqlmodel import col, select

        from agent.store import tables as m

        with self.session() as s:
            q = select(m.PollRun).order_by(col(m.PollRun.id).desc()).limit(limit)
            if target is not None:
                q = q.where(m.PollRun.target == target)
            return list(s.exec(q).all())

    def known_targets(self) -> set[str]:
        """Targets that have answered at least once."""
        from sqlmodel import select

        from agent.store import tables as m

        with self.session() as s:
            q = select(m.PollRun.target).where(m.PollRun.status == "ok").distinct()
            return set(s.exec(q).all())

    def plan_asset_points(self) -> dict[int, dict[str, object]]:
        """Support status, days to end of support and debt per asset from the newest plan."""
        from sqlmodel import col, select

        from agent.store import tables as m

        with self.session() as s:
            plan_id = s.exec(select(m.PlanRow.id).order_by(col(m.PlanRow.id).desc())).first()
            if plan_id is None:
                return {}
            rows = s.exec(select(m.AssetPlan).where(m.AssetPlan.plan_id == plan_id)).all()
            return {
                r.asset_id: {
                    "support_status": r.support_status,
                    "days_to_eos": r.days_to_eos,
                    "debt": r.debt,
                }
                for r in rows
            }

    def latest_plan(self) -> m.PlanRow | None:
        from sqlmodel import col, select

        from agent.store import tables as m

        with self.session() as s:
            return s.exec(select(m.PlanRow).order_by(col(m.PlanRow.id).desc()).limit(1)).first()

    def plan_waves(self) -> list[m.WaveRow]:
        from sqlmodel import col, select

        from agent.store import tables as m

        with self.session() as s:
            plan_id = s.exec(select(m.PlanRow.id).order_by(col(m.PlanRow.id).desc())).first()
            if plan_id is None:
                return []
            return list(
                s.exec(
                    select(m.WaveRow)
                    .where(m.WaveRow.plan_id == plan_id)
                    .order_by(col(m.WaveRow.number))
                ).all()
            )

    @guarded
    def prune(
        self, *, history_days: int, poll_run_days: int, now: datetime | None = None
    ) -> dict[str, int]:
        """Delete change history, poll runs and events older than their retention.

        The newest poll run of each target is always kept, so a target that is polled rarely
        still shows when it last answered."""
        from sqlmodel import col, delete, func, select

        from agent.store import tables as m

        now = now or utcnow()
        out: dict[str, int] = {}
        with self.session() as s:
            cut = now - timedelta(days=history_days)
            out["history"] = (
                s.exec(delete(m.AssetHistory).where(col(m.AssetHistory.at) < cut)).rowcount or 0
            )
            cut = now - timedelta(days=poll_run_days)
            newest = select(func.max(m.PollRun.id)).group_by(m.PollRun.target)
            out["poll_runs"] = (
                s.exec(
                    delete(m.PollRun)
                    .where(col(m.PollRun.started_at) < cut)
                    .where(col(m.PollRun.id).not_in(newest))
                ).rowcount
                or 0
            )
            out["connections"] = (
                s.exec(delete(m.ConnectionRow).where(col(m.ConnectionRow.last_seen) < cut)).rowcount
                or 0
            )
            out["events"] = s.exec(delete(m.Event).where(col(m.Event.at) < cut)).rowcount or 0
            s.commit()
        return out

    def history(self, asset_id: int) -> list[m.AssetHistory]:
        from sqlmodel import col, select

        from agent.store import tables as m

        with self.session() as s:
            return list(
                s.exec(
                    select(m.AssetHistory)
                    .where(m.AssetHistory.asset_id == asset_id)
                    .order_by(col(m.AssetHistory.id))
                ).all()
            )


FIRST_REVISION = "0001"
# The newest migration under migrations/versions (tests/agent/test_store_open.py holds the two
# equal): a database at this revision needs no migration, so opening it needs no Alembic.
HEAD_REVISION = "0012"
MIGRATIONS = Path(__file__).parent / "migrations"
# Columns of cw_asset that hold JSON, and times (aware UTC datetimes in agent.store.tables).
ASSET_JSON_COLUMNS = frozenset(
    {"tags", "sources", "evidence", "planning", "exposures", "field_sources"}
)
ASSET_TIME_COLUMNS = frozenset({"first_seen", "last_seen"})
_COLUMN = re.compile(r"[a-z_][a-z0-9_]*")
# sqlite:///FILE as SQLAlchemy reads it, for the URLs whose file is plain to see: no query,
# no escapes, no home folder to expand, not :memory:.
_SQLITE_FILE_URL = re.compile(r"sqlite(?:\+pysqlite)?:///(?P<path>[^?#%~:@][^?#%:@]*)")
RESOLVE_LOCK = 0x636C6477  # advisory lock key serialising identity resolution across agents
EPHEMERAL_PORTS = 32768  # start of the Linux ephemeral range; Windows starts at 49152


def _collapse_ephemeral(local: int, remote: int, serving: set[int]) -> tuple[int, int]:
    """Store the client's ephemeral port as 0, so one long-lived dependency stays one row
    instead of a new row for every new client port (0 marks the client side)."""
    if local in serving and remote not in serving:
        return local, 0
    if remote < local and (local >= EPHEMERAL_PORTS or local not in serving):
        return 0, remote
    return local, remote


def _sqlite_file(url: str) -> Path | None:
    """The file of a plain ``sqlite:///FILE`` URL; None for anything else (PostgreSQL, memory,
    URLs with options), which SQLAlchemy parses."""
    found = _SQLITE_FILE_URL.fullmatch(url)
    return Path(found["path"]) if found else None


def _sqlite_revisions(path: Path) -> list[str] | None:
    """The revisions in an SQLite file's ``alembic_version``, read with sqlite3 alone; None
    when they cannot be read (not a database, no such table, locked, ...): the caller then
    opens it the full way, which reports or repairs whatever it is."""
    try:
        conn = sqlite3.connect(path, timeout=5)
        try:
            rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return sorted(str(r[0]) for r in rows)


def _new_engine(url: str, engine_kw: Mapping[str, Any]) -> Engine:
    """The SQLAlchemy engine for ``url`` (a new SQLite file is created private to its owner)."""
    from sqlalchemy import event
    from sqlalchemy.engine import make_url
    from sqlmodel import create_engine

    try:
        parsed = make_url(url)
    except Exception as exc:
        raise StoreError(
            f"database URL {url!r} is not valid ({exc}); use "
            "sqlite:///path/to/file.db or postgresql://user@host/db"
        ) from None
    if parsed.drivername.startswith("postgresql") and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        _private_file(Path(parsed.database).expanduser())
    # JSON columns through orjson (a plan's per-asset rows, the API's reads)
    kw: dict[str, Any] = {
        "pool_pre_ping": True,
        "json_serializer": jsontext.dumps,
        "json_deserializer": jsontext.loads,
    }
    if parsed.drivername.startswith("sqlite"):
        kw["connect_args"] = {"check_same_thread": False, "timeout": 30}
    kw.update(engine_kw)
    engine = create_engine(parsed, **kw)
    if parsed.drivername.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def json_value(value: Any) -> Any:
    """A JSON column's value: SQLite gives its text, PostgreSQL's driver the decoded value."""
    return jsontext.loads(value) if isinstance(value, str | bytes) else value


def utc(value: Any) -> datetime | None:
    """A time column's value as an aware UTC datetime (SQLite keeps UTC as text without an
    offset, as SQLModel's UTCDateTime writes it)."""
    if value is None:
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC) if when.utcoffset() is None else when.astimezone(UTC)


def _known_revision(script: Any, revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def _current_revision(conn: Any) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _private_file(path: Path) -> None:
    """Create a new SQLite file readable by its owner only (SQLite gives its -wal and -shm
    files the database file's mode); an existing file is left as it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(f"database file {path} cannot be created: {exc.strerror}") from None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
