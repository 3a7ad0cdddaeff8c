"""plan body compressed: cw_plan.body_zlib holds a plan's JSON body as zlib-compressed bytes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:00:00.000000

A plan's body repeats the same evidence texts for every asset: at 100,000 assets it is about
355 MB of JSON, which SQLite wrote twice (its write-ahead log, then the database) on every
plan. Compressed (zlib, its fastest level) it is about 26 MB, made in about a second. Plans
stored from this revision on keep their body in ``body_zlib`` and an empty ``body``; plans
stored before keep theirs in ``body`` as they were, and are read from there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("cw_plan")}
    if "body_zlib" not in columns:
        with op.batch_alter_table("cw_plan") as batch:
            batch.add_column(sa.Column("body_zlib", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # a plan stored compressed gets its text back first: the older schema reads only ``body``
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, body_zlib FROM cw_plan WHERE body_zlib IS NOT NULL"))
    for plan_id, packed in rows.fetchall():
        bind.execute(
            sa.text("UPDATE cw_plan SET body = :body WHERE id = :id"),
            {"body": _text(packed), "id": plan_id},
        )
    with op.batch_alter_table("cw_plan") as batch:
        batch.drop_column("body_zlib")


def _text(packed: bytes) -> str:
    import zlib

    return zlib.decompress(packed).decode()
