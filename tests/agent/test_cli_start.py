"""The read-only commands start without what they do not use: no Alembic when the store needs
no migration, no ORM and no configuration models for ``assets``; and a store at an older
revision is still migrated, one at a newer revision or a file that is no database still
refused, as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from agent.cli import cli
from agent.cli.base import DEFAULT_DATABASE, DefaultSettings
from agent.cli.text import ASSET_FIELDS
from agent.configuration.config_file import Settings
from agent.store import Store
from agent.store.database import FIRST_REVISION, HEAD_REVISION
from tests.agent.observed import client_and_server

ROOT = Path(__file__).resolve().parents[2]
COUNCIL = ROOT / "tests" / "data" / "estate" / "council.json"


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--database", f"sqlite:///{db}"])


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small store: the council estate (36 assets), imported and planned."""
    db = tmp_path_factory.mktemp("start") / "cw.db"
    for args in (("import", str(COUNCIL)), ("plan", "--today", "2026-11-01")):
        r = run(db, *args)
        assert r.exit_code == 0, r.output
    return db


def test_the_default_database_is_the_configuration_default() -> None:
    assert Settings().database == DEFAULT_DATABASE
    assert DefaultSettings().log_level == Settings().log_level  # the rest comes from Settings


def loaded(db: Path, *args: str, cwd: Path) -> set[str]:
    """The top-level packages (and agent.* modules) imported by one command in a fresh
    interpreter, which must succeed."""
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['cloudward', *{list(args)!r}, '--database', 'sqlite:///{db}']\n"
        "try:\n    runpy.run_module('agent', run_name='__main__')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('MODULES', ' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    line = out.stdout.rsplit("MODULES ", 1)[1]
    return {n if n.startswith("agent.") else n.split(".")[0] for n in line.split()}


def test_assets_imports_neither_orm_nor_migrations_nor_settings(
    planned: Path, tmp_path: Path
) -> None:
    mods = loaded(planned, "assets", "--json", cwd=tmp_path)
    heavy = {"sqlalchemy", "sqlmodel", "alembic", "pydantic", "agent.store.tables"}
    assert mods & heavy == set()
    assert "sqlite3" in mods


@pytest.mark.parametrize("args", [("debt",), ("waves",), ("hubs",), ("lifecycle", "gaps")])
def test_read_only_commands_skip_migrations_on_a_current_store(
    planned: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    mods = loaded(planned, *args, cwd=tmp_path)
    assert "alembic" not in mods and "agent.cli.plan_commands" in mods


@pytest.mark.parametrize("args", [("hubs",), ("lifecycle", "gaps", "--json")])
def test_hubs_and_gaps_read_an_imported_estate_without_the_orm(
    planned: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """An imported estate has no observed connections: nothing to rebuild, the estate read
    with the driver itself, only the settings sections the command uses checked."""
    mods = loaded(planned, *args, cwd=tmp_path)
    heavy = {"sqlalchemy", "sqlmodel", "alembic", "agent.store.tables", "agent.bridge.plan_runs"}
    assert mods & heavy == set()
    assert "igraph" not in mods  # no partitioning here
    assert "agent.bridge.estate_reader" in mods


def test_hubs_rebuilds_a_scanned_stores_dependencies_without_the_orm(tmp_path: Path) -> None:
    """Observed connections are turned into edges with the database driver itself."""
    db = tmp_path / "scanned.db"
    store = Store.open(f"sqlite:///{db}")
    try:
        client_and_server(store, server_saw_it=False)
    finally:
        store.close()
    mods = loaded(db, "hubs", "--json", cwd=tmp_path)
    assert mods & {"sqlalchemy", "sqlmodel", "alembic", "agent.store.tables"} == set()
    reader = Store.open(f"sqlite:///{db}")
    try:
        edges = reader.rows("SELECT src_key, dst_key, port, process, origin FROM cw_dependency")
        ids = dict(reader.rows("SELECT name, id FROM cw_asset"))
    finally:
        reader.close()
    assert edges == [(f"asset:{ids['h30']}", f"asset:{ids['h40']}", 5432, "postgres", "observed")]


def test_hubs_and_gaps_say_what_a_full_read_says(planned: Path) -> None:
    """The same hubs and gaps as the estate and settings read through the ORM and whole."""
    import planner
    from agent.bridge.plan_runs import estate_from_store, load_lifecycle, load_planner_settings

    hubs = json.loads(run(planned, "hubs", "--json").output)
    gaps = json.loads(run(planned, "lifecycle", "gaps", "--json", "--today", "2026-11-01").output)
    store = Store.open(f"sqlite:///{planned}")
    try:
        store.engine  # noqa: B018 - built: every read below goes through SQLAlchemy's pool
        estate = estate_from_store(store)
        facts = load_lifecycle(store)
    finally:
        store.close()
    rules = load_planner_settings()
    found = planner.detect_hubs(planner.index_estate(estate), rules.hubs)
    assert [h["asset_id"] for h in hubs["hubs"]] == [h.asset_id for h in found.hubs]
    assert len(hubs["hubs"]) >= 1
    day = date(2026, 11, 1)
    support = planner.assess_support(estate, facts, rules.matching, day, rules.hardware)
    want = planner.lifecycle_gaps(estate, support, rules.matching)
    assert [(g["kind"], g["subject"], g["assets"]) for g in gaps["gaps"]] == [
        (g.kind, g.subject, g.assets) for g in want
    ]
    assert gaps["gaps"]


def test_assets_lists_what_the_store_holds(planned: Path) -> None:
    r = run(planned, "assets", "--json")
    assert r.exit_code == 0, r.output
    listed = json.loads(r.output)
    store = Store.open(f"sqlite:///{planned}")
    try:
        orm = store.list_assets("active")
    finally:
        store.close()
    want = [{f: getattr(a, f) for f in ASSET_FIELDS} for a in orm]
    assert listed == json.loads(json.dumps(want, default=str)) and len(listed) == 36
    table = run(planned, "assets").output.splitlines()
    assert table[0].startswith("ID    NAME") and table[-1] == "36 assets"
    assert [line.split()[1] for line in table[1:-1]] == [a.name for a in orm]


def test_a_store_at_an_older_revision_is_migrated_by_a_read(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    old = Store.open(f"sqlite:///{db}", create=False)
    old.create_schema(FIRST_REVISION)
    old.close()
    r = run(db, "assets")
    assert r.exit_code == 0 and "no assets stored yet" in r.output, r.output
    store = Store.open(f"sqlite:///{db}", create=False)
    try:
        assert store.schema_revision() == HEAD_REVISION
    finally:
        store.close()


def test_a_store_at_a_newer_revision_says_to_upgrade(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    s = Store.open(f"sqlite:///{db}")
    with s.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    s.close()
    for args in (("assets",), ("debt",)):
        r = run(db, *args)
        assert r.exit_code == 1 and "upgrade cloudward first" in r.output, r.output


def test_a_file_that_is_no_database_says_what_to_do(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    db.write_text("not a database\n" * 100)
    r = run(db, "assets")
    assert r.exit_code == 1 and "cannot be opened" in r.output and "--database" in r.output
