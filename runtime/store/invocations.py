"""Per-minute invocation aggregates: idempotent batched writes and range reads."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import psycopg
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError, OperationalError

from runtime.store.errors import WRITE_CONFLICT_RETRIES, is_write_conflict
from runtime.store.schema import Function, Invocation, to_utc
from runtime.store.upsert import insert_for

# PostgreSQL caps a statement at 65,535 bind parameters; 7 per row keeps a chunk below it.
_ROWS_PER_STATEMENT = 9_000


@dataclass(frozen=True, slots=True)
class InvocationRecord:
    """Invocations of one function in one minute."""

    function_id: str
    minute: datetime
    count: int
    duration_ms_avg: float | None = None
    cold_starts: int | None = None
    """Measured cold starts of the minute (runtime/ingest/prometheus_collector.py); None: not measured."""
    ready_pods: float | None = None
    """Measured ready pods, the minute's average over all its revisions (same module); None: not measured."""


def ensure_functions(connection: Connection, function_ids: Iterable[str]) -> None:
    """Register functions seen for the first time (ingest may precede any deployment record)."""
    ids = sorted(set(function_ids))
    for start in range(0, len(ids), _ROWS_PER_STATEMENT):
        chunk = [{"id": function_id} for function_id in ids[start : start + _ROWS_PER_STATEMENT]]
        connection.execute(insert_for(connection, Function).on_conflict_do_nothing(index_elements=["id"]), chunk)


def record_invocations(engine: Engine, source: str, records: Sequence[InvocationRecord]) -> int:
    """Upsert `records` from `source` in one transaction; a replay overwrites rather than adds. Returns the count.

    Rows are written in (function_id, minute) order, so concurrent batches on overlapping keys lock
    rows in the same order and cannot deadlock each other; a transaction that still loses a race
    (deadlock or serialization failure) is retried up to `WRITE_CONFLICT_RETRIES` times.
    """
    latest = {(record.function_id, record.minute): record for record in records}  # last one in a batch wins
    ordered = [latest[key] for key in sorted(latest)]  # aware datetimes compare as instants
    for attempt in range(WRITE_CONFLICT_RETRIES + 1):
        try:
            with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    _copy_then_merge(connection, source, ordered)
                else:
                    ensure_functions(connection, (record.function_id for record in ordered))
                    _insert_on_conflict(connection, source, ordered)
            break
        except DBAPIError as error:
            if attempt == WRITE_CONFLICT_RETRIES or not is_write_conflict(error):
                raise
            time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))  # jitter: the two writers do not retry in step
    return len(records)


def _insert_on_conflict(connection: Connection, source: str, records: Iterable[InvocationRecord]) -> None:
    rows = [
        {
            "function_id": record.function_id,
            "minute": record.minute,
            "source": source,
            "count": record.count,
            "duration_ms_avg": record.duration_ms_avg,
            "cold_starts": record.cold_starts,
            "ready_pods": record.ready_pods,
        }
        for record in records
    ]
    statement = insert_for(connection, Invocation)
    statement = statement.on_conflict_do_update(
        index_elements=["function_id", "minute", "source"],
        set_={"count": statement.excluded.count, "duration_ms_avg": statement.excluded.duration_ms_avg,
              "cold_starts": statement.excluded.cold_starts, "ready_pods": statement.excluded.ready_pods},
    )
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        connection.execute(statement, rows[start : start + _ROWS_PER_STATEMENT])


def _copy_then_merge(connection: Connection, source: str, records: Iterable[InvocationRecord]) -> None:
    # COPY into a transaction-scoped staging table, then one set-based upsert: several times the
    # throughput of multi-row INSERTs, and still a single transaction (all or nothing).
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE IF NOT EXISTS invocations_staging "
        "(function_id varchar(255), minute timestamptz, count bigint, duration_ms_avg double precision, "
        "cold_starts integer, ready_pods double precision) "
        "ON COMMIT DELETE ROWS"
    )
    statement = (
        "COPY invocations_staging (function_id, minute, count, duration_ms_avg, cold_starts, ready_pods) "
        "FROM STDIN (FORMAT BINARY)"
    )
    try:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(statement) as copy:
            copy.set_types(["varchar", "timestamptz", "int8", "float8", "int4", "float8"])
            for record in records:
                copy.write_row((record.function_id, to_utc(record.minute), record.count, record.duration_ms_avg,
                                record.cold_starts, record.ready_pods))
    except (psycopg.OperationalError, psycopg.InterfaceError) as error:
        # Same exception type as every other statement, so callers handle one kind of outage.
        raise OperationalError(statement, None, error) from error
    connection.exec_driver_sql(
        "INSERT INTO functions (id) SELECT DISTINCT function_id FROM invocations_staging "
        "ORDER BY function_id ON CONFLICT DO NOTHING"
    )
    connection.exec_driver_sql(
        "INSERT INTO invocations (function_id, minute, source, count, duration_ms_avg, cold_starts, ready_pods) "
        "SELECT function_id, minute, %(source)s, count, duration_ms_avg, cold_starts, ready_pods "
        "FROM invocations_staging "
        "ORDER BY function_id, minute "  # the lock order every writer shares
        "ON CONFLICT (function_id, minute, source) "
        "DO UPDATE SET count = excluded.count, duration_ms_avg = excluded.duration_ms_avg, "
        "cold_starts = excluded.cold_starts, ready_pods = excluded.ready_pods",
        {"source": source},
    )


@dataclass(frozen=True, slots=True)
class StoredInvocation:
    """One stored aggregate row."""

    minute: datetime
    source: str
    count: int
    duration_ms_avg: float | None
    cold_starts: int | None = None
    ready_pods: float | None = None


def invocations_between(
    engine: Engine, function_id: str, start: datetime, end: datetime, source: str | None = None
) -> list[StoredInvocation]:
    """A function's stored minutes in [start, end), oldest first, optionally from one source."""
    query = (
        select(Invocation.minute, Invocation.source, Invocation.count, Invocation.duration_ms_avg,
               Invocation.cold_starts, Invocation.ready_pods)
        .where(Invocation.function_id == function_id, Invocation.minute >= start, Invocation.minute < end)
        .order_by(Invocation.minute, Invocation.source)
    )
    if source is not None:
        query = query.where(Invocation.source == source)
    with engine.connect() as connection:
        return [StoredInvocation(*row) for row in connection.execute(query)]


def invocation_matrix(
    engine: Engine, start: datetime, minutes: int, source: str | None = None, *, invoked_only: bool = False
) -> tuple[list[str], np.ndarray]:
    """Counts as a dense functions x minutes int64 matrix from `start` (missing minutes are 0; sources summed).

    With `invoked_only`, stored zeros are not read (most rows, when the collector stores every live
    function's minute), so functions with no invocation in the window are left out.
    """
    query = select(Invocation.function_id, Invocation.minute, Invocation.count).where(
        Invocation.minute >= start, Invocation.minute < start + timedelta(minutes=minutes)
    )
    if source is not None:
        query = query.where(Invocation.source == source)
    if invoked_only:
        query = query.where(Invocation.count > 0)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    ids = sorted({row[0] for row in rows})
    index = {function_id: i for i, function_id in enumerate(ids)}
    matrix = np.zeros((len(ids), minutes), dtype=np.int64)
    base = start.timestamp()
    for function_id, minute, count in rows:
        matrix[index[function_id], int((minute.timestamp() - base) // 60)] += count
    return ids, matrix
