"""The predictive warming policy: load an app in a minute when its expected cold-start cost beats idling.

Each minute, for every app, P = P(invocation in the next minute | minutes since its last one) comes
from `IdleTimeHazard`. The app is loaded when

    P x cold-start cost - (1 - P) x idle memory cost > cost threshold

which pre-warms before predicted invocations (a timer's hazard spikes at its period) and keeps alive
exactly while the expected saving pays for the memory. Loading one minute never commits the next, so
this per-minute rule is the cost-optimal decision for a calibrated P.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from runtime.settings import RuntimeSettings
from runtime.warming.hazard import IdleTimeHazard
from runtime.warming.policy import AppProfile, Counts, Mask, WarmingPolicy

_SECONDS_PER_MINUTE = 60.0
_MB_PER_GB = 1024.0


class PredictiveConfig(BaseModel):
    """Prices and estimator knobs of the predictive policy (prices come from `RuntimeSettings`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cold_start_usd: Annotated[float, Field(gt=0)]
    memory_gb_second_usd: Annotated[float, Field(ge=0)]
    cost_threshold_usd_per_hour: Annotated[
        float,
        Field(ge=0, description="net expected saving a warm hour must clear (keep_alive.cost_threshold)"),
    ] = 0.0
    horizon_minutes: Annotated[
        int, Field(ge=1, le=1440, description="never warm longer after an invocation")
    ] = 240
    prior_strength: Annotated[
        float,
        Field(gt=0, description="pseudo-minutes of pooled experience each app's own estimate starts from"),
    ] = 1.0
    rarity_weight: Annotated[
        float,
        Field(
            ge=0,
            description="a cold start of an app seen k times costs (1 + rarity_weight / k) x the base price: "
            "it hits a larger share of that app's users",
        ),
    ] = 10.0

    @property
    def memory_mb_minute_usd(self) -> float:
        return self.memory_gb_second_usd * _SECONDS_PER_MINUTE / _MB_PER_GB

    @classmethod
    def from_settings(cls, settings: RuntimeSettings, **knobs: float) -> PredictiveConfig:
        """Prices and threshold from `settings`; `knobs` override the estimator defaults."""
        prices = {
            "cold_start_usd": settings.cost.cold_start_usd,
            "memory_gb_second_usd": settings.cost.memory_gb_second_usd,
            "cost_threshold_usd_per_hour": settings.warming.keep_alive.cost_threshold,
            "horizon_minutes": settings.warming.keep_alive.max_minutes,
        }
        return cls.model_validate({**prices, **knobs})


class PredictiveWarming(WarmingPolicy):
    """Load each app in the minutes where P(invocation) x cold-start cost outweighs its idle memory."""

    name = "predictive"

    def __init__(self, config: PredictiveConfig):
        self.config = config

    def reset(self, profile: AppProfile, future: Counts | None = None) -> None:
        del future  # causal: never given the future
        cfg = self.config
        n = profile.n_apps
        self._idle_usd = profile.memory_mb * cfg.memory_mb_minute_usd
        self._threshold_usd = cfg.cost_threshold_usd_per_hour / 60.0
        self._hazard = IdleTimeHazard(n, cfg.horizon_minutes, cfg.prior_strength)
        self._t = 0
        self._last = np.full(n, -1, dtype=np.int64)
        self._invocations = np.zeros(n, dtype=np.float64)

    def probability_next(self) -> np.ndarray:
        """P(invocation in the coming minute) per app (0 before an app's first invocation)."""
        p = np.zeros(self._last.shape[0])
        seen = np.flatnonzero(self._last >= 0)
        if seen.size:
            p[seen] = self._hazard.probability(seen, self._t - self._last[seen])
        return p

    def loaded_next(self) -> Mask:
        cfg = self.config
        p = self.probability_next()
        cold_usd = cfg.cold_start_usd * (1.0 + cfg.rarity_weight / np.maximum(self._invocations, 1.0))
        since = self._t - self._last
        in_horizon = (self._last >= 0) & (since <= cfg.horizon_minutes)
        return in_horizon & (p * cold_usd - (1.0 - p) * self._idle_usd > self._threshold_usd)

    def observe(self, counts: Counts) -> None:
        invoked = counts > 0
        seen = np.flatnonzero(self._last >= 0)
        if seen.size:
            self._hazard.record(seen, self._t - self._last[seen], invoked[seen])
        self._invocations += counts
        self._last[invoked] = self._t
        self._t += 1


def make_predictive_policy(settings: RuntimeSettings | None = None) -> PredictiveWarming:
    """The registry's factory: the predictive policy priced by `settings` (defaults if None)."""
    return PredictiveWarming(PredictiveConfig.from_settings(settings or RuntimeSettings()))
