"""Opening the database: one engine per process, PostgreSQL (psycopg 3) or an embedded SQLite file."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///isf.sqlite3"
# PostgreSQL connections kept open per process; the services run this many request threads to match.
POOL_SIZE = 20


class DatabaseUrlError(ValueError):
    """DATABASE_URL cannot be used; the message says why."""


def normalize_url(url: str) -> URL:
    """Parse `url`, choosing psycopg 3 for plain `postgresql://` / `postgres://` URLs."""
    try:
        parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    except ArgumentError as error:
        raise DatabaseUrlError(f"DATABASE_URL {url!r} is not a database URL: {error}") from error
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("postgresql", "sqlite"):
        raise DatabaseUrlError(
            f"DATABASE_URL uses {parsed.get_backend_name()!r}; only postgresql and sqlite are supported"
        )
    return parsed


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while an ingest commits; a commit still survives a kill -9 of the process.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def open_engine(url: str = DEFAULT_DATABASE_URL, *, pool_size: int = POOL_SIZE) -> Engine:
    """An engine for `url` with the settings the services rely on (bounded pool, short connect timeout)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 10})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    # No pre-ping: its extra round trip per checkout tripled the forecast read p99 under CPU contention.
    # After a database restart the first statement on a stale connection fails (answered 503 +
    # Retry-After), and that disconnect invalidates the whole pool, so the retry reconnects.
    return create_engine(
        parsed,
        pool_pre_ping=False,
        # Sized for the request thread pool: overflow connections are closed on return, and opening
        # one (a forked PostgreSQL backend) costs tens of ms, which showed up as read-latency spikes.
        pool_size=pool_size,
        max_overflow=pool_size // 2,
        pool_timeout=5,
        connect_args={"connect_timeout": 3},
    )
