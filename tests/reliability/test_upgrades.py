"""Store upgrades from the first released schema, on PostgreSQL (tests/agent/test_migrations.py
does SQLite and checks the migrated schema equals the models on both backends): a database at
the first revision holding data is upgraded in place by the first command that opens it, and
keeps every row."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from agent.store import Store
from agent.store import tables as m
from agent.store.database import FIRST_REVISION
from tests.first_release import (
    MERGED,
    SWITCH,
    UPGRADED_KEYS,
    keys_after_upgrade,
    write_first_release,
)

pytestmark = pytest.mark.peer


@pytest.fixture()
def pg_schema(pg_url: str) -> Iterator[str]:
    """A URL whose tables live in a fresh schema of the shared test database."""
    import psycopg

    schema = f"cwupg_{uuid.uuid4().hex[:12]}"
    plain = pg_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{pg_url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_first_released_schema_on_postgresql_upgrades_keeping_data(pg_schema: str) -> None:
    old = Store.open(pg_schema, create=False)
    try:
        old.create_schema(FIRST_REVISION)
        write_first_release(old)
        assert old.schema_revision() == FIRST_REVISION
    finally:
        old.close()

    # The first command that opens it upgrades it (here: `cloudward assets`).
    done = subprocess.run(
        ["cloudward", "assets", "--database", pg_schema, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert '"core-sw-1"' in done.stdout

    new = Store.open(pg_schema, create=False)
    try:
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(m.__file__).parent / "migrations"))
        assert new.schema_revision() == ScriptDirectory.from_config(cfg).get_current_head()
        assets = {a.id: a for a in new.list_assets()}
        assert sorted(assets) == [SWITCH, MERGED] and assets[SWITCH].serial == "FOC0000001"
        assert {a.status for a in assets.values()} == {"active"}
        assert keys_after_upgrade(new) == UPGRADED_KEYS
        assert len(new.children(m.Interface, SWITCH)) == 1
        assert len(new.children(m.SoftwareRow, SWITCH)) == 1
        assert sorted(r.status for r in new.poll_runs()) == ["failed", "ok", "ok"]
    finally:
        new.close()
