"""Which database errors are outages and which are a transaction losing a race.

A deadlock victim or a serialization failure (SQLSTATE 40P01 / 40001, `psycopg.errors.DeadlockDetected` / `SerializationFailure`)
is raised by SQLAlchemy as an `OperationalError`, like a refused connection, but the database is fine:
the transaction can simply be retried. Services answer an outage with 503 and `isf_database_up 0`;
a write conflict must never flip that gauge.
"""

from __future__ import annotations

import psycopg
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# serialization_failure, deadlock_detected (psycopg.errors.SerializationFailure, DeadlockDetected)
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
WRITE_CONFLICT_RETRIES = 5
"""How many times the store retries a transaction that lost a deadlock or serialization race."""


def is_write_conflict(error: BaseException) -> bool:
    """A deadlock or serialization failure: the transaction was rolled back, retrying it is safe."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    return isinstance(cause, psycopg.Error) and cause.sqlstate in _RETRYABLE_SQLSTATES


def is_database_outage(error: BaseException) -> bool:
    """The database cannot be reached or used right now (503 + Retry-After, `isf_database_up 0`).

    Write conflicts and statement errors (constraint, data, programming errors) are not outages.
    """
    if is_write_conflict(error):
        return False
    if isinstance(error, (OperationalError, PoolTimeoutError)):
        return True
    if type(error).__name__ == "DatabaseUnavailable":  # runtime.api.service's own marker exception
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated
