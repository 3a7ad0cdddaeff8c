"""Each asset field is declared once, in collectors.facts.ASSET_FIELDS; the store's copy and its
lists of tracked and volatile fields derive from it. These tests fail when a field is added in
one place only: to Facts but not the declaration, to the declaration but not the Asset model, to
the model but not a migration, or when the asset's API detail or a listing misses or misnames
one. Store tests run on SQLite and PostgreSQL (the `store` fixture is parametrised)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Float, Integer, String, TypeDecorator
from sqlalchemy import inspect as sa_inspect
from sqlmodel import SQLModel

from agent.cli.text import ASSET_FIELDS as CLI_ASSET_FIELDS
from agent.reports.exports import COLUMNS
from agent.store import Store
from agent.store import tables as m
from agent.store.database import TRACKED_FIELDS, _field_values
from agent.store.queries import ASSET_LIST_FIELDS, asset_detail
from collectors.facts import ASSET_FIELDS, Facts, Identity, Storage, Utilisation

# Values of Facts that are not asset fields, and where they go instead. A new value of Facts
# goes either into collectors.facts.ASSET_FIELDS or here.
NOT_ASSET_FIELDS = {
    "target": "names the poll, not the box (a new asset is named after it until a name is seen)",
    "protocol": "becomes the asset's sources and the owner of each field it sets",
    "address": "becomes the asset's mgmt_address, whichever protocol polled it",
    "identity": "its values are asset fields one by one (identity.*)",
    "identity.evidence": "merged into the asset's evidence, per field",
    "utilisation": "its values are asset fields one by one (utilisation.*)",
    "utilisation.load1": "shown by probe only",
    "utilisation.disk_pct": "shown by probe only",
    "interfaces": "child rows (cw_interface)",
    "addresses": "child rows (cw_address)",
    "software": "child rows (cw_software)",
    "hardware": "child rows (cw_hardware)",
    "storage": "child rows (cw_storage); the asset's disk_bytes is their total",
    "neighbors": "child rows (cw_neighbor)",
    "listening": "child rows (cw_listening)",
    "connections": "merged into cw_connection",
    "arp": "the endpoints' addresses: joined with sightings (collectors.snmp.edge.attach)",
    "sightings": "endpoints on switch ports: assets of class endpoint, not the switch's fields",
    "guests": "child rows (cw_guest) of the hypervisor, and its hosts links to their assets",
    "values_read": "kept on the poll run",
    "warnings": "kept on the poll run",
}
# Columns of Asset that the agent fills itself, not from a field of Facts.
AGENT_COLUMNS = {
    "id",
    "name",
    "mgmt_address",
    "site",
    "tags",
    "sources",
    "evidence",
    "planning",
    "exposures",
    "field_sources",
    "first_seen",
    "last_seen",
    "status",
    "replaced_by",
}
# Export columns that come from the plan rather than the asset.
PLAN_EXPORT_COLUMNS = {
    "support_status",
    "days_to_eos",
    "debt",
    "strategy",
    "move_group",
    "wave",
    "plan_id",
}
# Export columns derived from several asset columns or from links.
DERIVED_EXPORT_COLUMNS = {"hardware_date", "hardware_age_source", "hosted_on"}
HOW_TO_ADD = (
    "an asset field is declared in collectors.facts.ASSET_FIELDS, has a column in "
    "agent.store.tables.Asset and is added to the schema by a new migration in "
    "agent/store/migrations/versions"
)
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _asset_columns() -> dict[str, Any]:
    return {c.name: c for c in m.Asset.__table__.columns}  # type: ignore[attr-defined]


def _paths_of_facts() -> set[str]:
    """Every value a Facts holds: its fields, and the fields of its identity and utilisation."""
    paths = {f.name for f in dataclasses.fields(Facts)}
    for prefix, record in (("identity", Identity), ("utilisation", Utilisation)):
        paths |= {f"{prefix}.{f.name}" for f in dataclasses.fields(record)}
    return paths


def test_every_value_of_facts_is_an_asset_field_or_kept_elsewhere() -> None:
    sources = [f.source for f in ASSET_FIELDS]
    paths = _paths_of_facts()
    unplaced = sorted(paths - set(sources) - set(NOT_ASSET_FIELDS))
    assert not unplaced, (
        f"{', '.join(unplaced)} of Facts: not an asset field, nor listed as kept elsewhere. "
        f"Make it an asset field ({HOW_TO_ADD}), or add it to NOT_ASSET_FIELDS in this test "
        "saying where it goes"
    )
    stale = sorted(set(NOT_ASSET_FIELDS) - paths)
    assert not stale, f"NOT_ASSET_FIELDS lists {stale}, which Facts no longer has: remove them"
    both = sorted(set(sources) & set(NOT_ASSET_FIELDS))
    assert not both, f"{both}: both an asset field and in NOT_ASSET_FIELDS; keep one"


def test_the_declaration_reads_facts_and_names_each_field_once() -> None:
    names = [f.name for f in ASSET_FIELDS]
    assert len(set(names)) == len(names), f"collectors.facts.ASSET_FIELDS repeats a name: {names}"
    empty = Facts(target="t", protocol="snmp")  # no utilisation record: its fields read as None
    full = Facts(target="t", protocol="snmp", utilisation=Utilisation(cpu_pct=1.0, mem_pct=2.0))
    for field in ASSET_FIELDS:
        full_value = field.read(full)  # raises AttributeError for a source Facts lacks
        if field.source.startswith("utilisation."):
            assert field.read(empty) is None and full_value is not None, field
    # the store's fast reader (no path split per read) gives what each field reads
    for facts in (empty, full):
        assert _field_values(facts) == {f.name: f.read(facts) for f in ASSET_FIELDS}


def test_asset_model_has_a_column_for_each_field_and_no_unfilled_one() -> None:
    columns = set(_asset_columns())
    names = {f.name for f in ASSET_FIELDS}
    missing = sorted(names - columns)
    assert not missing, f"agent.store.tables.Asset has no column for {missing}: {HOW_TO_ADD}"
    unfilled = sorted(columns - names - AGENT_COLUMNS)
    assert not unfilled, (
        f"agent.store.tables.Asset has {unfilled}, which nothing fills: declare it in "
        "collectors.facts.ASSET_FIELDS, or add it to AGENT_COLUMNS here if the agent fills it"
    )
    clash = sorted(names & AGENT_COLUMNS)
    assert not clash, f"{clash}: both filled from Facts and by the agent; keep one"


def test_listings_name_only_asset_columns() -> None:
    columns = set(_asset_columns())
    exported = [
        c
        for c, _ in COLUMNS["assets"]
        if c not in PLAN_EXPORT_COLUMNS and c not in DERIVED_EXPORT_COLUMNS
    ]
    for where, names in (
        ("agent.cli.text.ASSET_FIELDS (cloudward assets --json)", CLI_ASSET_FIELDS),
        ("agent.store.queries.ASSET_LIST_FIELDS (GET /api/assets)", ASSET_LIST_FIELDS),
        ("agent.reports.exports.COLUMNS['assets']", exported),
    ):
        unknown = sorted(set(names) - columns)
        assert not unknown, f"{where} lists {unknown}, which are not columns of Asset"


def test_migrated_asset_table_is_the_model(store: Store) -> None:
    """`Store.open` ran every migration: the cw_asset table it built is the model's, column for
    column, type for type (a field added to the model without a migration fails here)."""

    def only_assets(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        return type_ != "table" or name == "cw_asset"

    with store.engine.connect() as conn:
        migrated = {c["name"] for c in sa_inspect(conn).get_columns("cw_asset")}
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": only_assets}
        )
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert not diff, (
        f"the migrated cw_asset table differs from agent.store.tables.Asset: {diff}. Add a "
        "migration in agent/store/migrations/versions (alembic revision --autogenerate), do not "
        "edit a released one"
    )
    assert migrated == set(_asset_columns())
    missing = sorted({f.name for f in ASSET_FIELDS} - migrated)
    assert not missing, f"no migration adds {missing} to cw_asset: {HOW_TO_ADD}"


def _values(variant: int) -> dict[str, Any]:
    """A distinct value for each asset field, of its column's type and within its length."""
    columns = _asset_columns()
    out: dict[str, Any] = {}
    for i, field in enumerate(ASSET_FIELDS):
        kind = columns[field.name].type
        kind = kind.impl if isinstance(kind, TypeDecorator) else kind  # SQLModel's AutoString
        if isinstance(kind, String):
            out[field.name] = f"v{variant}f{i}"[: kind.length or None]
        elif isinstance(kind, Integer):
            out[field.name] = 1000 * variant + i
        elif isinstance(kind, Float):
            out[field.name] = variant + i / 4
        else:
            raise AssertionError(f"teach _values a value of {kind!r} for {field.name}")
    return out


def _facts(values: dict[str, Any]) -> Facts:
    """Facts holding ``values`` where ASSET_FIELDS reads them. The protocol is `import`, whose
    identity key is the target, so changing every field still finds the same asset."""
    top: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {"identity": {}, "utilisation": {}}
    fact_fields = {f.name for f in dataclasses.fields(Facts)}
    for field in ASSET_FIELDS:
        head, _, attr = field.source.partition(".")
        if attr:
            nested[head][attr] = values[field.name]
        elif field.source == "disk_bytes":
            top["storage"] = (Storage("/dev/sda", "fixed", values[field.name]),)
        elif field.source in fact_fields:
            top[field.source] = values[field.name]
        else:
            raise AssertionError(f"teach _facts how to set {field.source} of Facts")
    return Facts(
        target="import:rack-7-slot-3",
        protocol="import",
        address="192.0.2.73",
        identity=Identity(**nested["identity"]),
        utilisation=Utilisation(**nested["utilisation"]),
        **top,
    )


def test_every_field_is_copied_tracked_and_shown(store: Store) -> None:
    first, second = _values(1), _values(2)
    asset_id = store.save_facts(_facts(first), now=T0)
    [asset] = store.list_assets()
    stored = {f.name: getattr(asset, f.name) for f in ASSET_FIELDS}
    assert stored == first, "the store did not copy every asset field from Facts"
    assert store.history(asset_id) == []

    assert store.save_facts(_facts(second), now=T0 + timedelta(hours=1)) == asset_id
    [asset] = store.list_assets()
    assert {f.name: getattr(asset, f.name) for f in ASSET_FIELDS} == second
    assert asset.field_sources == {f.name: "import" for f in ASSET_FIELDS}
    changed = {(h.field_name, h.old, h.new) for h in store.history(asset_id)}
    assert changed == {(f, str(first[f]), str(second[f])) for f in TRACKED_FIELDS}

    detail = asset_detail(store, asset_id)
    assert detail is not None
    missing = sorted(f.name for f in ASSET_FIELDS if f.name not in detail)
    assert not missing, f"agent.store.queries.asset_detail (GET /api/assets/ID) lacks {missing}"
    assert {f.name: detail[f.name] for f in ASSET_FIELDS} == second
