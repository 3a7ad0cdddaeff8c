"""plan views: the API's summary and waves views of a plan, stored with it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 23:00:00.000000

``cw_plan.views`` holds the small views the API and pages serve of a plan (its summary, its
waves with their groups' asset names and money by financial year) as JSON text, written with
the plan: they are ready the moment the plan is stored instead of being built from the whole
body (hundreds of MB for 100,000 assets) by the first request. Plans stored before have none
and are built from their body as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("cw_plan")}
    if "views" not in columns:
        with op.batch_alter_table("cw_plan") as batch:
            batch.add_column(sa.Column("views", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cw_plan") as batch:
        batch.drop_column("views")
