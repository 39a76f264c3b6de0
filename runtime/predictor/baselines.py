"""Reference forecasters every learned model must beat: the last value and a moving average."""

from __future__ import annotations

import numpy as np

from runtime.predictor.base import Counts, Forecaster


class NaiveLastForecaster(Forecaster):
    """Every future minute repeats the last observed minute."""

    name = "naive-last"

    def _fit(self, history: Counts) -> None:
        self._last = history[:, -1].copy()

    def _update(self, new_minutes: Counts) -> None:
        self._last = new_minutes[:, -1].copy()

    def _forecast(self, horizon: int) -> Counts:
        return np.repeat(self._last[:, None], horizon, axis=1)


class MovingAverageForecaster(Forecaster):
    """Every future minute is the mean of the last `window` minutes."""

    name = "moving-average"

    def __init__(self, window: int = 15) -> None:
        super().__init__()
        if window < 1:
            raise ValueError(f"moving-average window must be at least 1 minute, got {window}")
        self.window = window

    def _fit(self, history: Counts) -> None:
        self._recent = history[:, -self.window :].copy()

    def _update(self, new_minutes: Counts) -> None:
        self._recent = np.concatenate([self._recent, new_minutes], axis=1)[:, -self.window :]

    def _add_functions(self, n: int) -> None:
        self._recent = np.vstack([self._recent, np.zeros((n, self._recent.shape[1]))])

    def _forecast(self, horizon: int) -> Counts:
        return np.repeat(self._recent.mean(axis=1)[:, None], horizon, axis=1)
