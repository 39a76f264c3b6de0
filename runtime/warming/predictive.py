"""The predictive warming policy: load an app in a minute when its expected cold-start cost beats idling.

Each minute, for every app, P = P(invocation in the next minute) comes from the causal signals of
`signals.py` (idle-time hazard, wall-clock phase, gap echoes, recent activity), weighed by a pooled
logistic model refitted online on every app's past minutes (`calibration.py`). The app is loaded when

    P x cold-start cost - (1 - P) x idle memory cost > cost threshold

which pre-warms before predicted invocations (a timer's hazard and phase spike at its tick) and keeps alive
exactly while the expected saving pays for the memory. Loading one minute never commits the next, so
this per-minute rule is the cost-optimal decision for a calibrated P.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from runtime.settings import RuntimeSettings
from runtime.warming.calibration import OnlineLogistic
from runtime.warming.policy import AppProfile, Counts, Mask, WarmingPolicy
from runtime.warming.signals import FEATURE_NAMES, Floats, Ints, InvocationSignals

_SECONDS_PER_MINUTE = 60.0
_MB_PER_GB = 1024.0


class ProbabilityModel(StrEnum):
    """How P(invocation in the next minute) is estimated."""

    HAZARD = "hazard"
    """The per-app idle-time hazard alone."""
    CALIBRATED = "calibrated"
    """All `signals.py` evidence, weighed by a pooled logistic model refitted online."""


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

    probability_model: ProbabilityModel = ProbabilityModel.CALIBRATED
    refit_every_minutes: Annotated[
        int, Field(ge=1, description="minutes between refits of the pooled logistic model")
    ] = 60
    calibration_rows: Annotated[
        int, Field(ge=1000, description="app-minutes (sampled) the logistic model is refitted on")
    ] = 60_000
    calibration_window_minutes: Annotated[
        int, Field(ge=1, le=100_000, description="the sampled app-minutes span at least this many minutes")
    ] = 720
    calibration_l2: Annotated[float, Field(gt=0, description="L2 penalty of the logistic weights")] = 1.0

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
        self.set_memory(profile.memory_mb)
        self._threshold_usd = cfg.cost_threshold_usd_per_hour / 60.0
        self.signals = InvocationSignals(n, cfg.horizon_minutes, cfg.prior_strength)
        hazard_only = np.zeros(len(FEATURE_NAMES))
        hazard_only[FEATURE_NAMES.index("hazard")] = 1.0
        self.calibrator = OnlineLogistic(
            hazard_only,
            capacity=cfg.calibration_rows,
            window=cfg.calibration_window_minutes,
            l2=cfg.calibration_l2,
        )
        self._asked: tuple[Ints, Floats] | None = None

    def set_memory(self, memory_mb: Floats) -> None:
        """Each app's memory (MB), which prices its idle minutes."""
        self._memory_mb = np.asarray(memory_mb, dtype=np.float64)

    def add_apps(self, memory_mb: Floats) -> None:
        """Start deciding for more apps (one per entry of `memory_mb`), never invoked so far."""
        self.signals.add_apps(len(memory_mb))
        self.set_memory(np.concatenate([self._memory_mb, memory_mb]))

    def probability_next(self) -> Floats:
        """P(invocation in the coming minute) per app (0 before its first one or beyond the horizon)."""
        apps, since = self.signals.candidates()
        p = np.zeros(self.signals.last.shape[0])
        if self.config.probability_model is ProbabilityModel.HAZARD:
            p[apps] = self.signals.hazard.probability(apps, since)
            return p
        features = self.signals.features(apps, since)
        self._asked = (apps, features)
        p[apps] = self.calibrator.probability(features)
        return p

    def decide_next(self) -> tuple[Mask, Floats]:
        """Which apps are loaded in the coming minute, and the P(invocation) each decision rests on."""
        cfg = self.config
        p = self.probability_next()
        rarity = 1.0 + cfg.rarity_weight / np.maximum(self.signals.invocations, 1.0)
        saving = p * cfg.cold_start_usd * rarity - (1.0 - p) * self._memory_mb * cfg.memory_mb_minute_usd
        return (p > 0) & (saving > self._threshold_usd), p

    def loaded_next(self) -> Mask:
        return self.decide_next()[0]

    def observe(self, counts: Counts) -> None:
        if self._asked is not None:  # what was predicted becomes training data, labelled by what happened
            apps, features = self._asked
            self.calibrator.add(features, counts[apps] > 0)
            self._asked = None
        self.signals.observe(counts)
        calibrated = self.config.probability_model is ProbabilityModel.CALIBRATED
        if calibrated and self.signals.t % self.config.refit_every_minutes == 0:
            self.calibrator.refit()


def make_predictive_policy(settings: RuntimeSettings | None = None) -> PredictiveWarming:
    """The registry's factory: the predictive policy priced by `settings` (defaults if None)."""
    return PredictiveWarming(PredictiveConfig.from_settings(settings or RuntimeSettings()))
