"""The one interface every forecaster implements, vectorised over many functions at once.

    model = make_forecaster(ForecasterName.HYBRID, settings.prediction)
    model.fit(history)          # history: functions x minutes, per-minute invocation counts
    model.update(new_minutes)   # functions x k, the minutes that followed (k >= 1); no full refit
    model.forecast(h)           # -> functions x h float64, counts for the next h minutes, all >= 0
    model.expected(h)           # -> the same as expected counts (Poisson means), what warming reads

`forecast` is the point forecast scored by WAPE (an absolute-error criterion, so it may be median-like:
0 for a function invoked in under half of its minutes); `expected` is the mean. They coincide
(`forecast_is_mean`) for every forecaster here except the ensemble, which ranks its members by
absolute error for `forecast` and by squared error for `expected`.

Row i always means the same function: `update` and `forecast` use the row order given to `fit`.
`fit` may be called again at any time (e.g. every `retrain_interval`) and replaces all state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Self

import numpy as np
import numpy.typing as npt

Counts = npt.NDArray[np.float64]
"""functions x minutes of per-minute invocation counts."""


def as_counts(values: npt.ArrayLike, *, what: str, n_functions: int | None = None) -> Counts:
    """Validate a functions x minutes array of counts: 2-D, finite and non-negative."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{what} must be 2-D (functions x minutes), got shape {array.shape}")
    if array.shape[1] < 1:
        raise ValueError(f"{what} must hold at least one minute, got shape {array.shape}")
    if n_functions is not None and array.shape[0] != n_functions:
        raise ValueError(f"{what} has {array.shape[0]} functions but the model was fitted on {n_functions}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or infinite counts")
    if (array < 0).any():
        raise ValueError(f"{what} contains negative counts")
    return array


class Forecaster(ABC):
    """Forecasts per-minute invocation counts for many functions at once."""

    name: str

    forecast_is_mean: bool = True
    """Whether `forecast` already is the expected counts (for all but the ensemble)."""

    def __init__(self) -> None:
        self._n_functions: int | None = None

    @property
    def n_functions(self) -> int:
        """How many functions (rows) the model was fitted on."""
        if self._n_functions is None:
            raise RuntimeError(f"{self.name}: call fit(history) before update or forecast")
        return self._n_functions

    @property
    def min_history_minutes(self) -> int:
        """The fewest minutes of history `fit` accepts."""
        return 1

    def fit(self, history: npt.ArrayLike) -> Self:
        """Learn from `history` (functions x minutes); replaces any previous state."""
        counts = as_counts(history, what="history")
        self._n_functions = counts.shape[0]
        self._fit(counts)
        return self

    def update(self, new_minutes: npt.ArrayLike) -> None:
        """Append the minutes observed since the last call (functions x k) without a full refit."""
        counts = as_counts(new_minutes, what="new_minutes", n_functions=self.n_functions)
        self._update(counts)

    def add_functions(self, n: int) -> None:
        """Start forecasting `n` more functions (the last rows), never invoked so far, without a refit."""
        self._n_functions = self.n_functions + n
        self._add_functions(n)

    def _add_functions(self, n: int) -> None:
        raise NotImplementedError(f"{self.name} cannot add functions without a refit")

    def forecast(self, horizon: int) -> Counts:
        """Point forecast of the counts in each of the next `horizon` minutes (functions x horizon, >= 0)."""
        return self._checked(self._forecast, horizon)

    def expected(self, horizon: int) -> Counts:
        """Expected counts (means) in each of the next `horizon` minutes (functions x horizon, >= 0)."""
        return self.forecast(horizon) if self.forecast_is_mean else self._checked(self._expected, horizon)

    def forecast_and_expected(self, horizon: int) -> tuple[Counts, Counts | None]:
        """The point forecast and, where it is not the mean, the expected counts (None where they agree, so they
        are stored once: `runtime.store.forecasts.Forecast.means`)."""
        return self.forecast(horizon), None if self.forecast_is_mean else self.expected(horizon)

    def _checked(self, method: Callable[[int], Counts], horizon: int) -> Counts:
        if horizon < 1:
            raise ValueError(f"horizon must be at least 1 minute, got {horizon}")
        n_functions = self.n_functions
        predicted = method(horizon)
        assert predicted.shape == (n_functions, horizon)
        return np.maximum(predicted, 0.0)

    def _expected(self, horizon: int) -> Counts:
        """The expected counts, for a forecaster whose `forecast` is not the mean (`forecast_is_mean` False)."""
        raise NotImplementedError(f"{self.name}: a forecaster whose forecast is not the mean implements _expected")

    @abstractmethod
    def _fit(self, history: Counts) -> None: ...

    @abstractmethod
    def _update(self, new_minutes: Counts) -> None: ...

    @abstractmethod
    def _forecast(self, horizon: int) -> Counts: ...
