"""The Prometheus metrics the runtime exports, by name: dashboards and alerts are written against these.

Runtime services (`runtime/…`) must export exactly these names and labels with prometheus-client;
the platform's ServiceMonitors scrape them from the `metrics` port of every control-plane service.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MetricType(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class Metric:
    """One exported metric: name, type, label names and help text."""

    name: str
    type: MetricType
    labels: tuple[str, ...]
    help: str


INVOCATIONS = Metric("isf_invocations_total", MetricType.COUNTER, ("function", "tier"), "Function invocations.")
COLD_STARTS = Metric(
    "isf_cold_starts_total", MetricType.COUNTER, ("function", "tier"), "Invocations that found no warm instance."
)
REQUEST_DURATION = Metric(
    "isf_request_duration_seconds", MetricType.HISTOGRAM, ("function", "tier"), "End-to-end invocation latency."
)
FORECAST_WAPE = Metric(
    "isf_forecast_wape", MetricType.GAUGE, ("model",),
    "Weighted absolute percentage error of the last evaluation window, as a ratio (0.2 = 20 %).",
)
FORECAST_MAPE = Metric(
    "isf_forecast_mape", MetricType.GAUGE, ("model",),
    "Mean absolute percentage error over minutes with invocations, as a ratio.",
)
PREDICTED_INVOCATIONS = Metric(
    "isf_predicted_invocations", MetricType.GAUGE, ("function",), "Forecast invocations for the next minute."
)
MODEL_LAST_TRAINED = Metric(
    "isf_model_last_trained_timestamp_seconds", MetricType.GAUGE, ("model",), "Unix time of the last retrain."
)
WARM_POOL_SIZE = Metric("isf_warm_pool_size", MetricType.GAUGE, ("function", "tier"), "Warm instances held now.")
WARM_POOL_TARGET = Metric(
    "isf_warm_pool_target", MetricType.GAUGE, ("function",), "Warm instances the controller asked for."
)
WASTED_MEMORY = Metric(
    "isf_wasted_memory_mb_seconds_total", MetricType.COUNTER, ("function", "tier"),
    "Memory held by idle warm instances (MB x seconds).",
)
PLACEMENT_MIGRATIONS = Metric(
    "isf_placement_migrations_total", MetricType.COUNTER, ("from_tier", "to_tier"), "Functions moved between tiers."
)
PLACED_FUNCTIONS = Metric("isf_placement_functions", MetricType.GAUGE, ("tier",), "Functions placed on each tier.")
PLACEMENT_OBJECTIVE = Metric(
    "isf_placement_objective", MetricType.GAUGE, (), "Objective value of the last placement solution (lower is better)."
)
PLACEMENT_SOLVE = Metric(
    "isf_placement_solve_seconds", MetricType.HISTOGRAM, ("solver",), "Time to compute one placement."
)
COST = Metric(
    "isf_cost_usd_total", MetricType.COUNTER, ("kind", "tier"),
    "Accumulated cost in USD; kind is warm_memory, cold_start or compute.",
)

ALL_METRICS: tuple[Metric, ...] = (
    INVOCATIONS, COLD_STARTS, REQUEST_DURATION, FORECAST_WAPE, FORECAST_MAPE, PREDICTED_INVOCATIONS,
    MODEL_LAST_TRAINED, WARM_POOL_SIZE, WARM_POOL_TARGET, WASTED_MEMORY, PLACEMENT_MIGRATIONS,
    PLACED_FUNCTIONS, PLACEMENT_OBJECTIVE, PLACEMENT_SOLVE, COST,
)


def series_names() -> set[str]:
    """Every series name Prometheus will hold, histogram parts included."""
    names: set[str] = set()
    for metric in ALL_METRICS:
        if metric.type is MetricType.HISTOGRAM:
            names |= {f"{metric.name}_bucket", f"{metric.name}_sum", f"{metric.name}_count"}
        else:
            names.add(metric.name)
    return names
