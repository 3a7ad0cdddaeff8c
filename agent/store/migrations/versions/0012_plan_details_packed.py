"""plan details packed: cw_plan_detail.detail_zlib holds a detail's JSON text compressed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 23:00:00.000000

A plan's first save at 100,000 assets wrote about 189 MB of detail text (debt factors with
their evidence, support components, strategy reasons: about 1.9 KB an asset, whose keys and
most phrases are the same in every one), 258 MB of the store with the rest of the plan, and
SQLite wrote it twice (its write-ahead log, then the database). Packed with zlib and a preset
dictionary of the detail format's own words (agent.store.detail_words) a detail takes about a
sixth of that. Details stored from this revision on keep their text in ``detail_zlib`` and an
empty ``detail``; details stored before keep theirs in ``detail`` and are read from there (a
re-plan still finds them by the digest of their text, packed or not).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_BATCH = 5_000


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("cw_plan_detail")}
    if "detail_zlib" not in columns:
        with op.batch_alter_table("cw_plan_detail") as batch:
            batch.add_column(sa.Column("detail_zlib", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # a packed detail gets its text back first: the older schema reads only ``detail``
    bind = op.get_bind()
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, detail_zlib FROM cw_plan_detail WHERE detail_zlib IS NOT NULL "
                f"ORDER BY id LIMIT {_BATCH}"
            )
        ).fetchall()
        if not rows:
            break
        bind.execute(
            sa.text("UPDATE cw_plan_detail SET detail = :text, detail_zlib = NULL WHERE id = :id"),
            [{"text": _text(packed), "id": i} for i, packed in rows],
        )
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35 and later): a batch copy of the table
    # would drop the table the plan rows' foreign key names, which SQLite refuses
    op.drop_column("cw_plan_detail", "detail_zlib")


def _text(packed: bytes) -> str:
    import zlib

    # the dictionary its details were packed with (it never changes: agent.store.detail_words)
    from agent.store.detail_words import DETAIL_WORDS_1

    unpacker = zlib.decompressobj(zdict=DETAIL_WORDS_1)
    return (unpacker.decompress(bytes(packed)) + unpacker.flush()).decode()
