"""endpoint sightings: where each endpoint sits (switch, port, VLAN) and the ARP tables

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 18:00:00.000000

``cw_endpoint_port`` holds where an endpoint (an asset of class ``endpoint``, or any asset
whose MAC a switch learnt on an edge port) was seen: switch asset, port, VLAN, the address an
ARP/ND table gave it, first and last seen. ``cw_arp`` holds routers' and layer-3 switches' ARP
and neighbour entries. ``connects`` links (switch -> endpoint) live in ``cw_asset_link``, and
an endpoint no switch has seen for ``discovery.endpoint_max_age_days`` gets the status ``gone``
(both fit the existing columns).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # If a build that already had these tables made them, they are kept.
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("cw_endpoint_port"):
        _create_endpoint_ports()
    if not inspector.has_table("cw_arp"):
        _create_arp()


def _create_endpoint_ports() -> None:
    op.create_table(
        "cw_endpoint_port",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("switch_asset_id", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=32), nullable=False),
        sa.Column("port", sa.String(length=255), nullable=False),
        sa.Column("if_index", sa.Integer(), nullable=True),
        sa.Column("vlan", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["cw_asset.id"]),
        sa.ForeignKeyConstraint(["switch_asset_id"], ["cw_asset.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cw_endpoint_port", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cw_endpoint_port_asset_id"), ["asset_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cw_endpoint_port_switch_asset_id"), ["switch_asset_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cw_endpoint_port_mac"), ["mac"], unique=False)


def _create_arp() -> None:
    op.create_table(
        "cw_arp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("mac", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("family", sa.String(length=8), nullable=False),
        sa.Column("if_name", sa.String(length=255), nullable=True),
        sa.Column("static", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["cw_asset.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cw_arp", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cw_arp_asset_id"), ["asset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cw_arp_mac"), ["mac"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM cw_asset_link WHERE kind = 'connects'")
    op.execute("UPDATE cw_asset SET status = 'active' WHERE status = 'gone'")
    with op.batch_alter_table("cw_arp", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cw_arp_mac"))
        batch_op.drop_index(batch_op.f("ix_cw_arp_asset_id"))
    op.drop_table("cw_arp")
    with op.batch_alter_table("cw_endpoint_port", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cw_endpoint_port_mac"))
        batch_op.drop_index(batch_op.f("ix_cw_endpoint_port_switch_asset_id"))
        batch_op.drop_index(batch_op.f("ix_cw_endpoint_port_asset_id"))
    op.drop_table("cw_endpoint_port")
