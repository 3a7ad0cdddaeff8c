"""poll leases: the shared poll schedule of several agents on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database made before migrations existed is stamped at 0001 and upgraded from there;
    # if it was made by a build that already had this table, there is nothing to add.
    if sa.inspect(op.get_bind()).has_table("cw_poll_lease"):
        return
    op.create_table(
        "cw_poll_lease",
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("protocol", sa.String(length=8), nullable=False),
        sa.Column("site", sa.String(length=128), nullable=True),
        sa.Column("interval_s", sa.Float(), nullable=False),
        sa.Column("next_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("leased_by", sa.String(length=128), nullable=True),
        sa.Column("leased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_mark", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=True),
        sa.Column("last_agent", sa.String(length=128), nullable=True),
        sa.Column("configured_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("target"),
    )
    with op.batch_alter_table("cw_poll_lease", schema=None) as batch_op:
        batch_op.create_index("ix_poll_lease_due", ["next_due"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cw_poll_lease", schema=None) as batch_op:
        batch_op.drop_index("ix_poll_lease_due")

    op.drop_table("cw_poll_lease")
