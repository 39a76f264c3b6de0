"""Schema migrations run from code, so `isf` and the services can upgrade a fresh database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, text

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


# Every replica of every service upgrades when it starts. On PostgreSQL they take turns under this
# transaction-scoped advisory lock (DDL is transactional there): the first one migrates, the others
# wait, then find the schema at head. Without it, concurrent first starts fail or deadlock.
MIGRATION_LOCK_KEY = 0x1_5F_0001


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (the latest by default), one process at a time."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        command.upgrade(_config(connection), revision)
        connection.commit()


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the schema down to `revision` (empty by default)."""
    with engine.connect() as connection:
        command.downgrade(_config(connection), revision)
        connection.commit()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an unmigrated database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
