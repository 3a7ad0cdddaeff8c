"""A large dependency import on SQLite drops the table's plain indexes for the write and builds
them again before it commits: afterwards the same indexes exist, the rows are all there, and a
failed import leaves the indexes (and the earlier rows) as they were."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.errors import StoreError
from agent.inventory.estate_import import import_file
from agent.store import Store, bulk

ASSETS = "Server name,IP addresses\n" + "".join(f"srv{i},10.0.0.{i}\n" for i in range(1, 6))
DEPS_HEADER = "Source server name,Destination server name,Destination port\n"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setattr(bulk, "_REINDEX_FROM", 2)  # every import here counts as large
    st = Store.open(f"sqlite:///{tmp_path / 'cw.db'}")
    (tmp_path / "assets.csv").write_text(ASSETS, encoding="utf-8")
    import_file(st, tmp_path / "assets.csv")
    try:
        yield st
    finally:
        st.close()


def _indexes(store: Store) -> list[tuple[str, str]]:
    rows = store.rows(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
        "AND tbl_name = 'cw_dependency' ORDER BY name"
    )
    return [(str(n), str(s)) for n, s in rows]


def test_indexes_are_rebuilt_and_every_row_is_stored(store: Store, tmp_path: Path) -> None:
    before = _indexes(store)
    assert any(sql != "None" for _, sql in before), before  # plain indexes to rebuild
    deps = tmp_path / "deps.csv"
    rows = [
        f"srv{a},srv{b},{port}\n" for a in range(1, 6) for b in range(1, 6) for port in (22, 443)
    ]
    deps.write_text(DEPS_HEADER + "".join(rows), encoding="utf-8")
    report = import_file(store, deps)
    assert report.dependencies == len(rows)
    assert _indexes(store) == before
    assert store.rows("SELECT count(*) FROM cw_dependency") == [(len(rows),)]
    plan = store.rows("EXPLAIN QUERY PLAN SELECT id FROM cw_dependency WHERE src_asset_id = 1")
    assert any("ix_cw_dependency_src_asset_id" in str(r) for r in plan), plan


def test_a_failed_import_keeps_the_indexes_and_the_earlier_rows(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deps = tmp_path / "deps.csv"
    deps.write_text(DEPS_HEADER + "srv1,srv2,22\nsrv2,srv3,443\nsrv3,srv4,80\n", encoding="utf-8")
    import_file(store, deps)
    before = _indexes(store)
    real = bulk._plain_indexes

    def and_a_missing_one(driver: object, table: str) -> list[tuple[str, str]]:
        # the real indexes are dropped first, then dropping this one fails
        return [*real(driver, table), ("ix_not_there", "CREATE INDEX ix_not_there ON t (x)")]

    monkeypatch.setattr(bulk, "_plain_indexes", and_a_missing_one)
    with pytest.raises(StoreError):
        import_file(store, deps)
    assert _indexes(store) == before
    assert store.rows("SELECT count(*) FROM cw_dependency") == [(3,)]
