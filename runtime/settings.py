"""Every knob of prediction, warming, placement and cost, defined once.

The Pulumi stack config embeds `RuntimeSettings` under `runtime:`, the control plane renders it into
a ConfigMap (`settings.yaml`), and the services load it back (`runtime.api.config.ServiceSettings.runtime`).
Defaults follow the deployment guide the platform was built from; its "tuned" values are noted.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from runtime.contract import Tier


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HybridWeights(_Strict):
    """How the hybrid forecaster blends its members."""

    arima_weight: Annotated[float, Field(ge=0, le=1)] = 0.4
    lstm_weight: Annotated[float, Field(ge=0, le=1)] = 0.6
    adaptive: bool = Field(
        default=True,
        description="Re-weight the members by their inverse recent error (the configured weights are the prior).",
    )
    adaptive_window_minutes: Annotated[int, Field(ge=5)] = 60

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> Self:
        if abs(self.arima_weight + self.lstm_weight - 1.0) > 1e-6:
            raise ValueError(
                f"arima_weight + lstm_weight must be 1.0 (got {self.arima_weight} + {self.lstm_weight})"
            )
        return self


class ForecasterName(StrEnum):
    """The forecasters `isf forecast-eval` compares and the predictor service can run."""

    NAIVE_LAST = "naive-last"
    MOVING_AVERAGE = "moving-average"
    ARIMA = "arima"
    LSTM = "lstm"
    HYBRID = "hybrid"
    ENSEMBLE = "ensemble"


class Combination(StrEnum):
    """How the ensemble turns its members' trailing errors into one forecast."""

    SELECT = "select"
    """Each function follows its member with the lowest trailing error."""
    WEIGHTED = "weighted"
    """Each function blends its `top_k` members, weighted by inverse trailing error."""
    MEDIAN = "median"
    """Each function takes the weighted median of every member's forecast, a member's weight falling
    exponentially with how much its trailing error exceeds the best one's (`temperature`)."""


class SelectionError(StrEnum):
    """The trailing error the ensemble ranks members by."""

    ABSOLUTE = "absolute"
    """Absolute error: what WAPE scores; favours median-like members on bursty functions."""
    SQUARED = "squared"
    """Squared error: favours mean-like members, so the forecast stays an expected count."""


class EnsembleSettings(_Strict):
    """The default forecaster: per function, follow whichever member forecast best lately."""

    half_life_minutes: Annotated[
        float, Field(gt=0, le=10_000, description="a member's error from this many minutes ago weighs half")
    ] = 20.0
    combination: Combination = Combination.MEDIAN
    top_k: Annotated[int, Field(ge=1, le=64, description="members blended per function when weighted")] = 3
    temperature: Annotated[
        float,
        Field(
            gt=0,
            le=10,
            description="median: weight exp(-(error / best error - 1) / temperature); smaller follows the best member more",
        ),
    ] = 0.1
    error: SelectionError = SelectionError.ABSOLUTE
    models: bool = Field(
        default=True, description="include the ARIMA/LSTM hybrid and its two members (false: cheap members only)"
    )
    warmup_minutes: Annotated[
        int,
        Field(
            ge=0,
            le=1440,
            description="fit on all but the last N minutes of history, then score every member over them",
        ),
    ] = 60
    models_warmup_minutes: Annotated[
        int,
        Field(
            ge=1,
            le=1440,
            description="of those, the last N minutes also score the ARIMA/LSTM hybrid and its members "
            "(a forecast each, what a fit for many functions spends most of its time on)",
        ),
    ] = 20


class LstmSettings(_Strict):
    """The global LSTM shared by all functions (the guide tunes 256 x 4 for complex patterns)."""

    # Measured with `isf forecast-eval` on sampled-500fn-1day: many small steps train best on CPU, and
    # one 64-unit layer matches two (1-minute WAPE 31 % before the seasonal-lag inputs) at half the cost.
    hidden_size: Annotated[int, Field(ge=4, le=1024)] = 64
    num_layers: Annotated[int, Field(ge=1, le=8)] = 1
    lookback_minutes: Annotated[int, Field(ge=8, le=1440)] = 60
    epochs: Annotated[int, Field(ge=1, le=500)] = 60
    batch_size: Annotated[int, Field(ge=8)] = 64
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 1e-2


class ArimaSettings(_Strict):
    """ARIMA order search bounds."""

    max_p: Annotated[int, Field(ge=0, le=5)] = 2
    max_d: Annotated[int, Field(ge=0, le=2)] = 1
    max_q: Annotated[int, Field(ge=0, le=5)] = 2
    refit_every_minutes: Annotated[int, Field(ge=1)] = 60


class PredictionSettings(_Strict):
    """Forecasting cadence and model shape."""

    update_interval: Annotated[int, Field(ge=1, le=3600, description="seconds between forecast refreshes")] = 30
    retrain_interval: Annotated[int, Field(ge=60, description="seconds between model retrains")] = 3600
    history_window: Annotated[int, Field(ge=3600, description="seconds of history used to train")] = 86400
    horizon_minutes: Annotated[int, Field(ge=1, le=240)] = 15
    forecaster: ForecasterName = Field(
        default=ForecasterName.ENSEMBLE,
        description="what the predictor service and `isf train` run (docs/benchmarks.md compares them)",
    )
    ensemble: EnsembleSettings = EnsembleSettings()
    hybrid: HybridWeights = HybridWeights()
    lstm: LstmSettings = LstmSettings()
    arima: ArimaSettings = ArimaSettings()


class KeepAliveSettings(_Strict):
    """Keep an idle instance while its expected cold-start cost exceeds its idle cost."""

    cost_threshold: Annotated[
        float,
        Field(ge=0, description="USD per warm hour: keep warm while expected saving - idle cost exceeds this"),
    ] = 0.001
    max_minutes: Annotated[int, Field(ge=1, le=1440)] = 240


class PoolSettings(_Strict):
    """Instance-level pool sizing: per app, follow the sizing rule with the lowest trailing cost."""

    cold_start_weight: Annotated[
        float,
        Field(
            gt=0,
            description="idle instance-minutes one instance cold start is worth when ranking sizing rules",
        ),
    ] = 12.0
    half_life_minutes: Annotated[
        float, Field(gt=0, le=10_000, description="a rule's cost from this many minutes ago weighs half")
    ] = 34.0
class BudgetKind(StrEnum):
    """How `warming.budget.value` is expressed."""

    RELATIVE_TO_FIXED10 = "relative_to_fixed10"
    """A multiple of the memory a fixed 10-minute keep-alive would waste on the same invocations."""
    MB_MINUTES_PER_DAY = "mb_minutes_per_day"
    GB_HOURS_PER_DAY = "gb_hours_per_day"
    USD_PER_DAY = "usd_per_day"
    """Converted to MB-minutes with `cost.memory_gb_second_usd`."""


class WarmingBudget(_Strict):
    """The wasted (warm but idle) memory the predictive policy may spend; it prices warm memory to stay within it."""

    kind: BudgetKind = BudgetKind.RELATIVE_TO_FIXED10
    value: Annotated[float, Field(gt=0, description="the budget, in the unit `kind` names")] = 1.0

    def mb_minutes_per_minute(self, memory_gb_second_usd: float) -> float | None:
        """The budget's pace in MB-minutes per minute; None for a budget relative to fixed-10 (known online only)."""
        match self.kind:
            case BudgetKind.RELATIVE_TO_FIXED10:
                return None
            case BudgetKind.MB_MINUTES_PER_DAY:
                return self.value / 1440.0
            case BudgetKind.GB_HOURS_PER_DAY:
                return self.value * 1024.0 * 60.0 / 1440.0
            case BudgetKind.USD_PER_DAY:
                if memory_gb_second_usd <= 0:
                    raise ValueError("a budget in usd_per_day needs cost.memory_gb_second_usd > 0")
                return self.value / (memory_gb_second_usd * 60.0 / 1024.0) / 1440.0


class WarmingSettings(_Strict):
    """Warm-pool sizing: pool = ceil(predicted concurrency x prewarm_buffer) in [min, max]."""

    interval: Annotated[int, Field(ge=1, le=3600, description="seconds between warming passes")] = 30
    prewarm_buffer: Annotated[float, Field(ge=1.0, le=10.0)] = 1.5
    min_warm_pool: Annotated[int, Field(ge=0)] = 0
    max_warm_pool: Annotated[int, Field(ge=1)] = 100
    keep_alive: KeepAliveSettings = KeepAliveSettings()
    pool: PoolSettings = PoolSettings()
    budget: WarmingBudget = Field(
        default=WarmingBudget(),
        description="wasted-memory budget of the predictive policy (default: what fixed-10 would waste)",
    )
    dry_run: bool = False
    predictive_gate: bool = Field(
        default=True,
        description="decide which functions are warm with the predictive policy `isf simulate` measures "
        "(false: from the forecast alone, as a Poisson mean)",
    )
    replay_minutes: Annotated[
        int,
        Field(
            ge=60,
            le=10080,
            description="stored invocation minutes replayed through the predictive policy when the service"
            " starts, or after a pause longer than this",
        ),
    ] = 720
    stale_after_minutes: Annotated[
        int,
        Field(
            ge=1,
            le=60,
            description="with no invocation stored for this long, the predictive policy is not trusted "
            "(an ingest outage would look like silence) and the forecast decides",
        ),
    ] = 5

    @model_validator(mode="after")
    def _pool_bounds_ordered(self) -> Self:
        if self.min_warm_pool > self.max_warm_pool:
            raise ValueError(
                f"min_warm_pool ({self.min_warm_pool}) must not exceed max_warm_pool ({self.max_warm_pool})"
            )
        return self

    @model_validator(mode="after")
    def _gate_decides_every_minute(self) -> Self:
        if self.predictive_gate and self.interval > 60:
            raise ValueError(
                f"interval ({self.interval} s) must be at most 60 while predictive_gate is on:"
                " the predictive policy decides a minute at a time"
            )
        return self


class CostWeights(_Strict):
    """Objective weights of the placement optimizer."""

    user_latency: Annotated[float, Field(ge=0)] = 1.0
    resource_utilization: Annotated[float, Field(ge=0)] = 1.0


class PlacementSettings(_Strict):
    """Tier placement cadence, objective and limits."""

    optimization_interval: Annotated[int, Field(ge=10, description="seconds between placement runs")] = 600
    cost_weights: CostWeights = CostWeights()
    migration_penalty: Annotated[float, Field(ge=0)] = 1.0
    max_migrations_per_interval: Annotated[int, Field(ge=0)] = 20
    milp_max_functions: Annotated[int, Field(ge=1, description="above this, use the greedy heuristic")] = 2000
    milp_time_limit_s: Annotated[float, Field(gt=0)] = 1.5
    tier_latency_ms: dict[Tier, Annotated[float, Field(ge=0)]] = Field(
        default={Tier.EDGE: 5.0, Tier.REGIONAL: 25.0, Tier.CLOUD: 80.0},
        description="users' round-trip latency to each tier, used by the placement service (guide: edge < 10 ms)",
    )


class CostSettings(_Strict):
    """Prices used to weigh warm memory against cold starts (USD)."""

    target_cost_reduction: Annotated[float, Field(ge=0, lt=1)] = 0.30
    memory_gb_second_usd: Annotated[float, Field(ge=0)] = 0.0000166667
    # 0.02 USD is about 20,000 MB-minutes of idle memory at the default memory price: the largest
    # price at which the predictive policy stays within fixed-10's memory on the 8-hour tuning trace
    # (benchmarks/warming_bench.py, docs/warming.md).
    cold_start_usd: Annotated[float, Field(gt=0, description="price of one cold start's user-visible delay")] = 0.02
    tier_cpu_hour_usd: dict[Tier, Annotated[float, Field(ge=0)]] = {
        Tier.EDGE: 0.060,
        Tier.REGIONAL: 0.040,
        Tier.CLOUD: 0.030,
    }


class AlertChannelType(StrEnum):
    SLACK = "slack"
    EMAIL = "email"


class AlertChannel(_Strict):
    """One Alertmanager receiver."""

    type: AlertChannelType
    webhook: SecretStr | None = None
    addresses: list[str] = []

    @model_validator(mode="after")
    def _channel_has_target(self) -> Self:
        if self.type is AlertChannelType.SLACK and self.webhook is None:
            raise ValueError("a slack channel needs 'webhook'")
        if self.type is AlertChannelType.EMAIL and not self.addresses:
            raise ValueError("an email channel needs at least one address in 'addresses'")
        return self


class AlertSettings(_Strict):
    enabled: bool = True
    channels: list[AlertChannel] = []


class RetentionSettings(_Strict):
    """How long the store keeps invocations and forecasts, counted back from the newest stored minute
    (runtime/store/retention.py); the predictor service prunes the older rows."""

    invocations_days: Annotated[int, Field(ge=1, le=3650, description="days of per-minute invocations kept")] = 30
    forecasts_days: Annotated[int, Field(ge=1, le=3650, description="days of stored forecasts kept")] = 7
    interval: Annotated[int, Field(ge=60, le=86400, description="seconds between prunes")] = 3600


class RuntimeSettings(_Strict):
    """The whole runtime configuration; the stack config's `runtime:` key."""

    prediction: PredictionSettings = PredictionSettings()
    warming: WarmingSettings = WarmingSettings()
    placement: PlacementSettings = PlacementSettings()
    cost: CostSettings = CostSettings()
    alerts: AlertSettings = AlertSettings()
    retention: RetentionSettings = RetentionSettings()

    @model_validator(mode="after")
    def _history_is_kept(self) -> Self:
        if self.retention.invocations_days * 86400 < self.prediction.history_window:
            raise ValueError(
                f"retention.invocations_days ({self.retention.invocations_days}) keeps less than"
                f" prediction.history_window ({self.prediction.history_window} s): training would read deleted minutes"
            )
        return self

    @classmethod
    def load(cls, path: str | Path | None = None) -> RuntimeSettings:
        """Read settings from `path`, else the defaults (a service's come from $ISF_SETTINGS_FILE, through
        `runtime.api.config.ServiceSettings`)."""
        if not path:
            return cls()
        data: Any = yaml.safe_load(Path(path).read_text()) or {}
        return cls.model_validate(data)

    def to_yaml(self, *, reveal_secrets: bool = False) -> str:
        """Serialise for a ConfigMap/Secret; secrets are masked unless `reveal_secrets`."""
        data = self.model_dump(mode="json")
        if reveal_secrets:
            for i, channel in enumerate(self.alerts.channels):
                if channel.webhook is not None:
                    data["alerts"]["channels"][i]["webhook"] = channel.webhook.get_secret_value()
        return yaml.safe_dump(data, sort_keys=True)
