"""Alembic environment: uses the connection handed over by `runtime.store.migrate`, else DATABASE_URL
(only the `alembic` command line gets there; the services hand over their engine's connection)."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from runtime.contract import environment
from runtime.store.engine import DEFAULT_DATABASE_URL, open_engine
from runtime.store.schema import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite can only ALTER by copying tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given: Connection | None = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    engine = open_engine(os.environ.get(environment.DATABASE_URL, DEFAULT_DATABASE_URL))
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()
