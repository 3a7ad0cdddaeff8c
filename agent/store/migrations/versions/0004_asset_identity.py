"""asset identity: replaced assets, manages links, serial keys per class family, target keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 10:00:00.000000

``cw_asset`` gains ``status`` (active | replaced) and ``replaced_by``; ``cw_asset_link`` holds
links between assets (``manages``: a management controller -> its server). Serial keys were
``serial:<vendor>:<SERIAL>``, which made a controller and its server (same serial, same vendor)
one asset; they become ``serial:bmc:<SERIAL>`` or ``serial:box:<SERIAL>`` by the asset's class.
Each poll target gets the key ``at:<target>`` of the asset its newest good poll run saved to, so
that a box replaced at a known target is recognised from the first poll after the upgrade.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Weight of each kind of key (agent.store.identity.WEIGHTS when this revision was made).
_WEIGHTS = {
    "serial": 100,
    "mac": 100,
    "import": 100,
    "host": 50,
    "addrs": 50,
    "at": 25,
    "engine": 15,
}


def upgrade() -> None:
    # A database made before migrations existed is stamped at 0001 and upgraded from there; if
    # a build that already had these columns and this table made it, they are kept.
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("cw_asset")}
    if "status" not in columns:
        op.add_column(
            "cw_asset",
            sa.Column("status", sa.String(length=16), nullable=False, server_default="active"),
        )
    if "replaced_by" not in columns:
        op.add_column("cw_asset", sa.Column("replaced_by", sa.Integer(), nullable=True))
    if not inspector.has_table("cw_asset_link"):
        _create_links()
    conn = op.get_bind()
    _split_serial_keys(conn)
    _add_target_keys(conn)
    for kind, weight in _WEIGHTS.items():
        conn.execute(
            sa.text("UPDATE cw_asset_key SET strength = :w WHERE key LIKE :p"),
            {"w": weight, "p": f"{kind}:%"},
        )


def _create_links() -> None:
    op.create_table(
        "cw_asset_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("src_asset_id", sa.Integer(), nullable=False),
        sa.Column("dst_asset_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.String(length=255), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["src_asset_id"], ["cw_asset.id"]),
        sa.ForeignKeyConstraint(["dst_asset_id"], ["cw_asset.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("src_asset_id", "dst_asset_id", "kind", name="uq_asset_link"),
    )
    with op.batch_alter_table("cw_asset_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cw_asset_link_src_asset_id"), ["src_asset_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cw_asset_link_dst_asset_id"), ["dst_asset_id"], unique=False
        )


def _split_serial_keys(conn: Any) -> None:
    rows = conn.execute(
        sa.text(
            "SELECT k.key, a.device_class FROM cw_asset_key k "
            "JOIN cw_asset a ON a.id = k.asset_id WHERE k.key LIKE 'serial:%' ORDER BY k.last_seen"
        )
    ).all()
    taken = {r[0] for r in rows}
    for old, device_class in rows:
        parts = old.split(":", 2)
        if len(parts) != 3 or parts[1] in ("bmc", "box"):
            continue
        family = "bmc" if device_class == "bmc" else "box"
        new = f"serial:{family}:{parts[2]}"
        if new in taken:  # the same serial under two vendors: the newest keeps it
            conn.execute(sa.text("DELETE FROM cw_asset_key WHERE key = :new"), {"new": new})
        conn.execute(
            sa.text("UPDATE cw_asset_key SET key = :new WHERE key = :old"), {"new": new, "old": old}
        )
        taken.add(new)


def _add_target_keys(conn: Any) -> None:
    newest: dict[str, tuple[int, str, Any]] = {}
    for target, asset_id, protocol, at in conn.execute(
        sa.text(
            "SELECT target, asset_id, protocol, coalesce(finished_at, started_at) FROM cw_poll_run "
            "WHERE status = 'ok' AND asset_id IS NOT NULL AND protocol <> 'import' ORDER BY id"
        )
    ).all():
        newest[target] = (asset_id, protocol, at)
    exists = {
        r[0] for r in conn.execute(sa.text("SELECT key FROM cw_asset_key WHERE key LIKE 'at:%'"))
    }
    for target, (asset_id, protocol, at) in newest.items():
        key = f"at:{target}"[:400]
        if key in exists:
            continue
        conn.execute(
            sa.text(
                "INSERT INTO cw_asset_key (key, asset_id, strength, source, last_seen) "
                "VALUES (:key, :asset_id, :strength, :source, :at)"
            ),
            {
                "key": key,
                "asset_id": asset_id,
                "strength": _WEIGHTS["at"],
                "source": protocol[:16],
                "at": at,
            },
        )


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM cw_asset_key WHERE key LIKE 'at:%'"))
    rows = conn.execute(
        sa.text(
            "SELECT k.key, a.vendor FROM cw_asset_key k JOIN cw_asset a ON a.id = k.asset_id "
            "WHERE k.key LIKE 'serial:bmc:%' OR k.key LIKE 'serial:box:%' ORDER BY k.last_seen"
        )
    ).all()
    taken = {r[0] for r in rows}
    for new, vendor in rows:
        old = f"serial:{(vendor or 'unknown').lower()}:{new.split(':', 2)[2]}"
        if old in taken:
            conn.execute(sa.text("DELETE FROM cw_asset_key WHERE key = :old"), {"old": old})
        conn.execute(
            sa.text("UPDATE cw_asset_key SET key = :old WHERE key = :new"), {"new": new, "old": old}
        )
        taken.add(old)
    with op.batch_alter_table("cw_asset_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cw_asset_link_dst_asset_id"))
        batch_op.drop_index(batch_op.f("ix_cw_asset_link_src_asset_id"))
    op.drop_table("cw_asset_link")
    # Not in batch mode: rebuilding cw_asset would break the foreign keys that point to it
    # (SQLite has dropped columns in place since 3.35).
    op.drop_column("cw_asset", "replaced_by")
    op.drop_column("cw_asset", "status")
