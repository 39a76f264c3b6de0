"""The hybrid forecaster: a weighted blend of its members, optionally re-weighted per function.

With `adaptive`, each function's member weights are the configured weights divided by that member's
recent absolute 1-minute-ahead error on that function (an exponentially weighted mean over
`adaptive_window_minutes`), normalised, so each function leans on whichever model suits it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from runtime.predictor.base import Counts, Forecaster
from runtime.predictor.interrupt import check_interrupted
from runtime.settings import HybridWeights

_ERROR_FLOOR = 1e-6  # keeps inverse-error weights finite for perfectly forecast (e.g. idle) functions


class HybridForecaster(Forecaster):
    """Blends member forecasts with fixed prior weights or per-function inverse-error weights."""

    name = "hybrid"

    def __init__(
        self,
        members: Sequence[Forecaster],
        weights: Sequence[float],
        adaptive: bool = False,
        adaptive_window_minutes: int = 60,
    ) -> None:
        super().__init__()
        if len(members) != len(weights) or not members:
            raise ValueError(
                f"hybrid needs one weight per member, got {len(members)} members and {len(weights)} weights"
            )
        prior = np.asarray(weights, dtype=np.float64)
        if (prior < 0).any() or prior.sum() <= 0:
            raise ValueError(f"hybrid weights must be non-negative and not all zero, got {list(weights)}")
        self.members = list(members)
        self.prior = prior / prior.sum()
        self.adaptive = adaptive
        self._alpha = 2.0 / (adaptive_window_minutes + 1.0)

    @classmethod
    def from_settings(cls, arima: Forecaster, lstm: Forecaster, settings: HybridWeights) -> HybridForecaster:
        """The platform's hybrid: ARIMA and LSTM with the configured weights."""
        return cls(
            [arima, lstm],
            [settings.arima_weight, settings.lstm_weight],
            adaptive=settings.adaptive,
            adaptive_window_minutes=settings.adaptive_window_minutes,
        )

    @property
    def min_history_minutes(self) -> int:
        return max(member.min_history_minutes for member in self.members)

    def weights(self) -> npt.NDArray[np.float64]:
        """Current weights, functions x members (each row sums to 1)."""
        prior = np.broadcast_to(self.prior, (self.n_functions, len(self.members)))
        if not self.adaptive or self._error is None:
            return prior.copy()
        raw = prior / (self._error + _ERROR_FLOOR)
        return raw / raw.sum(axis=1, keepdims=True)

    def _fit(self, history: Counts) -> None:
        for member in self.members:
            check_interrupted()
            member.fit(history)
        self._error: npt.NDArray[np.float64] | None = None
        self._pending: list[Counts] | None = None

    def _update(self, new_minutes: Counts) -> None:
        if self.adaptive:
            k = new_minutes.shape[1]
            pending = self._pending if self._pending and self._pending[0].shape[1] >= k else None
            forecasts = pending or [member.forecast(k) for member in self.members]
            error = np.stack([np.abs(f[:, :k] - new_minutes) for f in forecasts], axis=1)  # fn x member x k
            for minute in range(k):
                if self._error is None:
                    self._error = error[:, :, minute].copy()
                else:
                    self._error += self._alpha * (error[:, :, minute] - self._error)
        self._pending = None
        for member in self.members:
            member.update(new_minutes)

    def forecast_members(self, horizon: int) -> tuple[Counts, list[Counts]]:
        """The blend and each member's own forecast (functions x horizon), computed once."""
        forecasts = [member.forecast(horizon) for member in self.members]
        self._pending = forecasts  # the next update scores these against what actually happened
        stacked = np.stack(forecasts, axis=1)  # functions x members x horizon
        return np.maximum((stacked * self.weights()[:, :, None]).sum(axis=1), 0.0), forecasts

    def _forecast(self, horizon: int) -> Counts:
        return self.forecast_members(horizon)[0]
