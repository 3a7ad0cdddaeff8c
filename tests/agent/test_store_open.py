"""Opening the store cheaply: a store already at the head revision opens without SQLAlchemy or
Alembic, one at an older revision is migrated as before, and the plain-SQL reads give what the
ORM gives, on both backends."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, DateTime, text
from sqlmodel import select

from agent.errors import StoreError
from agent.inventory.estate_import import import_file
from agent.store import Store
from agent.store import tables as m
from agent.store.database import (
    ASSET_JSON_COLUMNS,
    ASSET_TIME_COLUMNS,
    FIRST_REVISION,
    HEAD_REVISION,
    MIGRATIONS,
    _sqlite_file,
)
from tests.agent.observed import client_and_server

ROOT = Path(__file__).resolve().parents[2]
COUNCIL = ROOT / "tests" / "data" / "estate" / "council.json"
ORM_ONLY = ("sqlalchemy", "sqlmodel", "alembic", "agent.store.tables")


def test_head_revision_is_the_newest_migration() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION


def test_asset_column_kinds_match_the_table() -> None:
    columns = m.Asset.__table__.columns  # type: ignore[attr-defined]
    assert {c.name for c in columns if isinstance(c.type, JSON)} == ASSET_JSON_COLUMNS
    times = {c.name for c in columns if type(c.type).__name__ == "UTCDateTime"}
    assert times == ASSET_TIME_COLUMNS


def test_every_time_column_keeps_its_zone() -> None:
    """Bulk writes hand times to PostgreSQL's COPY as they are (agent.store.bulk.execute_many):
    right for a column that keeps the zone, not for one without (a bound parameter would
    first turn the time into the session's zone)."""
    times = [
        (table.name, c.name, c.type)
        for table in m.SQLModel.metadata.sorted_tables
        for c in table.columns
        if isinstance(getattr(c.type, "impl_instance", c.type), DateTime)
    ]
    assert times
    naive = [(t, c) for t, c, kind in times if not getattr(kind, "impl_instance", kind).timezone]
    assert not naive
    assert {type(kind).__name__ for _, _, kind in times} == {"UTCDateTime"}


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///var/cloudward.db", "var/cloudward.db"),
        ("sqlite:////srv/cw/cw.db", "/srv/cw/cw.db"),
        ("sqlite+pysqlite:///cw.db", "cw.db"),
        ("sqlite:///:memory:", None),
        ("sqlite://", None),
        ("sqlite:///cw.db?timeout=5", None),
        ("sqlite:///~/cw.db", None),
        ("sqlite:///cw%20x.db", None),
        ("postgresql://cw@db/cw", None),
    ],
)
def test_only_plain_sqlite_file_urls_take_the_quick_way(url: str, path: str | None) -> None:
    assert _sqlite_file(url) == (Path(path) if path else None)


def _modules_after(code: str) -> list[str]:
    """The ORM-side modules a fresh interpreter has imported after running ``code``."""
    probe = (
        f"{code}\nimport sys\n"
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {ORM_ONLY[:3]!r}"
        f" or n == {ORM_ONLY[3]!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"')))


def test_a_store_at_head_opens_and_reads_without_the_orm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cw.db'}"
    Store.open(url).close()  # created and migrated: the full way
    code = (
        "from agent.store import Store\n"
        f"s = Store.open({url!r})\n"
        "assert s.read_assets(['id', 'tags', 'first_seen']) == []\n"
        "assert s.plan_body() is None\n"
        "s.close()"
    )
    assert _modules_after(code) == []


def test_an_older_store_is_migrated_on_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store.open(url, create=False)
    old.create_schema(FIRST_REVISION)
    old.close()
    store = Store.open(url)
    try:
        assert store.schema_revision() == HEAD_REVISION
    finally:
        store.close()
    quick = Store.open(url)  # now at head
    try:
        assert quick._engine is None and quick.read_assets(["id"]) == []
    finally:
        quick.close()


def test_a_failed_plain_read_is_a_store_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cw.db'}"
    Store.open(url).close()
    store = Store.open(url)
    with pytest.raises(StoreError, match="no such table"):
        store.rows("SELECT * FROM cw_nothing")
    failed = "cannot read or write: no such table"
    with pytest.raises(StoreError, match=failed), store.driver() as (_, db):
        db.execute("SELECT * FROM cw_nothing")
    assert store._engine is None
    with pytest.raises(ValueError, match="not asset columns"):
        store.read_assets(["id; DROP TABLE cw_asset"])


def _filled(store: Store) -> None:
    """The council estate, planned, with one asset gone (so the status filter has work)."""
    from agent.bridge.plan_runs import compute_plan, save_plan

    import_file(store, COUNCIL)
    save_plan(store, compute_plan(store, date(2026, 11, 1)))
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE cw_asset SET status = 'gone' WHERE name = 'mon01'"))


def _reopened(store: Store) -> Store:
    """The same database through a new Store: on SQLite the quick way (no engine yet)."""
    if store._pg:
        return store
    again = Store.open(store.url)
    assert again._engine is None
    return again


def test_plain_reads_equal_the_orm(store: Store) -> None:
    from agent.bridge.plan_runs import plan_body

    _filled(store)
    fields = [c.name for c in m.Asset.__table__.columns]  # type: ignore[attr-defined]
    reader = _reopened(store)
    try:
        for status, count in ((None, 36), ("active", 35), ("gone", 1), ("replaced", 0)):
            want = [{f: getattr(a, f) for f in fields} for a in store.list_assets(status)]
            assert len(want) == count
            assert reader.read_assets(fields, status) == want
        assert reader.plan_body() == plan_body(store)
        assert reader.plan_body(1) == plan_body(store, 1)
        assert reader.plan_body(99) is None
    finally:
        if reader is not store:
            reader.close()


def test_the_asset_list_in_plain_sql_filters_as_the_orm_would(store: Store) -> None:
    """``list_assets_page`` (plain SQL, what the API lists) against the same filters applied
    to the ORM's assets and plan rows, on each backend and through a store with no engine."""
    from sqlmodel import select

    from agent.store.queries import AssetFilter, _asset_json, list_assets_page

    _filled(store)
    with store.engine.begin() as conn:  # a site for the site filter; an asset the plan lacks
        conn.execute(text("UPDATE cw_asset SET site = 'depot' WHERE id % 3 = 0"))
        conn.execute(text("DELETE FROM cw_asset_plan WHERE asset_id = 2"))
    with store.session() as s:
        newest = max(p.id for p in s.exec(select(m.PlanRow)).all() if p.id is not None)
        rows = s.exec(select(m.AssetPlan).where(m.AssetPlan.plan_id == newest)).all()
    plans = {p.asset_id: p for p in rows}
    assets = sorted(store.list_assets(None), key=lambda a: a.id or 0)

    def wanted(f: AssetFilter) -> list[dict[str, object]]:
        out = []
        for a in assets:
            p = plans.get(a.id or 0)
            status = p.support_status if p else "unknown"
            text = " ".join(x.lower() for x in (a.name, a.mgmt_address or "") if x)
            if (
                (f.status == "all" or a.status == f.status)
                and (not f.device_class or a.device_class == f.device_class)
                and (not f.site or a.site == f.site)
                and (not f.support_status or status == f.support_status)
                and (f.min_debt is None or (p is not None and p.debt >= f.min_debt))
                and (not f.q or any(f.q.lower() in t for t in text.split(" ")))
            ):
                out.append(_asset_json(a, p))
        return out

    filters = [
        AssetFilter(),
        AssetFilter(status="all"),
        AssetFilter(status="gone"),
        AssetFilter(device_class="server"),
        AssetFilter(site="depot"),
        AssetFilter(support_status="unknown"),
        AssetFilter(support_status="eol", device_class="server"),
        AssetFilter(min_debt=30.0),
        AssetFilter(q="WEB"),
        AssetFilter(q="10.0."),
        AssetFilter(q="%"),
        AssetFilter(q="_"),
    ]
    reader = _reopened(store)
    try:
        for f in filters:
            want = wanted(f)
            for limit, offset in ((1000, 0), (5, 3)):
                items, total = list_assets_page(reader, f, limit=limit, offset=offset)
                assert total == len(want), f
                assert items == want[offset : offset + limit], f
        assert any(wanted(f) for f in filters[3:9]), "the filters select something"
    finally:
        if reader is not store:
            reader.close()


def test_the_estates_dependency_days_are_the_stored_utc_days(store: Store) -> None:
    """A dependency or an asset first seen at 23:30 UTC was seen that UTC day, whatever the
    database session's time zone (PostgreSQL's is set to Tokyo here, where it is already the
    next day)."""
    from datetime import UTC

    from sqlalchemy import event

    from agent.bridge.plan_runs import estate_from_store

    if store._pg:
        store.engine.dispose()  # connections made from here on are in Tokyo's time zone

        @event.listens_for(store.engine, "connect")
        def tokyo(dbapi_conn: object, _record: object) -> None:
            dbapi_conn.execute("SET TIME ZONE 'Asia/Tokyo'")  # type: ignore[attr-defined]

    import_file(store, COUNCIL)
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE cw_dependency SET first_seen = :t, last_seen = :t"), {"t": late})
        conn.execute(text("UPDATE cw_asset SET first_seen = :t"), {"t": late})
    estate = estate_from_store(store)
    assert estate.dependencies
    assert {(d.first_seen, d.last_seen) for d in estate.dependencies} == {
        (date(2026, 3, 1), date(2026, 3, 1))
    }
    assert {a.first_seen for a in estate.assets if not a.external} == {date(2026, 3, 1)}


def test_the_estate_read_by_the_driver_says_what_the_orm_holds(store: Store) -> None:
    """The estate's usage figures, hypervisor links and asset count, read with the driver
    itself (on SQLite through a store with no engine), against the same facts read through
    the ORM: the rollups' p95 over the window and the stored ``hosts`` links."""
    from datetime import UTC, timedelta

    from agent.bridge.plan_runs import estate_from_store
    from agent.store.placement import hosted_on
    from agent.store.usage_history import rollups
    from planner.usage import window_figure

    import_file(store, COUNCIL)
    ids = {a.name: a.id for a in store.list_assets()}
    start = datetime(2026, 10, 1, tzinfo=UTC)
    with store.session() as s:
        for n in range(20):  # twenty days of CPU and memory for one box, CPU alone for another
            for name, metric, value in (
                ("web01", "cpu_pct", 10.0 + n),
                ("web01", "mem_pct", 50.0 - n),
                ("sql01", "cpu_pct", 3.0 * n),
            ):
                s.add(
                    m.UsageRollup(
                        asset_id=ids[name],
                        metric=metric,
                        period="day",
                        start=start + timedelta(days=n),
                        count=24,
                        p50=value,
                        p95=value,
                        max=value,
                    )
                )
        s.commit()
        links = hosted_on(s)
    assert links, "the council estate's virtual machines name their hypervisors"
    reader = _reopened(store)
    try:
        estate = estate_from_store(reader, date(2026, 10, 25))
    finally:
        if reader is not store:
            reader.close()
    ours = {a.id: a for a in estate.assets if not a.external}
    assert len(ours) == len(ids)
    for guest, host in links.items():
        assert ours[str(guest)].host == str(host)
    daily = rollups(store, "day", metrics=("cpu_pct", "mem_pct"))
    for name in ("web01", "sql01"):
        asset = ours[str(ids[name])]
        cpu = window_figure(daily[ids[name]]["cpu_pct"], today=date(2026, 10, 25), window_days=90)
        assert asset.cpu_util_pct == round(cpu.p95 or 0, 1) and asset.util_days == 20
    assert ours[str(ids["web01"])].memory_util_pct is not None


def test_rebuilding_dependencies_reads_nothing_more_without_observed_connections(
    tmp_path: Path,
) -> None:
    """An imported estate holds no connections: the rebuild ends at one plain read (no engine
    built, its imported dependencies kept); where connections were observed it rebuilds, and
    once they are gone its observed edges go with them."""
    from agent.inventory.dependencies import rebuild_dependencies

    url = f"sqlite:///{tmp_path / 'cw.db'}"
    full = Store.open(url)
    try:
        import_file(full, COUNCIL)
        imported = full.rows("SELECT count(*) FROM cw_dependency")[0][0]
    finally:
        full.close()
    quick = Store.open(url)
    try:
        assert rebuild_dependencies(quick) == 0
        assert quick._engine is None
        assert quick.rows("SELECT count(*) FROM cw_dependency")[0][0] == imported > 0
    finally:
        quick.close()
    store = Store.open(url)
    try:
        client_and_server(store, server_saw_it=False)
        assert rebuild_dependencies(store) == 1
        observed = "SELECT count(*) FROM cw_dependency WHERE origin = 'observed'"
        assert store.rows(observed)[0][0] == 1
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM cw_connection"))
        assert rebuild_dependencies(store) == 0
        assert store.rows(observed)[0][0] == 0
        assert store.rows("SELECT count(*) FROM cw_dependency")[0][0] == imported
    finally:
        store.close()


def test_rebuilt_dependencies_carry_what_the_connections_said(store: Store) -> None:
    """Written in bulk on each backend: the client, the server's listening process, the
    service, both ends' sightings, the count and the first and last time seen."""
    from datetime import UTC

    from agent.inventory.dependencies import rebuild_dependencies

    t0, t1 = datetime(2026, 11, 1, 9, tzinfo=UTC), datetime(2026, 11, 2, 17, tzinfo=UTC)
    for now in (t0, t1):
        client_and_server(store, server_saw_it=True, now=now)
    ids = {a.name: a.id for a in store.list_assets()}
    assert rebuild_dependencies(store) == 1
    with store.session() as s:
        [dep] = s.exec(select(m.DependencyRow)).all()
    assert (dep.src_asset_id, dep.dst_asset_id, dep.port) == (ids["h30"], ids["h40"], 5432)
    assert (dep.src_key, dep.dst_key) == (f"asset:{ids['h30']}", f"asset:{ids['h40']}")
    assert (dep.origin, dep.service, dep.process) == ("observed", "postgresql", "postgres")
    assert dep.seen_by_client and dep.seen_by_server and dep.count >= 2
    first, last = (
        t.replace(tzinfo=UTC) if t.tzinfo is None else t for t in (dep.first_seen, dep.last_seen)
    )
    assert (first, last) == (t0, t1)


def test_agents_rebuilding_the_dependencies_at_once_take_turns(store: Store) -> None:
    """Several agents sharing one database rebuild the observed dependencies at the same
    moment: each rebuild replaces the edges in turn (none fails on the edges' unique key), and
    the store ends with the edges once."""
    import threading

    from agent.inventory.dependencies import rebuild_dependencies

    client_and_server(store, server_saw_it=True)
    start = threading.Barrier(4)
    failed: list[BaseException] = []
    counts: list[int] = []

    def agent() -> None:
        try:
            for _ in range(5):
                start.wait(timeout=60)
                counts.append(rebuild_dependencies(store))
        except BaseException as exc:  # reported below
            failed.append(exc)

    agents = [threading.Thread(target=agent) for _ in range(4)]
    for t in agents:
        t.start()
    for t in agents:
        t.join(timeout=300)
    assert not failed, failed
    assert counts == [1] * 20
    observed = "SELECT count(*) FROM cw_dependency WHERE origin = 'observed'"
    assert store.rows(observed)[0][0] == 1
