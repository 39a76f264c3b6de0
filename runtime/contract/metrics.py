"""The Prometheus series the runtime exports, by name: the services register them, dashboards and alerts query them.

A service creates its collectors from these definitions (`FORECAST_WAPE.gauge(registry)`), so a name,
type or label set cannot drift between the exporter and the queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class MetricType(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class Metric:
    """One exported metric: name (counters end in `_total`), type, label names, help text."""

    name: str
    type: MetricType
    labels: tuple[str, ...]
    help: str
    buckets: tuple[float, ...] = ()

    def series(self) -> set[str]:
        """The series names Prometheus holds for this metric (a histogram's parts)."""
        if self.type is MetricType.HISTOGRAM:
            return {f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count"}
        return {self.name}

    def _check(self, kind: MetricType) -> None:
        if self.type is not kind:
            raise TypeError(f"{self.name} is a {self.type.value}, not a {kind.value}")

    def counter(self, registry: CollectorRegistry) -> Counter:
        from prometheus_client import Counter

        self._check(MetricType.COUNTER)
        return Counter(self.name, self.help, self.labels, registry=registry)

    def gauge(self, registry: CollectorRegistry) -> Gauge:
        from prometheus_client import Gauge

        self._check(MetricType.GAUGE)
        return Gauge(self.name, self.help, self.labels, registry=registry)

    def histogram(self, registry: CollectorRegistry) -> Histogram:
        from prometheus_client import Histogram

        self._check(MetricType.HISTOGRAM)
        return Histogram(self.name, self.help, self.labels, registry=registry, buckets=self.buckets)


def _counter(name: str, labels: Sequence[str], help: str) -> Metric:
    return Metric(name, MetricType.COUNTER, tuple(labels), help)


def _gauge(name: str, labels: Sequence[str], help: str) -> Metric:
    return Metric(name, MetricType.GAUGE, tuple(labels), help)


def _histogram(name: str, labels: Sequence[str], help: str, buckets: Sequence[float]) -> Metric:
    return Metric(name, MetricType.HISTOGRAM, tuple(labels), help, tuple(buckets))


# Functions: what the platform observes of every invocation.
INVOCATIONS = _counter("isf_invocations_total", ("function", "tier"), "Function invocations.")
COLD_STARTS = _counter("isf_cold_starts_total", ("function", "tier"), "Invocations that found no warm instance.")
# Invocation latency is measured by Knative's queue-proxy: runtime/contract/knative_series.INVOCATION_DURATION.
COST = _counter(
    "isf_cost_usd_total", ("kind", "tier"), "Accumulated cost in USD; kind is warm_memory or cold_start."
)

# Predictor.
FORECAST_WAPE = _gauge(
    "isf_forecast_wape", ("model",),
    "Weighted absolute percentage error of the last evaluation window, as a ratio (0.2 = 20 %).",
)
FORECAST_MAPE = _gauge(
    "isf_forecast_mape", ("model",), "Mean absolute percentage error over minutes with invocations, as a ratio."
)
FUNCTION_FORECAST_WAPE = _gauge(
    "isf_function_forecast_wape", ("function",), "WAPE of one function's forecasts (last hour)."
)
FUNCTION_FORECAST_MAPE = _gauge(
    "isf_function_forecast_mape", ("function",), "MAPE of one function's forecasts (last hour)."
)
PREDICTED_INVOCATIONS = _gauge(
    "isf_predicted_invocations", ("function",), "Forecast invocations for the next minute."
)
MODEL_LAST_TRAINED = _gauge(
    "isf_model_last_trained_timestamp_seconds", ("model",), "Unix time of the last retrain."
)
PRUNED_ROWS = _counter(
    "isf_store_pruned_rows_total", ("table",),
    "Rows the retention prune deleted (table: invocations or forecasts; runtime/store/retention.py).",
)

# Warming.
WARM_POOL_SIZE = _gauge("isf_warm_pool_size", ("function", "tier"), "Warm instances held now.")
WARM_POOL_TARGET = _gauge("isf_warm_pool_target", ("function",), "Warm instances the controller asked for.")
WASTED_MEMORY = _counter(
    "isf_wasted_memory_mb_seconds_total", ("function", "tier"), "Memory held by idle warm instances (MB x seconds)."
)
WARMING_BUDGET = _counter(
    "isf_warming_budget_mb_minutes_total", (), "Wasted-memory budget accrued (MB-minutes)."
)
WARMING_SPEND = _counter(
    "isf_warming_spend_mb_minutes_total", (), "Wasted memory spent by warm idle functions (MB-minutes)."
)
WARMING_COLD_START_PRICE = _gauge(
    "isf_warming_cold_start_price", (), "Cold-start price (USD) the budget controller decides with."
)
WARMING_BUDGET_PER_DAY = _gauge(
    "isf_warming_budget_mb_minutes_per_day", (), "The budget's pace over the last booked minutes, per day (MB-minutes)."
)

# Placement.
PLACEMENT_MIGRATIONS = _counter(
    "isf_placement_migrations_total", ("from_tier", "to_tier"), "Functions moved between tiers."
)
PLACED_FUNCTIONS = _gauge("isf_placement_functions", ("tier",), "Functions placed on each tier.")
PLACEMENT_OBJECTIVE = _gauge(
    "isf_placement_objective", (), "Objective value of the last placement solution (lower is better)."
)
PLACEMENT_SOLVE = _histogram(
    "isf_placement_solve_seconds", ("solver",), "Time to compute one placement.",
    (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)

# Every service: control loops, HTTP, data stores.
CONTROL_PASS_SECONDS = _histogram(
    "isf_control_pass_seconds", ("loop",), "Duration of one control-loop pass.",
    (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
CONTROL_PASS_FAILURES = _counter("isf_control_pass_failures_total", ("loop",), "Control-loop passes that raised.")
CONTROL_LAST_SUCCESS = _gauge(
    "isf_control_last_success_timestamp_seconds", ("loop",), "Unix time of the last successful pass."
)
CONTROL_LEADER = _gauge(
    "isf_control_leader", ("loop",), "1 while this replica leads (and so acts), 0 while it stands by."
)
HTTP_REQUESTS = _counter(
    "isf_http_requests_total", ("service", "method", "route", "status"), "HTTP requests served."
)
HTTP_REQUEST_DURATION = _histogram(
    "isf_http_request_duration_seconds", ("service", "method", "route"), "HTTP request latency.",
    (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5),
)
DATABASE_UP = _gauge("isf_database_up", (), "1 if the last database check succeeded.")
REDIS_UP = _gauge("isf_redis_up", (), "1 if Redis answered the last call, 0 if degraded.")
REDIS_ERRORS = _counter("isf_redis_errors_total", ("operation",), "Redis calls that failed (services fell back).")

ALL_METRICS: tuple[Metric, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Metric))


def series_names() -> set[str]:
    """Every series name Prometheus will hold, histogram parts included."""
    return set().union(*(metric.series() for metric in ALL_METRICS))
