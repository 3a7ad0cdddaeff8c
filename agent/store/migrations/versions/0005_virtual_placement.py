"""virtual placement: the system UUID of an asset, the guests a hypervisor reports

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:00:00.000000

``cw_asset`` gains ``system_uuid`` (the SMBIOS UUID, which a virtual machine shares with its
hypervisor's record of it); ``cw_guest`` holds the virtual machines each hypervisor reports.
``hosts`` links (hypervisor -> guest) live in ``cw_asset_link`` beside ``manages``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database made before migrations existed is stamped at 0001 and upgraded from there; if
    # a build that already had this column and table made it, they are kept.
    inspector = sa.inspect(op.get_bind())
    if "system_uuid" not in {c["name"] for c in inspector.get_columns("cw_asset")}:
        # Not in batch mode: rebuilding cw_asset would break the foreign keys that point to it.
        op.add_column("cw_asset", sa.Column("system_uuid", sa.String(length=64), nullable=True))
        op.create_index(op.f("ix_cw_asset_system_uuid"), "cw_asset", ["system_uuid"], unique=False)
    if not inspector.has_table("cw_guest"):
        _create_guests()


def _create_guests() -> None:
    op.create_table(
        "cw_guest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("uuid", sa.String(length=64), nullable=True),
        sa.Column("guest_os", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["asset_id"], ["cw_asset.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cw_guest", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cw_guest_asset_id"), ["asset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cw_guest_uuid"), ["uuid"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM cw_asset_link WHERE kind = 'hosts'")
    with op.batch_alter_table("cw_guest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cw_guest_uuid"))
        batch_op.drop_index(batch_op.f("ix_cw_guest_asset_id"))
    op.drop_table("cw_guest")
    op.drop_index(op.f("ix_cw_asset_system_uuid"), table_name="cw_asset")
    op.drop_column("cw_asset", "system_uuid")
