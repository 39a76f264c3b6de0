"""The function catalogue and each function's duration distribution."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from runtime.contract import Tier
from runtime.store.invocations import ensure_functions
from runtime.store.schema import Duration, Function
from runtime.store.upsert import insert_for


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """What is known about a function (unknown fields are None and never overwrite known ones)."""

    id: str
    trigger: str | None = None
    memory_mb: float | None = None
    tier: Tier | None = None
    created_at: datetime | None = None


UNKNOWN_MEMORY_MB = 128.0
"""Used until a function's memory is reported: Knative's common 128 MiB request."""


@dataclass(frozen=True, slots=True)
class DurationStats:
    """A function's execution time: the average and named percentiles (e.g. "p50"), in ms."""

    function_id: str
    average_ms: float
    percentiles_ms: dict[str, float] = field(default_factory=dict)


def upsert_functions(engine: Engine, functions: Sequence[FunctionInfo]) -> None:
    """Create or update functions; a None field keeps the stored value."""
    with engine.begin() as connection:
        for info in functions:
            values = {"id": info.id, "trigger": info.trigger, "memory_mb": info.memory_mb, "tier": info.tier}
            known = {key: value for key, value in values.items() if value is not None and key != "id"}
            statement = insert_for(connection, Function).values(values)
            statement = (
                statement.on_conflict_do_update(index_elements=["id"], set_=known)
                if known
                else statement.on_conflict_do_nothing(index_elements=["id"])
            )
            connection.execute(statement)


def list_functions(engine: Engine, *, limit: int = 100, offset: int = 0) -> tuple[int, list[FunctionInfo]]:
    """The total number of functions and one page of them, ordered by id."""
    with Session(engine) as session:
        total = session.execute(select(func.count()).select_from(Function)).scalar_one()
        rows = session.execute(select(Function).order_by(Function.id).limit(limit).offset(offset)).scalars()
        return total, [_info(row) for row in rows]


def function_memory(engine: Engine) -> dict[str, float]:
    """Every function's memory in MB, where it is known."""
    with engine.connect() as connection:
        rows = connection.execute(select(Function.id, Function.memory_mb).where(Function.memory_mb > 0))
        return {function_id: float(mb) for function_id, mb in rows if mb is not None}


def function_tiers(engine: Engine) -> dict[str, Tier]:
    """Every placed function's current tier (what the placement service last recorded)."""
    with engine.connect() as connection:
        rows = connection.execute(select(Function.id, Function.tier).where(Function.tier.is_not(None)))
        return {function_id: tier for function_id, tier in rows if tier is not None}


def get_function(engine: Engine, function_id: str) -> FunctionInfo | None:
    """One function, or None if it was never seen."""
    with Session(engine) as session:
        row = session.execute(select(Function).where(Function.id == function_id)).scalar_one_or_none()
        return None if row is None else _info(row)


def _info(row: Function) -> FunctionInfo:
    return FunctionInfo(row.id, row.trigger, row.memory_mb, row.tier, row.created_at)


def record_durations(engine: Engine, source: str, durations: Sequence[DurationStats]) -> None:
    """Upsert duration distributions reported by `source`."""
    if not durations:
        return
    rows = [
        {
            "function_id": stats.function_id,
            "source": source,
            "average_ms": stats.average_ms,
            "percentiles_ms": stats.percentiles_ms,
        }
        for stats in durations
    ]
    with engine.begin() as connection:
        ensure_functions(connection, (stats.function_id for stats in durations))
        statement = insert_for(connection, Duration)
        statement = statement.on_conflict_do_update(
            index_elements=["function_id", "source"],
            set_={
                "average_ms": statement.excluded.average_ms,
                "percentiles_ms": statement.excluded.percentiles_ms,
                "updated_at": func.now(),
            },
        )
        connection.execute(statement, rows)


def average_durations(engine: Engine) -> dict[str, float]:
    """Each function's average duration in ms (averaged over sources), for concurrency estimates."""
    with Session(engine) as session:
        query = select(Duration.function_id, func.avg(Duration.average_ms)).group_by(Duration.function_id)
        return {function_id: float(average) for function_id, average in session.execute(query)}


def delete_function(engine: Engine, function_id: str) -> bool:
    """Delete a function and everything stored about it (invocations, durations, forecasts, decisions,
    placements); False if it is unknown. The audit log keeps its rows: it is never rewritten."""
    from runtime.store.schema import Invocation, Placement, Prediction, WarmPoolDecision

    with engine.begin() as connection:
        for table in (Invocation, Duration, Prediction, WarmPoolDecision, Placement):
            connection.execute(delete(table).where(table.function_id == function_id))
        return connection.execute(delete(Function).where(Function.id == function_id)).rowcount > 0
