"""asset status index: the asset list counts its rows from an index, not the table

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 20:00:00.000000

The asset list counts the assets it pages through, active ones unless asked otherwise, and
narrowed by device class and site when asked. With no index on ``status`` that count read
every asset row: 23 ms a request at 100,000 assets on SQLite, most of the list's time.
``ix_asset_status`` holds ``(status, device_class, site, id)``, so each of those counts is
read from the index alone (2.5-4.5 ms on the same store), and a count narrowed by support
status too joins the plan rows' index on the ids it holds (PostgreSQL: a parallel scan of
every asset, 32-37 ms, became a scan of the index, 19 ms; SQLite holds the id in every index).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    indexes = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("cw_asset")}
    if "ix_asset_status" in indexes:
        return  # made from the models as they are now (a database adopted from before)
    with op.batch_alter_table("cw_asset", schema=None) as batch_op:
        batch_op.create_index(
            "ix_asset_status", ["status", "device_class", "site", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cw_asset", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_status")
