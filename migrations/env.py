"""Alembic environment: uses the caller's connection (models.database.migrate) or the settings URL."""

from __future__ import annotations

from alembic import context

from models import tables
from models.database import make_engine

target_metadata = tables.Application.metadata  # every table class shares SQLModel's one metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine()
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
