"""Database and Redis fixtures for the runtime tests.

Real PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (CI, and this machine), an SQLite
file otherwise. Isolation: each test session (each xdist worker) gets its own fresh PostgreSQL
database, dropped at the end; each test starts from empty tables; Redis keys live under a prefix
unique to the test, deleted afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, text

from runtime.state.hot_state import HotState
from runtime.store.engine import normalize_url, open_engine
from runtime.store.migrate import upgrade
from runtime.store.schema import Base
from tests.support.scratch_database import create_scratch_database, drop_scratch_database


def _postgres_server_url() -> str | None:
    url = os.environ.get("DATABASE_URL")
    if url and normalize_url(url).get_backend_name() == "postgresql":
        return url
    return None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database private to this test session."""
    server = _postgres_server_url()
    if server is None:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'isf.sqlite3'}"
        return
    url = create_scratch_database(server, "isf_test")
    try:
        yield url
    finally:
        drop_scratch_database(url)


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (for migration tests)."""
    server = _postgres_server_url()
    if server is None:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    url = create_scratch_database(server, "isf_test")
    try:
        yield url
    finally:
        drop_scratch_database(url)


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = open_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    """The session's database with every table emptied before the test."""
    with migrated_engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(table.name for table in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
    return migrated_engine


@pytest.fixture(scope="session")
def redis_url() -> str:
    """REDIS_URL, or skip: hot-state tests need a real Redis."""
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set; hot-state tests need a real Redis (CI sets it)")
    return url


@pytest.fixture
def redis_prefix() -> str:
    return f"isf-test-{uuid.uuid4().hex[:10]}:"


@pytest.fixture
def hot_state(redis_url: str, redis_prefix: str) -> Iterator[HotState]:
    state = HotState.from_url(redis_url, CollectorRegistry(), prefix=redis_prefix)
    yield state
    state.clear()
