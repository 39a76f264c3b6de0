"""Concurrent ingest on overlapping keys: writers never deadlock each other, and a write conflict is
not a database outage (issue 14, item 1)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from runtime.api.app import create_api_app
from runtime.store.errors import is_database_outage, is_write_conflict
from runtime.store.invocations import InvocationRecord, record_invocations
from runtime.store.schema import Invocation
from tests.runtime.test_api import config_for
from tests.support.api_tokens import AUTH

T0 = datetime(2024, 5, 1, tzinfo=UTC)
KEYS = [(f"fn-{i % 500:03d}", T0 + timedelta(minutes=i // 500)) for i in range(5000)]


def _postgres_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row-lock deadlocks need PostgreSQL (SQLite serialises writers)")


def _stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Invocation)).scalar_one())


def test_two_writers_upserting_the_same_keys_in_opposite_orders_both_commit(engine: Engine) -> None:
    _postgres_only(engine)
    forward = [InvocationRecord(f, m, 1) for f, m in KEYS]
    backward = [InvocationRecord(f, m, 2) for f, m in reversed(KEYS)]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def write(records: list[InvocationRecord]) -> None:
        start.wait()
        try:
            for _ in range(6):
                record_invocations(engine, "s", records)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(r,)) for r in (forward, backward)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _stored(engine) == len(KEYS)


def test_two_clients_posting_the_same_keys_in_opposite_orders_get_no_503(engine: Engine, database_url: str) -> None:
    _postgres_only(engine)
    records = [{"function_id": f, "minute": m.isoformat(), "count": 1} for f, m in KEYS]
    batches = [records[i : i + 1000] for i in range(0, len(records), 1000)] * 3
    statuses: list[int] = []
    app = create_api_app(config_for(database_url, redis_url=None))
    with TestClient(app, headers=AUTH) as client:
        start = threading.Barrier(2)

        def post(order: list[list[dict[str, object]]]) -> None:
            start.wait()
            for chunk in order:
                statuses.append(client.post("/v1/invocations", json={"source": "s", "records": chunk}).status_code)

        assert client.get("/readyz").status_code == 200
        reverse = [list(reversed(chunk)) for chunk in batches]
        threads = [threading.Thread(target=post, args=(order,)) for order in (batches, reverse)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        metrics = client.get("/metrics").text
    assert sorted(set(statuses)) == [200]
    assert _stored(engine) == len(KEYS)
    assert "isf_database_up 1.0" in metrics


def _wrapped(error: Exception) -> OperationalError:
    return OperationalError("INSERT ...", None, error)


def test_a_deadlock_or_serialization_failure_is_a_write_conflict_not_an_outage() -> None:
    for error in (psycopg.errors.DeadlockDetected("deadlock detected"),
                  psycopg.errors.SerializationFailure("could not serialize")):
        assert is_write_conflict(_wrapped(error))
        assert not is_database_outage(_wrapped(error))
    refused = _wrapped(psycopg.OperationalError("connection refused"))
    assert is_database_outage(refused) and not is_write_conflict(refused)
