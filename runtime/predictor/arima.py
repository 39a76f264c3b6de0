"""Per-function (seasonal) ARIMA: orders estimated in batch, ticks run as a vectorised filter.

Estimating a model per function every tick is far too slow for thousands of functions, so `fit`
(and a refit every `refit_every_minutes`) picks each function's orders and coefficients
(`arima_estimation`), and `update` only runs the innovations recursion with those fixed
coefficients, for all functions at once. Timer-triggered functions repeat with a period of minutes, which a low-order ARMA cannot
express, so a function whose lag-P naive error is clearly below its lag-1 error is modelled after a
seasonal difference of period P: ARIMA(p, d, q) x (0, 1, 0)_P.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from runtime.predictor.arima_estimation import ArimaParameters, estimate
from runtime.predictor.base import Counts, Forecaster
from runtime.settings import ArimaSettings


def _push(buffer: npt.NDArray[np.float64], newest: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Shift a newest-first lag buffer by one minute."""
    return np.concatenate([newest[:, None], buffer[:, :-1]], axis=1)


class ArimaForecaster(Forecaster):
    """Seasonal ARIMA per function, orders chosen within `ArimaSettings`, refit periodically."""

    name = "arima"

    def __init__(
        self, settings: ArimaSettings | None = None, fit_window_minutes: int = 720, max_period: int = 60
    ) -> None:
        super().__init__()
        self.settings = settings or ArimaSettings()
        self.fit_window_minutes = fit_window_minutes
        self.max_period = max_period

    def _fit(self, history: Counts) -> None:
        self._history = history[:, -self.fit_window_minutes :].copy()
        self.parameters: ArimaParameters = estimate(self._history, self.settings, self.max_period)
        self._minutes_since_fit = 0
        n = self._history.shape[0]
        self._period, self._d, self._mean = self.parameters.period, self.parameters.d, self.parameters.mean
        self._ar, self._ma = self.parameters.ar, self.parameters.ma
        # Newest-first filter state: raw levels y, seasonally differenced u, differenced w, innovations e.
        self._y = np.repeat(self._history[:, :1], max(self.max_period, 1), axis=1)
        self._u = np.zeros((n, 2))
        self._w = np.zeros((n, self._ar.shape[1]))
        self._e = np.zeros((n, self._ma.shape[1]))
        self._filter(self._history)

    def _update(self, new_minutes: Counts) -> None:
        self._history = np.concatenate([self._history, new_minutes], axis=1)[:, -self.fit_window_minutes :]
        self._minutes_since_fit += new_minutes.shape[1]
        if self._minutes_since_fit >= self.settings.refit_every_minutes:
            self._fit(self._history)
        else:
            self._filter(new_minutes)

    def _seasonal_base(self, y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """y[t - P] for each function (0 where it has no period)."""
        lagged = np.take_along_axis(y, np.maximum(self._period - 1, 0)[:, None], axis=1)[:, 0]
        return np.where(self._period > 0, lagged, 0.0)

    def _integrated(self, u: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """What the d-fold difference adds back: 0, u[t-1], or 2 u[t-1] - u[t-2]."""
        return np.choose(self._d, [np.zeros_like(u[:, 0]), u[:, 0], 2 * u[:, 0] - u[:, 1]])

    def _filter(self, minutes: Counts) -> None:
        for t in range(minutes.shape[1]):
            level = minutes[:, t]
            u = level - self._seasonal_base(self._y)
            w = u - self._integrated(self._u) - self._mean
            predicted = (self._ar * self._w).sum(axis=1) + (self._ma * self._e).sum(axis=1)
            self._e = _push(self._e, w - predicted)
            self._w = _push(self._w, w)
            self._u = _push(self._u, u)
            self._y = _push(self._y, level)

    def _forecast(self, horizon: int) -> Counts:
        y, u, w_lags, e_lags = self._y, self._u, self._w, self._e
        out = np.empty((y.shape[0], horizon))
        for k in range(horizon):
            w = (self._ar * w_lags).sum(axis=1) + (self._ma * e_lags).sum(axis=1)
            next_u = w + self._mean + self._integrated(u)
            level = next_u + self._seasonal_base(y)
            w_lags = _push(w_lags, w)
            e_lags = _push(e_lags, np.zeros_like(w))  # future innovations are expected to be zero
            u, y = _push(u, next_u), _push(y, level)
            out[:, k] = level
        return out
