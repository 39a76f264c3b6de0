"""Forecast accuracy: WAPE and MAPE of 1-minute-ahead forecasts, live (rolling) or from stored forecasts.

WAPE = sum |forecast - actual| / sum actual; MAPE = mean |forecast - actual| / actual over the minutes
that had invocations (a minute without any has no percentage error). Both are ratios (0.2 = 20 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, select

from runtime.store.invocations import invocation_matrix
from runtime.store.schema import Prediction

Floats = npt.NDArray[np.float64]
MAX_HORIZON = timedelta(minutes=240)  # PredictionSettings.horizon_minutes' upper bound


@dataclass(frozen=True, slots=True)
class Accuracy:
    """Errors of one function (or all, function_id None) over `minutes` scored minutes."""

    function_id: str | None
    minutes: int
    invocations: float
    wape: float | None
    mape: float | None


def _score(function_id: str | None, predicted: Floats, actual: Floats) -> Accuracy:
    error = np.abs(predicted - actual)
    total = float(actual.sum())
    busy = actual > 0
    return Accuracy(
        function_id,
        int(actual.size),
        total,
        float(error.sum() / total) if total > 0 else None,
        float((error[busy] / actual[busy]).mean()) if busy.any() else None,
    )


def score_rows(function_ids: Sequence[str], predicted: Floats, actual: Floats) -> tuple[list[Accuracy], Accuracy]:
    """Per-row (function) and overall accuracy of functions x minutes arrays (NaN = not scored)."""
    scored = ~np.isnan(predicted) & ~np.isnan(actual)
    rows = [_score(f, predicted[i, scored[i]], actual[i, scored[i]]) for i, f in enumerate(function_ids)]
    return rows, _score(None, predicted[scored], actual[scored])


class RollingAccuracy:
    """The last `window_minutes` of 1-minute-ahead forecasts and actuals, per function (a ring buffer)."""

    def __init__(self, function_ids: Sequence[str], window_minutes: int) -> None:
        self.function_ids = list(function_ids)
        self._predicted = np.full((len(self.function_ids), window_minutes), np.nan)
        self._actual = np.full_like(self._predicted, np.nan)
        self._next = 0

    def observe(self, predicted: Floats, actual: Floats) -> None:
        """One minute: what was forecast for it and what happened (one value per function)."""
        column = self._next % self._predicted.shape[1]
        self._predicted[:, column], self._actual[:, column] = predicted, actual
        self._next += 1

    def scores(self) -> tuple[list[Accuracy], Accuracy]:
        return score_rows(self.function_ids, self._predicted, self._actual)


def stored_accuracy(
    engine: Engine, start: datetime, end: datetime, function_ids: Sequence[str] | None = None
) -> tuple[list[Accuracy], Accuracy]:
    """Accuracy in [start, end) of the freshest stored forecast made for each minute (its 1-minute-ahead one)."""
    minutes = int((end - start).total_seconds() // 60)
    if minutes < 1:
        raise ValueError(f"the evaluation window [{start.isoformat()}, {end.isoformat()}) holds no whole minute")
    query = (
        select(Prediction.function_id, Prediction.window_start, Prediction.counts)
        .where(Prediction.window_start >= start - MAX_HORIZON, Prediction.window_start < end)
        .order_by(Prediction.window_start, Prediction.created_at, Prediction.id)
    )
    if function_ids is not None:
        query = query.where(Prediction.function_id.in_(list(function_ids)))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    ids = sorted({row.function_id for row in rows})
    index = {f: i for i, f in enumerate(ids)}
    predicted = np.full((len(ids), minutes), np.nan)
    for function_id, window_start, counts in rows:
        # Later windows overwrite earlier ones, so each minute keeps its most recent forecast.
        offset = int((window_start - start).total_seconds() // 60)
        values = np.asarray(counts, dtype=np.float64)
        first, last = max(offset, 0), min(offset + values.size, minutes)
        if first < last:
            predicted[index[function_id], first:last] = values[first - offset : last - offset]
    stored_ids, counts = invocation_matrix(engine, start, minutes)
    actual = np.zeros_like(predicted)
    positions = {f: i for i, f in enumerate(stored_ids)}
    for function_id, row in index.items():
        if function_id in positions:
            actual[row] = counts[positions[function_id]]
    return score_rows(ids, predicted, actual)
