"""Schema migrations (Alembic): the migrated schema equals the models, on both backends, and a
database at the first released schema upgrades without losing rows."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel, select

from agent.store import Store
from agent.store import tables as m
from agent.store.database import FIRST_REVISION
from collectors.facts import Facts, Identity
from tests.first_release import (
    MERGED,
    SWITCH,
    UPGRADED_KEYS,
    keys_after_upgrade,
    write_first_release,
)


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
    write_first_release(old)
    old.close()
    new = Store.open(url)  # upgrades to head
    try:
        assets = {a.id: a for a in new.list_assets()}
        assert sorted(assets) == [SWITCH, MERGED] and assets[SWITCH].serial == "FOC0000001"
        assert {a.status for a in assets.values()} == {"active"}
        assert keys_after_upgrade(new) == UPGRADED_KEYS
        assert len(new.children(m.Interface, SWITCH)) == 1
        # the switch, polled at a new address after the upgrade, is still the same asset
        moved = Facts(
            target="snmp://192.0.2.8:161",
            protocol="snmp",
            address="192.0.2.8",
            sys_name="core-sw-1",
            identity=Identity(vendor="Cisco", device_class="switch", serial="FOC0000001"),
        )
        assert new.save_facts(moved, now=datetime(2026, 2, 1, tzinfo=UTC)) == SWITCH
    finally:
        new.close()


def test_identity_revision_downgrades_to_the_vendor_serial_keys(tmp_path: Any) -> None:
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store.open(url, create=False)
    try:
        store.create_schema(FIRST_REVISION)
        write_first_release(store)
        store.create_schema()
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(m.__file__).parent / "migrations"))
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        keys = keys_after_upgrade(store)
        assert keys["serial:cisco:FOC0000001"][0] == SWITCH
        assert keys["serial:hpe:CZJ6210A7K"][0] == MERGED
        assert not any(k.startswith(("at:", "serial:box:", "serial:bmc:")) for k in keys)
        store.create_schema()  # and up again
        assert keys_after_upgrade(store) == UPGRADED_KEYS
    finally:
        store.close()


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


def _plan_row(store: Store, body: str) -> None:
    """A plan as revision 0008 stored it: its body as text."""
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cw_plan (created_at, as_of, assets, waves, digest, summary, body) "
                "VALUES ('2026-09-01 00:00:00', '2026-09-01', 0, 0, '', '{}', :body)"
            ),
            {"body": body},
        )


def test_plan_bodies_stored_as_text_and_packed_read_alike(tmp_path: Any) -> None:
    """Revision 0009 packs new plans' bodies (body_zlib); a plan stored as text before it is
    read as it was, by the ORM and by the plain reader, and going back to 0008 unpacks them."""
    from alembic import command
    from alembic.config import Config

    from agent.bridge.plan_runs import plan_body

    old_doc = {"assets": [{"asset_id": "1", "name": "caf\u00e9"}], "waves": []}
    new_doc = {"assets": [{"asset_id": "2", "name": "web-01"}] * 500, "waves": [{"n": 1}]}
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    store = Store.open(url, create=False)
    try:
        store.create_schema("0008")
        _plan_row(store, json.dumps(old_doc))
        store.create_schema()  # 0009
        packed = json.dumps(new_doc).encode()
        with store.session() as s:
            s.add(
                m.PlanRow(
                    created_at=datetime(2026, 9, 2, tzinfo=UTC),
                    as_of="2026-09-02",
                    body="",
                    body_zlib=zlib.compress(packed, 1),
                )
            )
            s.commit()
        for read in (lambda i: plan_body(store, i), lambda i: store.plan_body(i)):
            first, second = read(1), read(2)
            assert first is not None and second is not None
            assert first["assets"] == old_doc["assets"] and second["waves"] == [{"n": 1}]
            assert len(second["assets"]) == 500
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(m.__file__).parent / "migrations"))
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0008")
        with store.engine.connect() as conn:
            bodies = dict(conn.execute(text("SELECT id, body FROM cw_plan")).all())
        assert json.loads(bodies[1]) == old_doc and json.loads(bodies[2]) == new_doc
    finally:
        store.close()


def test_a_packed_body_that_does_not_unpack_is_named(tmp_path: Any) -> None:
    import pytest

    from agent.store import jsontext

    assert jsontext.plan_text("{}", None) == "{}"
    assert jsontext.loads(jsontext.plan_text("", jsontext.packed(b'{"a":1}'))) == {"a": 1}
    with pytest.raises(ValueError, match="body_zlib"):
        jsontext.plan_text("", b"not zlib at all")


def _alembic(store: Store, step: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(m.__file__).parent / "migrations"))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, step)(cfg, revision)


def test_plan_details_move_to_their_own_table_and_back(store: Store) -> None:
    """Revision 0010 keeps each distinct per-asset plan detail once (cw_plan_detail): rows
    stored under 0009 with their detail inline are moved over (equal details shared, read by
    the API's readers as before), a plan saved afterwards reuses them, and going back to 0009
    puts every row's own detail back."""
    from agent.store.queries import plan_detail

    for serial in ("FOC1", "FOC2", "FOC3"):
        store.save_facts(
            Facts(
                target=f"snmp://{serial}",
                protocol="snmp",
                address="192.0.2.1",
                sys_name=serial.lower(),
                identity=Identity(vendor="Cisco", device_class="switch", serial=serial),
            )
        )
    assets = sorted(a.id for a in store.list_assets() if a.id is not None)
    _alembic(store, "downgrade", "0009")
    _plan_row(store, "{}")
    shared = {"factors": [{"name": "os_support", "points": 25.0}], "hub": False}
    own = {"factors": [], "hub": True, "strategy_reasons": ["caf\u00e9"]}
    inline = dict(zip(assets, (shared, shared, own), strict=True))
    value = "CAST(:d AS JSON)" if store.engine.dialect.name == "postgresql" else ":d"
    with store.engine.begin() as conn:
        plan_id = conn.execute(text("SELECT max(id) FROM cw_plan")).scalar_one()
        for asset_id, detail in inline.items():
            conn.execute(
                text(
                    "INSERT INTO cw_asset_plan (plan_id, asset_id, support_status, detail) "
                    f"VALUES (:p, :a, 'eol', {value})"
                ),
                {"p": plan_id, "a": asset_id, "d": json.dumps(detail)},
            )
    _alembic(store, "upgrade", "head")
    with store.session() as s:
        rows = {r.asset_id: r for r in s.exec(select(m.AssetPlan)).all()}
        assert {a: plan_detail(s, r.detail_id) for a, r in rows.items()} == inline
        assert rows[assets[0]].detail_id == rows[assets[1]].detail_id != rows[assets[2]].detail_id
        assert len(s.exec(select(m.PlanDetail)).all()) == 2
    with store.engine.begin() as conn:  # a new detail gets an id of its own (the sequence)
        conn.execute(text("INSERT INTO cw_plan_detail (digest, detail) VALUES ('n', '{}')"))
        assert conn.execute(text("SELECT count(DISTINCT id) FROM cw_plan_detail")).scalar() == 3
    _alembic(store, "downgrade", "0009")
    with store.engine.connect() as conn:
        back = dict(conn.execute(text("SELECT asset_id, detail FROM cw_asset_plan")).all())
    assert {a: json.loads(d) if isinstance(d, str) else d for a, d in back.items()} == inline
    _alembic(store, "upgrade", "head")


def test_packed_plan_details_go_back_to_text(store: Store) -> None:
    """Revision 0012 keeps a new detail packed (detail_zlib); going back to 0011 gives every
    packed detail its text back, which the readers and a later plan then use as stored."""
    from agent.bridge.plan_runs import compute_plan, save_plan
    from agent.inventory.estate_import import import_estate
    from agent.store.queries import plan_detail

    council = Path(__file__).resolve().parents[1] / "data" / "estate" / "council.json"
    import_estate(store, council.read_text(), "json", council.name)
    plan_id = save_plan(store, compute_plan(store, datetime(2026, 11, 1).date()))
    with store.session() as s:
        rows = s.exec(select(m.AssetPlan).where(m.AssetPlan.plan_id == plan_id)).all()
        before = {r.asset_id: plan_detail(s, r.detail_id) for r in rows}
    assert len(before) == 36 and all(d and d["factors"] for d in before.values())
    _alembic(store, "downgrade", "0011")
    with store.engine.connect() as conn:
        texts = dict(conn.execute(text("SELECT id, detail FROM cw_plan_detail")).all())
        by_asset = dict(conn.execute(text("SELECT asset_id, detail_id FROM cw_asset_plan")).all())
    assert {a: json.loads(texts[d]) for a, d in by_asset.items()} == before
    _alembic(store, "upgrade", "head")
    with store.session() as s:
        assert {a: plan_detail(s, d) for a, d in by_asset.items()} == before
        assert all(d.detail_zlib is None for d in s.exec(select(m.PlanDetail)).all())
