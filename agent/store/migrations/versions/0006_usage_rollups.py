"""usage rollups: utilisation samples rolled up per hour and per day, for right-sizing

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 16:00:00.000000

``cw_usage_sample`` holds the raw samples of the hour being rolled up (and nothing older);
``cw_usage_rollup`` one row per asset, metric, period (hour or day) and start: the number of
samples, their p50, p95 and max. Retention bounds both (``sampling`` in the configuration).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("cw_usage_sample"):
        _create_samples()
    if not inspector.has_table("cw_usage_rollup"):
        _create_rollups()


def _create_samples() -> None:
    op.create_table(
        "cw_usage_sample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("cpu_pct", sa.Float(), nullable=True),
        sa.Column("mem_pct", sa.Float(), nullable=True),
        sa.Column("disk_pct", sa.Float(), nullable=True),
        sa.Column("net_in_bps", sa.Float(), nullable=True),
        sa.Column("net_out_bps", sa.Float(), nullable=True),
        sa.Column("net_in_octets", sa.BigInteger(), nullable=True),
        sa.Column("net_out_octets", sa.BigInteger(), nullable=True),
        sa.Column("counter_bits", sa.Integer(), nullable=False),
        sa.Column("interfaces", sa.Integer(), nullable=False),
        sa.Column("cpu_busy_ticks", sa.BigInteger(), nullable=True),
        sa.Column("cpu_total_ticks", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["asset_id"], ["cw_asset.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_usage_sample_asset_at", "cw_usage_sample", ["asset_id", "at"])


def _create_rollups() -> None:
    op.create_table(
        "cw_usage_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("p50", sa.Float(), nullable=False),
        sa.Column("p95", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["cw_asset.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("asset_id", "metric", "period", "start", name="uq_usage_rollup"),
    )
    op.create_index("ix_usage_rollup_period_start", "cw_usage_rollup", ["period", "start"])


def downgrade() -> None:
    op.drop_index("ix_usage_rollup_period_start", table_name="cw_usage_rollup")
    op.drop_table("cw_usage_rollup")
    op.drop_index("ix_usage_sample_asset_at", table_name="cw_usage_sample")
    op.drop_table("cw_usage_sample")
