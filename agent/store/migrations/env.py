"""Alembic environment: migrations run on the connection that Store.open hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import agent.store.tables  # noqa: F401 - registers the tables on SQLModel.metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through Store.open
    raise RuntimeError("run migrations through agent.store.Store.open")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
