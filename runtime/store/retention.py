"""Retention of the two tables that grow with time: per-minute invocations and stored forecasts.

The collector stores a row per function-minute and the predictor a forecast per function and refreshed
minute (at 500 functions about 720,000 of each a day); nothing reads them past the training window
(`prediction.history_window`) and the accuracy and read APIs' recent windows. Rows older than
`retention.invocations_days` / `retention.forecasts_days` are deleted, counted back from the newest stored
minute, not the wall clock: an imported trace (the bundled 2019 day) is not deleted the moment it lands,
and a store that stopped receiving data keeps its last days. Decisions, placements and the audit log are
kept (decisions are stored only on change; the audit log is never rewritten).

Each function's rows go in one short transaction of its own, through the (function, time) indexes, so a
prune never locks a table for long and the collector and predictor keep writing meanwhile. Whether anything
is due is read first from the time indexes (`idx_invocation_minute`, `idx_prediction_window`), so an hourly
prune with nothing to delete reads three index ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select

from runtime.settings import RetentionSettings
from runtime.store.schema import Function, Invocation, Prediction


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one prune deleted, and before which instants."""

    invocations: int
    forecasts: int
    invocations_before: datetime | None
    forecasts_before: datetime | None


def prune(engine: Engine, retention: RetentionSettings) -> Pruned:
    """Delete invocations and forecasts older than `retention` allows; nothing when nothing is stored."""
    with engine.connect() as connection:
        newest = connection.execute(select(func.max(Invocation.minute))).scalar()
        if newest is None:
            return Pruned(0, 0, None, None)
        invocations_before = newest - timedelta(days=retention.invocations_days)
        forecasts_before = newest - timedelta(days=retention.forecasts_days)
        oldest_invocation = connection.execute(select(func.min(Invocation.minute))).scalar()
        oldest_forecast = connection.execute(select(func.min(Prediction.window_start))).scalar()
        due = (oldest_invocation is not None and oldest_invocation < invocations_before) or (
            oldest_forecast is not None and oldest_forecast < forecasts_before)
        functions = list(connection.execute(select(Function.id)).scalars()) if due else []
    invocations = forecasts = 0
    for function_id in functions:
        with engine.begin() as connection:
            invocations += connection.execute(delete(Invocation).where(
                Invocation.function_id == function_id, Invocation.minute < invocations_before)).rowcount
            forecasts += connection.execute(delete(Prediction).where(
                Prediction.function_id == function_id, Prediction.window_start < forecasts_before)).rowcount
    return Pruned(invocations, forecasts, invocations_before, forecasts_before)
