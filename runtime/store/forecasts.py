"""Stored forecasts: per-minute invocation counts for a window, one row per function, window and model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import aliased

from runtime.store.invocations import ensure_functions
from runtime.store.schema import Function, Prediction
from runtime.store.upsert import insert_for


@dataclass(frozen=True, slots=True)
class Forecast:
    """Predicted invocations per minute from `window_start` (and concurrency, if durations are known).

    `counts` is the point forecast (`Forecaster.forecast`: what WAPE scores, possibly median-like);
    `expected` the expected counts (`Forecaster.expected`), None where the point forecast is itself
    the mean. Whoever needs a mean (warming's Poisson fallback, pool and placement demand, concurrency)
    reads `means`.
    """

    function_id: str
    window_start: datetime
    model_version: str
    counts: list[float]
    concurrency: list[float] | None = None
    expected: list[float] | None = None

    @property
    def means(self) -> list[float]:
        """Expected invocations per minute: `expected`, or the point forecast where that is the mean."""
        return self.counts if self.expected is None else self.expected

    def to_document(self) -> dict[str, Any]:
        """The JSON form cached in Redis by the predictor and served by the forecast read API."""
        return {
            "function_id": self.function_id,
            "window_start": self.window_start.isoformat(),
            "model_version": self.model_version,
            "counts": self.counts,
            "concurrency": self.concurrency,
            "expected": self.expected,
        }


def record_forecasts(engine: Engine, forecasts: Sequence[Forecast]) -> None:
    """Upsert forecasts; re-forecasting the same window with the same model replaces the old one."""
    if not forecasts:
        return
    rows = [
        {
            "function_id": forecast.function_id,
            "window_start": forecast.window_start,
            "model_version": forecast.model_version,
            "counts": list(map(float, forecast.counts)),
            "concurrency": None if forecast.concurrency is None else list(map(float, forecast.concurrency)),
            "expected": None if forecast.expected is None else list(map(float, forecast.expected)),
        }
        for forecast in forecasts
    ]
    with engine.begin() as connection:
        ensure_functions(connection, (forecast.function_id for forecast in forecasts))
        statement = insert_for(connection, Prediction)
        statement = statement.on_conflict_do_update(
            index_elements=["function_id", "window_start", "model_version"],
            set_={
                "counts": statement.excluded.counts,
                "concurrency": statement.excluded.concurrency,
                "expected": statement.excluded.expected,
                "created_at": func.now(),
            },
        )
        for start in range(0, len(rows), 5000):
            connection.execute(statement, rows[start : start + 5000])


_COLUMNS = (
    Prediction.function_id,
    Prediction.window_start,
    Prediction.model_version,
    Prediction.counts,
    Prediction.concurrency,
    Prediction.expected,
)
"""A forecast's columns, read as plain rows rather than ORM objects: both reads below are hot paths."""


def _forecast(row: Sequence[Any]) -> Forecast:
    return Forecast(row[0], row[1], row[2], list(row[3]), row[4], None if row[5] is None else list(row[5]))


def _newest_first(query: Any, table: Any = Prediction) -> Any:
    """A function's forecasts, the latest window first (the newest model run first on ties)."""
    return query.order_by(table.window_start.desc(), table.created_at.desc(), table.id.desc())


def latest_forecast(engine: Engine, function_id: str) -> Forecast | None:
    """The forecast with the latest window for a function (newest model run on ties), or None."""
    query = _newest_first(select(*_COLUMNS).where(Prediction.function_id == function_id)).limit(1)
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else _forecast(row)


def latest_forecasts(engine: Engine) -> list[Forecast]:
    """Every function's latest forecast, as `latest_forecast` picks it (what the warming controller reads each pass).

    One probe of `idx_prediction_function_window` per known function rather than a scan of every stored forecast:
    the table gains a row per function and refreshed minute (up to 720,000 over a day of 500 functions), and the
    `GROUP BY function_id` this replaced took 137 ms at 450,000 rows on PostgreSQL 15, twice a minute
    (docs/benchmarks.md, *`isf loop` replay speed*)."""
    candidate = aliased(Prediction)
    newest = (
        _newest_first(select(candidate.id).where(candidate.function_id == Function.id), candidate)
        .limit(1)
        .correlate(Function)
        .scalar_subquery()
    )
    query = (
        select(*_COLUMNS)
        .select_from(Function)
        .join(Prediction, Prediction.id == newest)
        .order_by(Prediction.created_at, Prediction.id)
    )
    with engine.connect() as connection:
        return [_forecast(row) for row in connection.execute(query)]
