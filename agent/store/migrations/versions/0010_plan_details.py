"""plan details shared: cw_plan_detail holds each distinct per-asset plan detail once

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 04:00:00.000000

Every plan wrote each asset's detail (debt factors with their evidence, support components,
strategy reasons) into its own ``cw_asset_plan`` row: about 2 KB an asset, some 220 MB of a
store for each plan at 100,000 assets, the same again for a re-plan in which little changed,
and twenty plans are kept. The details now live in ``cw_plan_detail``, one row for each
distinct text (found by a digest: the first 128 bits of its SHA-256), and a plan row names its
own by ``detail_id``: a re-plan writes only the details that changed. Existing rows are moved
over, and a downgrade copies every row's detail back.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BATCH = 5_000
_TOLD = 100_000  # rows moved between two progress lines (a store of twenty large plans: millions)
log = logging.getLogger("cloudward.store")


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    columns = {c["name"] for c in inspector.get_columns("cw_asset_plan")}
    if "cw_plan_detail" in inspector.get_table_names() and "detail" not in columns:
        return  # made from the models as they are now (a database adopted from before)
    op.create_table(
        "cw_plan_detail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_detail_digest", "cw_plan_detail", ["digest"], unique=True)
    with op.batch_alter_table("cw_asset_plan") as batch:
        batch.add_column(sa.Column("detail_id", sa.Integer(), nullable=True))
    ids: dict[str, int] = {}  # digest -> its detail's id
    moved = 0
    for batch_rows in _rows(bind):
        details: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        for row_id, text in batch_rows:
            data = (text or "{}").encode()
            digest = hashlib.sha256(data).hexdigest()[:32]
            found = ids.get(digest)
            if found is None:
                found = ids[digest] = len(ids) + 1
                details.append({"id": found, "digest": digest, "detail": data.decode()})
            links.append({"d": found, "id": row_id})
        if details:
            bind.execute(
                sa.text(
                    "INSERT INTO cw_plan_detail (id, digest, detail) VALUES (:id, :digest, :detail)"
                ),
                details,
            )
        bind.execute(sa.text("UPDATE cw_asset_plan SET detail_id = :d WHERE id = :id"), links)
        moved += len(links)
        if moved // _TOLD != (moved - len(links)) // _TOLD:
            log.info("schema 0010: %d plan rows' details moved (%d distinct)", moved, len(ids))
    if bind.dialect.name == "postgresql" and ids:  # ids were given here: move the sequence on
        bind.execute(
            sa.text("SELECT setval(pg_get_serial_sequence('cw_plan_detail', 'id'), :n)"),
            {"n": len(ids)},
        )
    with op.batch_alter_table("cw_asset_plan") as batch:
        batch.alter_column("detail_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key("fk_asset_plan_detail", "cw_plan_detail", ["detail_id"], ["id"])
        batch.create_index("ix_asset_plan_detail", ["detail_id"], unique=False)
        batch.drop_column("detail")


def _rows(bind: Any) -> Iterator[list[tuple[int, str | None]]]:
    """The plan rows' ids and detail texts, a batch at a time by id (the texts as stored: a
    PostgreSQL ``json`` value's text is what was written)."""
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, CAST(detail AS TEXT) FROM cw_asset_plan WHERE id > :last "
                "ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        yield [(int(i), t) for i, t in rows]


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("cw_asset_plan") as batch:
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))
    value = "CAST(d.detail AS JSON)" if bind.dialect.name == "postgresql" else "d.detail"
    bind.execute(
        sa.text(
            f"UPDATE cw_asset_plan SET detail = (SELECT {value} FROM cw_plan_detail d "
            "WHERE d.id = cw_asset_plan.detail_id)"
        )
    )
    with op.batch_alter_table("cw_asset_plan") as batch:
        batch.alter_column("detail", existing_type=sa.JSON(), nullable=False)
        batch.drop_index("ix_asset_plan_detail")
        batch.drop_constraint("fk_asset_plan_detail", type_="foreignkey")
        batch.drop_column("detail_id")
    op.drop_index("ix_plan_detail_digest", table_name="cw_plan_detail")
    op.drop_table("cw_plan_detail")
