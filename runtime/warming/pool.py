"""Instance-level warm pools: how many instances of each app to keep warm in the coming minute.

pool = ceil(predicted concurrency x prewarm_buffer), clamped to [min_warm_pool, max_warm_pool], where
predicted concurrency = forecast count x average duration / 60 s (Little's law). Whether an app is
warm at all is the predictive app-level decision; the forecast only sizes the pool, so a forecaster
that smears counts over quiet minutes does not keep idle apps warm. That is `forecast-pool`;
`predictive-pool` (`instance_pool.py`) lets each app follow it or a trailing-peak / quantile / hold
rule, whichever has cost least lately.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from runtime.predictor.base import Forecaster
from runtime.predictor.baselines import MovingAverageForecaster
from runtime.predictor.concurrency import expected_concurrency
from runtime.settings import RuntimeSettings, WarmingSettings
from runtime.warming.instance_pool import TrailingCostPool
from runtime.warming.policy import AppProfile, Counts, PoolPolicy, WarmingPolicy
from runtime.warming.predictive import make_predictive_policy


def pool_size(
    concurrency: npt.ArrayLike, settings: WarmingSettings, *, warm: npt.NDArray[np.bool_] | None = None
) -> Counts:
    """ceil(concurrency x prewarm_buffer) per app, at least 1 where `warm`, clamped to the pool bounds."""
    sized = np.ceil(np.asarray(concurrency, dtype=np.float64) * settings.prewarm_buffer).astype(np.int64)
    return clamp_pool(sized, settings, warm=warm)


def clamp_pool(sized: npt.ArrayLike, settings: WarmingSettings, *, warm: npt.NDArray[np.bool_] | None = None) -> Counts:
    """Instances per app, at least 1 where `warm` (0 where not), clamped to [min_warm_pool, max_warm_pool]."""
    pools = np.asarray(sized, dtype=np.int64)
    if warm is not None:
        pools = np.where(warm, np.maximum(pools, 1), 0)
    return np.clip(pools, settings.min_warm_pool, settings.max_warm_pool)


class PredictivePool(PoolPolicy):
    """Warm pool per app: gated by an app-level policy, sized by a count forecaster."""

    def __init__(
        self,
        gate: WarmingPolicy,
        forecaster: Forecaster,
        settings: WarmingSettings,
        *,
        name: str = "predictive-pool",
    ):
        self.gate = gate
        self.forecaster = forecaster
        self.settings = settings
        self.name = name

    def reset(self, profile: AppProfile, future: Counts | None = None) -> None:
        del future  # causal
        self.gate.reset(profile)
        self._duration_ms = profile.duration_ms
        self._fitted = False

    def warm_next(self) -> Counts:
        warm = self.gate.loaded_next()
        if self._fitted:
            counts = self.forecaster.expected(1)  # Little's law needs the mean, not a point forecast
        else:
            counts = np.zeros((warm.shape[0], 1))
        concurrency = expected_concurrency(counts, self._duration_ms)[:, 0]
        return pool_size(concurrency, self.settings, warm=warm)

    def observe(self, counts: Counts) -> None:
        self.gate.observe(counts)
        minute = counts[:, None]
        if self._fitted:
            self.forecaster.update(minute)
        else:
            self.forecaster.fit(minute)
            self._fitted = True

    def add_apps(self, duration_ms: npt.NDArray[np.float64]) -> None:
        """More apps for the forecaster; the gate is the caller's to extend (the warming service shares its own)."""
        self._duration_ms = np.concatenate([self._duration_ms, duration_ms])
        if self._fitted:
            self.forecaster.add_functions(len(duration_ms))

    def set_durations(self, duration_ms: npt.NDArray[np.float64]) -> None:
        self._duration_ms = np.asarray(duration_ms, dtype=np.float64)


def make_forecast_pool(settings: RuntimeSettings | None = None, gate: WarmingPolicy | None = None) -> PredictivePool:
    """`forecast-pool`: the predictive gate (or `gate`), pool sized from a 15-minute moving-average forecast."""
    settings = settings or RuntimeSettings()
    return PredictivePool(gate or make_predictive_policy(settings), MovingAverageForecaster(window=15),
                          settings.warming, name="forecast-pool")


def make_predictive_pool(settings: RuntimeSettings | None = None, gate: WarmingPolicy | None = None) -> TrailingCostPool:
    """`predictive-pool`: per app, the sizing rule with the lowest trailing cost, `forecast-pool` among them.

    `gate` decides which apps the `forecast` rule warms (default: a predictive policy of its own); the
    warming service passes the decisions of the policy it already keeps live (`services.warming_policy`)."""
    settings = settings or RuntimeSettings()
    return TrailingCostPool(make_forecast_pool(settings, gate), settings.warming.pool)
