"""``cloudward export``: CSV, JSON, XLSX and GraphML of assets, waves and dependencies."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner

from agent.cli import cli
from agent.reports.exports import COLUMNS, TABLES, csv_safe
from agent.store import Store
from agent.store import tables as m
from tests.peers import need
from tests.web.estate import FORMULA, XSS_NAME, council_store

SECRET_LIKE = re.compile(r"pass|secret|token|communit|credential|key|auth|priv|cookie", re.I)


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, str, int]]:
    path = tmp_path_factory.mktemp("export") / "cw.db"
    store, hostile = council_store(path)
    yield store, f"sqlite:///{path}", hostile
    store.close()


def run(url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["export", "--database", url, *args])


def counts(store: Store) -> dict[str, int]:
    return {
        "assets": store.count(m.Asset),
        "waves": len(store.plan_waves()),
        "dependencies": store.count(m.DependencyRow),
    }


def test_no_column_looks_like_a_secret() -> None:
    assert set(COLUMNS) == set(TABLES)
    for table, cols in COLUMNS.items():
        names = [n for n, _ in cols]
        assert len(names) == len(set(names)), table
        assert not [n for n in names if SECRET_LIKE.search(n)], table


def test_help_documents_every_column() -> None:
    done = CliRunner().invoke(cli, ["export", "--help"])
    assert done.exit_code == 0
    for cols in COLUMNS.values():
        for name, _ in cols:
            assert re.search(rf"^\s+{name}\s", done.output, re.M), name


def test_csv_one_table(planned: Any, tmp_path: Path) -> None:
    store, url, hostile = planned
    out = tmp_path / "assets.csv"
    done = run(url, "--format", "csv", "--what", "assets", "--out", str(out))
    assert done.exit_code == 0, done.output
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [n for n, _ in COLUMNS["assets"]]
    assert len(rows) == store.count(m.Asset)
    [row] = [r for r in rows if r["id"] == str(hostile)]
    assert row["name"] == XSS_NAME  # CSV is not HTML: the text as the device gave it
    assert row["sys_location"] == "'" + FORMULA  # never a live formula in a spreadsheet
    assert row["support_status"] == "eol" and row["wave"] != "" and row["plan_id"] == "1"


def test_csv_all_tables_to_a_folder_or_zip(planned: Any, tmp_path: Path) -> None:
    store, url, _ = planned
    expected = counts(store)
    folder = tmp_path / "out"
    assert run(url, "--format", "csv", "--out", str(folder)).exit_code == 0
    for table in TABLES:
        with (folder / f"{table}.csv").open(newline="", encoding="utf-8") as f:
            assert len(list(csv.DictReader(f))) == expected[table], table
    archive = tmp_path / "all.zip"
    assert run(url, "--format", "csv", "--out", str(archive)).exit_code == 0
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == sorted(f"{t}.csv" for t in TABLES)
        deps = list(csv.DictReader(z.read("dependencies.csv").decode().splitlines()))
    assert len(deps) == expected["dependencies"] > 0
    assert all(d["client"] or d["client_address"] for d in deps)
    bad = run(url, "--format", "csv", "--out", str(tmp_path / "all.csv"))
    assert bad.exit_code == 2 and "several tables go to a folder or a .zip" in bad.output


def test_json(planned: Any, tmp_path: Path) -> None:
    store, url, _ = planned
    out = tmp_path / "all.json"
    assert run(url, "--format", "json", "--out", str(out)).exit_code == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["plan_id"] == 1 and set(doc["columns"]) == set(TABLES)
    assert {t: len(doc[t]) for t in TABLES} == counts(store)
    waves = store.plan_waves()
    assert [w["number"] for w in doc["waves"]] == [w.number for w in waves]
    assert [w["start"] for w in doc["waves"]] == [w.start for w in waves]
    assert all(len(w["group_ids"]) == w["groups"] for w in doc["waves"])
    assert all(isinstance(a["tags"], list) for a in doc["assets"])
    assert not [k for row in doc["assets"] for k in row if SECRET_LIKE.search(k)]


def test_xlsx(planned: Any, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    store, url, hostile = planned
    out = tmp_path / "all.xlsx"
    done = run(url, "--format", "xlsx", "--out", str(out))
    assert done.exit_code == 0, done.output
    book = load_workbook(out)
    assert book.sheetnames == list(TABLES)
    for table, n in counts(store).items():
        sheet = book[table]
        header = [c.value for c in sheet[1]]
        assert header == [name for name, _ in COLUMNS[table]]
        assert sheet.max_row == n + 1, table
    sheet = book["assets"]
    col = {c.value: i for i, c in enumerate(sheet[1])}
    [row] = [r for r in sheet.iter_rows(min_row=2) if r[col["id"]].value == hostile]
    location = row[col["sys_location"]]
    assert location.value == FORMULA and location.data_type == "s"  # text, not a formula
    assert row[col["model"]].value == "VirtualBox <i>"  # the control character is dropped
    assert row[col["name"]].value == XSS_NAME


XLSX_NUMBERS = {
    "assets": ("id", "days_to_eos", "debt", "wave", "plan_id"),
    "waves": (
        "plan_id",
        "number",
        "assets",
        "groups",
        "debt_retired",
        "risk",
        "effort_days",
        "onprem_annual",
        "cloud_annual",
        "cost_delta",
        "kwh_delta",
        "kgco2e_delta",
    ),
    "dependencies": ("id", "client_id", "server_id", "port", "count"),
}
XLSX_DATES = {
    "assets": ("first_seen", "last_seen"),
    "waves": ("start", "end"),
    "dependencies": ("first_seen", "last_seen"),
}


def test_xlsx_numbers_are_numbers(planned: Any, tmp_path: Path) -> None:
    """Read back with openpyxl: number columns hold numbers (never text), days and times are
    the spreadsheet's dates, and a missing value is an empty cell rather than empty text."""
    from datetime import datetime

    from openpyxl import load_workbook

    _, url, _ = planned
    out = tmp_path / "typed.xlsx"
    assert run(url, "--format", "xlsx", "--out", str(out)).exit_code == 0
    book = load_workbook(out)
    for table in TABLES:
        sheet = book[table]
        names = [c.value for c in sheet[1]]
        cells = {n: [row[i] for row in sheet.iter_rows(min_row=2)] for i, n in enumerate(names)}
        for name in XLSX_NUMBERS[table]:
            filled = [c for c in cells[name] if c.value is not None]
            assert filled, (table, name)  # the estate gives every number column a value
            assert all(c.data_type == "n" for c in filled), (table, name)
            assert all(isinstance(c.value, int | float) for c in filled), (table, name)
        for name in XLSX_DATES[table]:
            assert all(c.data_type == "d" for c in cells[name]), (table, name)
            assert all(isinstance(c.value, datetime) for c in cells[name]), (table, name)
        for column in cells.values():  # blanks are empty cells, text is text
            for c in column:
                assert c.value != "" and (c.data_type != "s" or isinstance(c.value, str))
    waves = book["waves"]
    total = sum(r[0].value for r in waves.iter_rows(min_row=2, min_col=7, max_col=7))
    assert total == sum(w.assets for w in planned[0].plan_waves())
    assets = book["assets"]
    col = {c.value: i for i, c in enumerate(assets[1])}
    unknown = [r for r in assets.iter_rows(min_row=2) if r[col["days_to_eos"]].value is None]
    assert unknown and all(r[col["days_to_eos"]].data_type == "n" for r in unknown)


def test_graphml(planned: Any, tmp_path: Path) -> None:
    store, url, _ = planned
    out = tmp_path / "estate.graphml"
    done = run(url, "--format", "graphml", "--out", str(out))
    assert done.exit_code == 0 and "the asset graph" in done.output
    g = nx.read_graphml(out)
    assets = [n for n, d in g.nodes(data=True) if d.get("type") == "asset"]
    assert len(assets) == store.count(m.Asset)
    assert any(d.get("type") == "depends-on" for _, _, d in g.edges(data=True))


def test_bad_requests_are_clear(planned: Any, tmp_path: Path) -> None:
    _, url, _ = planned
    missing = run(url, "--format", "json", "--plan", "99", "--out", str(tmp_path / "x.json"))
    assert missing.exit_code == 1 and "no plan 99 in the store" in missing.output
    nowhere = run(url, "--format", "json", "--out", str(tmp_path / "no" / "dir" / "x.json"))
    assert nowhere.exit_code == 2 and "does not exist" in nowhere.output
    assert run(url, "--format", "pdf", "--out", str(tmp_path / "x")).exit_code == 2


def test_formula_guard() -> None:
    assert [csv_safe(v) for v in ("=1+1", "+44 20", "-x", "@SUM(A1)", "plain", -3.5, None)] == [
        "'=1+1",
        "'+44 20",
        "'-x",
        "'@SUM(A1)",
        "plain",
        -3.5,
        "",
    ]


@pytest.mark.peer
@pytest.mark.slow
def test_export_of_a_scanned_estate(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.snmpsim import responder_binary
    from tests.web.estate import scanned_estate

    need(responder_binary() is not None, "snmpsim is not installed (pip install snmpsim)")
    scanned = scanned_estate(tmp_path_factory.mktemp("scanned-estate"))
    out = tmp_path_factory.mktemp("exports") / "estate.json"
    done = run(scanned.database, "--format", "json", "--out", str(out))
    assert done.exit_code == 0, done.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    store = Store.open(scanned.database, create=False)
    try:
        assert {t: len(doc[t]) for t in TABLES} == counts(store)
    finally:
        store.close()
    names = {a["name"] for a in doc["assets"]}
    assert XSS_NAME in names and "th-core-sw01" in names
    assert doc["dependencies"] and doc["waves"]
