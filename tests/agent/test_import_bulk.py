"""``cloudward import`` writes in bulk: the same rows as saving each asset on its own.

The reference is the way import stored an estate before it wrote in bulk: ``save_facts`` and
``set_planning_hints`` per asset, then the ``host`` column, then one ORM row per dependency.
Both ways run on the same store contents (a box already discovered over SNMP, a hypervisor
listing a guest) and every table is compared row by row, times aside; then the file is
imported a second time both ways (every asset known: identity resolution decides each)."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlmodel import SQLModel, col, delete
from sqlmodel.sql.sqltypes import UTCDateTime

import planner
from agent.cli import cli
from agent.inventory import estate_import as ei
from agent.store import Store, utcnow
from agent.store import tables as m
from agent.store.bulk import execute_many, paused_collector
from bench.importer import write_estate, write_estate_json
from collectors.facts import Facts, Guest, Identity

N, M = 1_000, 5_000


def _open(kind: str, tmp: Path, name: str, pg_url: str | None) -> Iterator[Store]:
    if kind == "sqlite":
        st = Store.open(f"sqlite:///{tmp / name}.db")
        try:
            yield st
        finally:
            st.close()
        return
    assert pg_url is not None
    import psycopg

    schema = f"cwbulk_{uuid.uuid4().hex[:12]}"
    plain = pg_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    st = Store.open(pg_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield st
    finally:
        st.close()
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def two_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    kind = request.param
    url = request.getfixturevalue("pg_url") if kind == "postgresql" else None
    first = _open(kind, tmp_path, "single", url)
    second = _open(kind, tmp_path, "bulk", url)
    try:
        yield next(first), next(second)
    finally:
        for gen in (first, second):
            next(gen, None)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_estate(tmp_path_factory.mktemp("estate"), N, M)


def _seed(store: Store) -> None:
    """What discovery found before the import: a box that is row 3 (its serial), one that is
    row 6 (its name at its address), a hypervisor listing row 10 as a guest."""
    now = utcnow()
    store.save_facts(
        Facts(
            target="10.9.0.3",
            protocol="snmp",
            address="10.9.0.3",
            sys_name="box-three",
            identity=Identity(vendor="dell", device_class="server", serial="SN00000003"),
        ),
        now=now,
    )
    store.save_facts(
        Facts(
            target="10.0.0.6",
            protocol="snmp",
            address="10.0.0.6",
            sys_name="srv000006",
            identity=Identity(vendor="hpe", device_class="server"),
        ),
        now=now,
    )
    store.save_facts(
        Facts(
            target="10.9.0.99",
            protocol="ssh",
            address="10.9.0.99",
            sys_name="esx99",
            identity=Identity(vendor="vmware", device_class="hypervisor"),
            guests=(Guest(name="srv000010.corp", platform="vmware"),),
        ),
        now=now,
    )


def single_save(store: Store, path: Path) -> None:
    """The reference: one asset at a time, one ORM row per dependency."""
    assets, deps = planner.parse_import(path.read_text(encoding="utf-8-sig"), "csv")
    source = path.name
    ids: dict[str, int] = {}
    for a in assets:
        tags = list(a.tags) + ([a.environment] if a.environment != "unknown" else [])
        exposures = [{"kind": e.kind, "detail": e.detail or f"from {source}"} for e in a.exposures]
        asset_id = store.save_facts(
            ei.facts_from_input(a), site=a.site, tags=tags, exposures=exposures
        )
        store.set_planning_hints(asset_id, ei._hints(a))
        ids[a.id] = asset_id
    if assets:
        _reference_placement(store, assets, ids, source)
    if deps:
        _reference_dependencies(store, deps, ids)


def _reference_placement(
    store: Store, assets: tuple[planner.AssetInput, ...], ids: dict[str, int], source: str
) -> None:
    from agent.store.placement import link_imported_host

    now = utcnow()
    with store.session() as s:
        by_name = ei._names(s)
        for a in assets:
            host = (ids.get(a.host) or by_name.get(a.host.lower())) if a.host else None
            link_imported_host(s, ids[a.id], host, f"{source}: host column {a.host!r}", now)
        s.commit()


def _reference_dependencies(
    store: Store, deps: tuple[planner.Dependency, ...], ids: dict[str, int]
) -> None:
    now = utcnow()
    with store.session() as s:
        by_name = ei._names(s)

        def resolve(ref: str) -> int | None:
            return ids.get(ref) or by_name.get(ref.lower())

        s.exec(delete(m.DependencyRow).where(col(m.DependencyRow.origin) == "import"))
        seen: set[tuple[str, str, int]] = set()
        for d in deps:
            src, dst = resolve(d.src), resolve(d.dst)
            src_key = f"asset:{src}" if src is not None else f"ext:{d.src}"
            dst_key = f"asset:{dst}" if dst is not None else f"ext:{d.dst}"
            key = (src_key, dst_key, d.port or 0)
            if key in seen:
                continue
            seen.add(key)
            s.add(
                m.DependencyRow(
                    src_key=src_key,
                    dst_key=dst_key,
                    origin="import",
                    src_asset_id=src,
                    dst_asset_id=dst,
                    src_address=None if src is not None else d.src,
                    dst_address=None if dst is not None else d.dst,
                    port=d.port or 0,
                    service=d.service,
                    client_process=d.process,
                    count=max(1, d.count),
                    seen_by_client=True,
                    seen_by_server=False,
                    first_seen=now,
                    last_seen=now,
                )
            )
        s.commit()


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in key order, with times left out (they differ by run)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [
                tuple(None if isinstance(v, datetime) else v for v in r) for r in rows
            ]
    return out


def _differences(a: dict[str, list[Any]], b: dict[str, list[Any]]) -> list[str]:
    problems = []
    for name in sorted(a):
        if a[name] != b[name]:
            extra = [r for r in b[name] if r not in a[name]][:3]
            missing = [r for r in a[name] if r not in b[name]][:3]
            problems.append(
                f"{name}: {len(a[name])} vs {len(b[name])} rows; bulk has {extra} but not {missing}"
            )
    return problems


def test_bulk_import_stores_what_single_saves_store(
    two_stores: tuple[Store, Store], estate: tuple[Path, Path]
) -> None:
    single, bulk = two_stores
    assets_csv, deps_csv = estate
    for store in (single, bulk):
        _seed(store)
    for _ in range(2):  # a new import, then the same file again: every asset already known
        single_save(single, assets_csv)
        single_save(single, deps_csv)
        first = ei.import_file(bulk, assets_csv)
        second = ei.import_file(bulk, deps_csv)
        assert (first.assets, second.dependencies) == (N, bulk.count(m.DependencyRow))
        expected, got = dump(single), dump(bulk)
        assert not _differences(expected, got), "\n".join(_differences(expected, got))
    # what the comparison covered: rows 3 and 6 were discovered boxes, row 996 repeats the
    # serial of row 993 (one box); row 499 is the controller of row 498 (same serial)
    assert bulk.count(m.Asset) == N + 3 - 3
    assert {a.name for a in bulk.list_assets()} >= {"box-three", "esx99"}
    (link,) = [x for x in _links(bulk) if x.kind == "manages"]
    assert link.evidence == "same serial SN00000498"
    assert sum(x.kind == "hosts" for x in _links(bulk)) > N // 2
    assert any("guest list" in x.evidence for x in _links(bulk)), "row 10 is a listed guest"
    assert bulk.count(m.SoftwareRow) == 2 * len(range(0, N, 4))
    hinted = [a for a in bulk.list_assets() if a.planning.get("application")]
    assert len(hinted) == N - 1


def _links(store: Store) -> list[m.AssetLink]:
    with store.session() as s:
        return list(s.scalars(select(m.AssetLink)))


def test_cli_import_reports_progress_and_refuses_a_bad_row_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "cw.db"
    assets_csv, deps_csv = write_estate(tmp_path, 30_000, 60_000)
    url = f"sqlite:///{db}"
    runner = CliRunner()
    r = runner.invoke(cli, ["import", str(deps_csv), "--database", url])
    assert r.exit_code == 0, r.output
    assert "cloudward import: read 50,000 rows of dependencies.csv" in r.stderr
    assert "cloudward import: storing 5" in r.stderr
    monkeypatch.setattr(ei, "LOUD", 20_000)  # these 30,000 assets alone are told too
    r = runner.invoke(cli, ["import", str(assets_csv), "--database", url])
    assert r.exit_code == 0, r.output
    told = [line for line in r.stderr.splitlines() if line.startswith("cloudward import: stored")]
    # about a line a tenth of the way, the last when all are stored (not one per batch)
    assert 10 <= len(told) <= 11, told
    assert told[0] == "cloudward import: stored 4,000 of 30,000 assets", told
    assert told[-1] == "cloudward import: stored 30,000 of 30,000 assets", told
    before = dump(Store.open(url))

    lines = assets_csv.read_text().splitlines()
    cells = lines[25_000].split(",")
    cells[2] = "eight"  # Cores
    lines[25_000] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    r = runner.invoke(cli, ["import", str(bad), "--database", url])
    assert r.exit_code == 2
    assert "row 25001" in r.stderr and "Cores" in r.stderr and "'eight'" in r.stderr
    store = Store.open(url)
    try:
        assert dump(store) == before, "nothing of the refused file was stored"
    finally:
        store.close()


def test_json_import_streams_to_the_same_rows(tmp_path: Path) -> None:
    """A JSON file streamed from disk stores what the whole text parsed at once stores, and
    its assets as the CSV of the same estate does (its dependencies differ on purpose: in one
    JSON file a source known by IP is named by the asset holding that IP before rows merge)."""
    both = write_estate_json(tmp_path / "estate.json", 400, 2_000)
    assets_csv, _ = write_estate(tmp_path, 400, 2_000)
    stores = {k: Store.open(f"sqlite:///{tmp_path / k}.db") for k in ("file", "text", "csv")}
    try:
        report = ei.import_file(stores["file"], both)
        assert report.assets == 400 and report.dependencies > 1_900
        ei.import_estate(stores["text"], both.read_text(), "json", both.name)
        ei.import_file(stores["csv"], assets_csv)
        streamed, whole, from_csv = (dump(stores[k]) for k in ("file", "text", "csv"))
        assert not _differences(whole, streamed), "\n".join(_differences(whole, streamed))
        for rows in (streamed, from_csv):
            del rows["cw_dependency"]
            rows["cw_asset_link"] = [  # the file's name is in the evidence of a host link
                tuple(str(v).replace(both.name, "F").replace(assets_csv.name, "F") for v in r)
                for r in rows["cw_asset_link"]
            ]
        assert not _differences(from_csv, streamed), "\n".join(_differences(from_csv, streamed))
    finally:
        for store in stores.values():
            store.close()


def test_the_collector_resumes_without_walking_what_a_paused_command_made() -> None:
    """A one-shot command's objects, made with the collector paused, are moved out of its
    sight when it resumes: its first collection would otherwise walk every one of them."""
    was_on = gc.isenabled()
    gc.enable()
    try:
        with paused_collector():
            assert not gc.isenabled()
            made = [[i] for i in range(50_000)]  # containers the collector tracks
        assert gc.isenabled()
        assert gc.get_count()[0] < 1_000, gc.get_count()  # not 50,000 waiting to be walked
        assert gc.get_freeze_count() >= len(made)
    finally:
        gc.unfreeze()  # back where the collector sees them, for the rest of the session
        if not was_on:
            gc.disable()


def test_sqlite_bulk_rows_convert_each_distinct_time_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows written in bulk share a few times (an import stamps every row with its start): on
    SQLite each distinct time is turned into stored text once per column, also through the
    type decorator SQLModel puts on every time column, and stored as a single save would."""
    store = Store.open(f"sqlite:///{tmp_path / 'cw.db'}")
    real = UTCDateTime.process_bind_param
    converted: list[Any] = []

    def counted(self: UTCDateTime, value: Any, dialect: Any) -> Any:
        converted.append(value)
        return real(self, value, dialect)

    monkeypatch.setattr(UTCDateTime, "process_bind_param", counted)
    start = datetime(2026, 12, 8, 1, 2, 3, 456789, tzinfo=UTC)
    later = start.astimezone(timezone(timedelta(hours=5)))  # the same instant, another zone
    rows = [
        {"at": start if i % 2 else later, "kind": "import", "message": f"row {i}"}
        for i in range(500)
    ]
    try:
        with store.session() as s:
            execute_many(s.connection(), m.Event, rows)
            s.commit()
        assert len(converted) == 1, len(converted)
        converted.clear()
        with store.session() as s:
            s.add(m.Event(at=later, kind="single", message="one save"))
            s.commit()
        stored = {r[0] for r in store.rows("SELECT at FROM cw_event")}
        assert len(stored) == 1, stored  # bulk and single saves store the same text
        assert store.rows("SELECT count(*) FROM cw_event") == [(501,)]
    finally:
        store.close()
