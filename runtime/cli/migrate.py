"""`isf migrate`: bring the store at DATABASE_URL (or DATABASE_URL_FILE) to the latest schema, then exit.

The control plane runs it as a Job before the services roll, and the services start with
ISF_MIGRATE_ON_START=false; a local `isf serve` still migrates on start.
"""

from __future__ import annotations

from typing import Annotated

import typer


def migrate(
    revision: Annotated[str, typer.Option(help="Alembic revision to upgrade to")] = "head",
) -> None:
    """Apply every pending Alembic migration (one process at a time on PostgreSQL) and print the revision."""
    from runtime.cli.service_settings import load_service_settings
    from runtime.store.engine import open_engine
    from runtime.store.migrate import current_revision, upgrade

    engine = open_engine(load_service_settings().database_url)
    try:
        before = current_revision(engine)
        upgrade(engine, revision)
        typer.echo(f"schema at {current_revision(engine)} (was {before or 'empty'})")
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    app.command("migrate")(migrate)
