"""Schema migrations (Alembic): the migrated schema equals the models, on both backends, and a
database at the first released schema upgrades without losing rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from agent.store import Store
from agent.store import tables as m
from agent.store.database import FIRST_REVISION
from collectors.facts import Facts, Identity


def test_migrations_build_exactly_the_models(store: Store) -> None:
    """Store.open ran the migrations; autogenerate finds nothing left to change."""
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == [], diff
    assert store.schema_revision() is not None


def test_first_released_schema_upgrades_keeping_data(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store.open(url, create=False)
    old.create_schema(FIRST_REVISION)
    facts = Facts(
        target="snmp://192.0.2.1:161",
        protocol="snmp",
        address="192.0.2.1",
        sys_name="sw1",
        identity=Identity(vendor="Cisco", device_class="switch", serial="FOC12345678"),
    )
    asset_id = old.save_facts(facts, now=datetime(2026, 1, 1, tzinfo=UTC))
    old.close()
    new = Store.open(url)  # upgrades to head
    try:
        [asset] = new.list_assets()
        assert asset.id == asset_id and asset.serial == "FOC12345678"
        assert new.count(m.AssetKey) >= 1
    finally:
        new.close()


def test_database_created_before_migrations_is_adopted(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    legacy = Store.open(url, create=False)
    SQLModel.metadata.create_all(legacy.engine)  # tables, no alembic version
    legacy.close()
    adopted = Store.open(url)
    try:
        assert adopted.schema_revision() is not None
    finally:
        adopted.close()


def test_newer_database_is_refused(tmp_path: Any) -> None:
    import pytest

    from agent.errors import StoreError

    url = f"sqlite:///{tmp_path / 'future.db'}"
    s = Store.open(url)
    with s.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    s.close()
    with pytest.raises(StoreError, match="newer"):
        Store.open(url)
