"""The predictive warming policy: load an app in a minute when its expected cold-start cost beats idling.

Each minute, for every app, P = P(invocation in the next minute) comes from the causal signals of
`signals.py` and `recurrence.py` (idle-time hazard, wall-clock phase, gap echoes, earlier lags, the
common gap, survival, recent rates), weighed by a logistic model trained on a population of apps
(`population.py`), optionally recalibrated online on every app's past minutes (`calibration.py`). The
app is loaded when

    P x cold-start cost - (1 - P) x idle memory cost > cost threshold

where the cold-start cost is priced online to keep the wasted memory within `warming.budget`
(`budget.py`).

which pre-warms before predicted invocations (a timer's hazard and phase spike at its tick) and keeps alive
exactly while the expected saving pays for the memory. Loading one minute never commits the next, so
this per-minute rule is the cost-optimal decision for a calibrated P.
"""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from runtime.settings import RuntimeSettings, WarmingBudget
from runtime.warming.budget import BudgetController
from runtime.warming.calibration import OnlineLogistic
from runtime.warming.policy import AppProfile, Counts, Mask, WarmingPolicy
from runtime.warming.population import PopulationModel, population_features, shipped_model
from runtime.warming.recurrence import RecurrenceEvidence
from runtime.warming.signals import FEATURE_NAMES, Floats, Ints, InvocationSignals

_SECONDS_PER_MINUTE = 60.0
_Array = TypeVar("_Array", bound=npt.NDArray[Any])
_MB_PER_GB = 1024.0


class ProbabilityModel(StrEnum):
    """How P(invocation in the next minute) is estimated."""

    HAZARD = "hazard"
    """The per-app idle-time hazard alone."""
    CALIBRATED = "calibrated"
    """All `signals.py` evidence, weighed by a pooled logistic model refitted online from the hazard alone."""
    POPULATION = "population"
    """`signals.py` and `recurrence.py` evidence, weighed by the shipped population model (optionally recalibrated)."""


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
    ] = 3.0

    budget: WarmingBudget | None = Field(
        default=None, description="price cold starts online to keep wasted memory within this (None: fixed price)"
    )
    probability_model: ProbabilityModel = ProbabilityModel.POPULATION
    fine_tune: bool = Field(
        default=False,
        description="recalibrate the population model's logit online on the served apps (the calibrated model"
        " always refits its weights); off by default (docs/warming.md, ablation)",
    )
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
            "budget": settings.warming.budget,
        }
        return cls.model_validate({**prices, **knobs})


class PredictiveWarming(WarmingPolicy):
    """Load each app in the minutes where P(invocation) x cold-start cost outweighs its idle memory."""

    name = "predictive"

    def __init__(self, config: PredictiveConfig, model: PopulationModel | None = None):
        self.config = config
        self._model = model  # None: the shipped artifact, loaded when first needed

    def reset(self, profile: AppProfile, future: Counts | None = None) -> None:
        del future  # causal: never given the future
        cfg = self.config
        n = profile.n_apps
        self._forget()
        self._memory_mb = np.asarray(profile.memory_mb, dtype=np.float64)
        self._threshold_usd = cfg.cost_threshold_usd_per_hour / 60.0
        self.signals = InvocationSignals(n, cfg.horizon_minutes, cfg.prior_strength)
        self.recurrence: RecurrenceEvidence | None = None
        if cfg.probability_model is ProbabilityModel.POPULATION:
            if self._model is None:
                self._model = shipped_model()
            self.recurrence = RecurrenceEvidence(n, cfg.horizon_minutes)
            prior, prior_bias = np.ones(1), 0.0  # P = sigmoid(1 x the ensemble's logit + 0) until fine-tuned
        else:
            prior, prior_bias = np.zeros(len(FEATURE_NAMES)), 0.0
            prior[FEATURE_NAMES.index("hazard")] = 1.0  # the hazard alone until data says otherwise
        self._learns = cfg.probability_model is ProbabilityModel.CALIBRATED or (
            cfg.probability_model is ProbabilityModel.POPULATION and cfg.fine_tune
        )
        self.calibrator = OnlineLogistic(
            prior,
            prior_bias=prior_bias,
            # A model that never refits needs no rows: the deployed policy copies it every minute.
            capacity=cfg.calibration_rows if self._learns else cfg.calibration_window_minutes,
            window=cfg.calibration_window_minutes,
            l2=cfg.calibration_l2,
        )
        self.budget = (
            None
            if cfg.budget is None
            else BudgetController(
                cfg.budget, cold_start_usd=cfg.cold_start_usd, memory_gb_second_usd=cfg.memory_gb_second_usd, n_apps=n
            )
        )
        self._asked: tuple[Ints, Floats] | None = None

    def _forget(self) -> None:
        """The state changed: the decisions made from it so far no longer hold."""
        self._coming: tuple[Mask, Floats] | None = None
        self._after_silence: tuple[Mask, Floats] | None = None

    def set_memory(self, memory_mb: Floats) -> None:
        """Each app's memory (MB), which prices its idle minutes."""
        memory_mb = np.asarray(memory_mb, dtype=np.float64)
        if not np.array_equal(memory_mb, self._memory_mb):
            self._forget()
        self._memory_mb = memory_mb

    def add_apps(self, memory_mb: Floats) -> None:
        """Start deciding for more apps (one per entry of `memory_mb`), never invoked so far."""
        self._forget()
        self.signals.add_apps(len(memory_mb))
        if self.recurrence is not None:
            self.recurrence.add_apps(len(memory_mb))
        if self.budget is not None:
            self.budget.add_apps(len(memory_mb))
        self.set_memory(np.concatenate([self._memory_mb, memory_mb]))

    def probability_next(self) -> Floats:
        """P(invocation in the coming minute) per app (0 before its first one or beyond the horizon)."""
        p, self._asked = self._probability(self.calibrator, after_silence=False)
        return p

    def _probability(self, calibrator: OnlineLogistic, after_silence: bool) -> tuple[Floats, tuple[Ints, Floats] | None]:
        """P per app for the coming minute (`after_silence`: the one after it, had the coming one no invocation),
        and the apps and features it rests on (None for the hazard alone)."""
        apps, since = self.signals.candidates(after_silence)
        p = np.zeros(self.signals.last.shape[0])
        if self.config.probability_model is ProbabilityModel.HAZARD:
            p[apps] = self.signals.hazard_probability(apps, since, after_silence)
            return p, None
        if self.recurrence is not None:
            assert self._model is not None
            evidence = population_features(self.signals, self.recurrence, apps, since, after_silence)
            features = self._model.logit(evidence[:, self._model.columns])[:, None]
        else:
            features = self.signals.features(apps, since, after_silence)
        p[apps] = calibrator.probability(features)
        return p, (apps, features)

    def decide_next(self) -> tuple[Mask, Floats]:
        """Which apps are loaded in the coming minute, and the P(invocation) each decision rests on (computed once
        per state: read-only arrays)."""
        if self._coming is None:
            p = self.probability_next()
            self._coming = _read_only(self._decide(p, self.cold_start_usd)), _read_only(p)
        return self._coming

    def decide_after_silence(self) -> tuple[Mask, Floats]:
        """The decision (loaded, P) for the minute after the coming one, had the coming one no invocation, exactly
        as `observe` of a silent minute and then `decide_next` would make it, without changing this policy (the
        warming service decides a minute behind its data: `runtime.warming.deployed`). Computed once per state."""
        if self._after_silence is not None:
            return self._after_silence
        coming, _ = self.decide_next()  # what the silent minute books, and its calibration rows
        silent = np.zeros(coming.size, dtype=np.int64)
        price = self.config.cold_start_usd
        if self.budget is not None:  # the budget books the coming minute as decided, which moves the price
            price = self.budget.after(coming, silent, self._memory_mb).cold_start_usd
        calibrator = self.calibrator
        if self._learns and (self.signals.t + 1) % self.config.refit_every_minutes == 0:
            calibrator = copy.deepcopy(calibrator)  # the silent minute ends with a refit on its rows too
            if self._asked is not None:
                apps, features = self._asked
                calibrator.add(features, silent[apps] > 0)
            calibrator.refit()
        p, _ = self._probability(calibrator, after_silence=True)
        self._after_silence = _read_only(self._decide(p, price)), _read_only(p)
        return self._after_silence

    def _decide(self, p: Floats, cold_start_usd: float) -> Mask:
        """Load where P x the cold-start price (more for rarely seen apps) beats the idle memory's price."""
        cfg = self.config
        rarity = 1.0 + cfg.rarity_weight / np.maximum(self.signals.invocations, 1.0)
        saving = p * cold_start_usd * rarity - (1.0 - p) * self._memory_mb * cfg.memory_mb_minute_usd
        return (p > 0) & (saving > self._threshold_usd)

    @property
    def learns(self) -> bool:
        """Whether the minutes it observes refit its model (then each minute's prediction is a training row)."""
        return self._learns

    @property
    def cold_start_usd(self) -> float:
        """The cold-start price of the coming minute's decisions: the budget's, else the configured one."""
        return self.config.cold_start_usd if self.budget is None else self.budget.cold_start_usd

    def loaded_next(self) -> Mask:
        return self.decide_next()[0]

    def observe(self, counts: Counts, loaded: Mask | None = None) -> None:
        """Reveal the minute's counts; `loaded` is what was actually warm in it (default: this policy's decision)."""
        if self.budget is not None:
            if loaded is None:
                loaded = self.decide_next()[0]
            self.budget.record(loaded, counts, self._memory_mb)
        self._forget()
        if self._asked is not None:
            if self._learns:  # what was predicted becomes training data, labelled by what happened
                apps, features = self._asked
                self.calibrator.add(features, counts[apps] > 0)
            self._asked = None
        self.signals.observe(counts)
        if self.recurrence is not None:
            self.recurrence.observe(counts > 0)
        if self._learns and self.signals.t % self.config.refit_every_minutes == 0:
            self.calibrator.refit()


def _read_only(values: _Array) -> _Array:
    """`values`, no longer writable: the policy hands the same decision to every caller until its state changes."""
    values.flags.writeable = False
    return values


def make_predictive_policy(settings: RuntimeSettings | None = None) -> PredictiveWarming:
    """The registry's factory: the predictive policy priced by `settings` (defaults if None)."""
    return PredictiveWarming(PredictiveConfig.from_settings(settings or RuntimeSettings()))
