"""Throwaway PostgreSQL databases, for the test suite and the benchmarks."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text

from runtime.store.engine import normalize_url


def create_scratch_database(server_url: str, prefix: str = "isf_scratch") -> str:
    """Create an empty database named `<prefix>_<random>` on the server of `server_url`; returns its URL."""
    url = normalize_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_scratch_database(database_url: str) -> None:
    """Drop the database of `database_url`, disconnecting anyone still on it."""
    url = normalize_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()
