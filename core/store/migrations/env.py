"""Alembic's entry point: run the migrations on the connection ``alembic_config`` was given."""

from __future__ import annotations

from alembic import context

from core.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through core.store (open_store or `python -m core db upgrade`)"
    )
# batch mode: SQLite cannot ALTER most things, so changed tables are copied (a no-op on PostgreSQL)
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
