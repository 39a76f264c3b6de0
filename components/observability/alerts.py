"""PrometheusRules for the deployment guide's alerts, written over the metrics of `metrics.py`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from runtime.contract.metrics import (
    COLD_STARTS,
    COST,
    FORECAST_MAPE,
    FORECAST_WAPE,
    INVOCATIONS,
    REQUEST_DURATION,
)

RULE_NAME = "isf-alerts"


class AlertThresholds(BaseModel):
    """Alert thresholds; defaults are the guide's troubleshooting symptoms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cold_start_ratio: Annotated[float, Field(gt=0, le=1)] = 0.20
    mape: Annotated[float, Field(gt=0)] = 0.20
    p99_latency_seconds: Annotated[float, Field(gt=0)] = 0.200
    degradation_factor: Annotated[float, Field(gt=1, description="WAPE vs its own 1-day mean")] = 1.5
    daily_budget_usd: Annotated[float | None, Field(gt=0)] = None
    window: Annotated[str, Field(pattern=r"^[0-9]+[smh]$")] = "15m"


def _alert(name: str, expr: str, duration: str, severity: str, summary: str, description: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity, "team": "isf"},
        "annotations": {"summary": summary, "description": description},
    }


def alert_rules(thresholds: AlertThresholds, platform_namespace: str) -> list[dict[str, Any]]:
    """The alerting rules, one per symptom of the guide."""
    t, w = thresholds, thresholds.window
    rules = [
        _alert(
            "IsfHighColdStartRate",
            f"sum(rate({COLD_STARTS.name}[{w}])) / clamp_min(sum(rate({INVOCATIONS.name}[{w}])), 1e-9)"
            f" > {t.cold_start_ratio:g}",
            "10m", "warning",
            f"More than {t.cold_start_ratio:.0%} of invocations are cold starts",
            "Cold-start ratio is {{ $value | humanizePercentage }}: raise warm pools or check prediction accuracy.",
        ),
        _alert(
            "IsfPoorPredictionAccuracy",
            f'{FORECAST_MAPE.name}{{model="hybrid"}} > {t.mape:g}',
            "30m", "warning",
            f"Forecast MAPE above {t.mape:.0%}",
            "Hybrid forecaster MAPE is {{ $value | humanizePercentage }}: retrain or collect more history.",
        ),
        _alert(
            "IsfHighP99Latency",
            f"histogram_quantile(0.99, sum by (le) (rate({REQUEST_DURATION.name}_bucket[{w}])))"
            f" > {t.p99_latency_seconds:g}",
            "10m", "warning",
            f"p99 invocation latency above {t.p99_latency_seconds * 1000:g} ms",
            "p99 latency is {{ $value | humanizeDuration }}: review placement and warm pools.",
        ),
        _alert(
            "IsfModelPerformanceDegradation",
            f"{FORECAST_WAPE.name} > {t.degradation_factor:g} * avg_over_time({FORECAST_WAPE.name}[1d])",
            "30m", "warning",
            "Forecast error well above its daily average",
            "WAPE of model {{ $labels.model }} is {{ $value }}: the workload changed or the model went stale.",
        ),
        _alert(
            "IsfServiceDown",
            f'up{{namespace="{platform_namespace}"}} == 0',
            "2m", "critical",
            "A control-plane service is not being scraped",
            "{{ $labels.job }} in {{ $labels.namespace }} has been down for 2 minutes.",
        ),
    ]
    if t.daily_budget_usd is not None:
        rules.append(
            _alert(
                "IsfCostOverBudget",
                f"sum(increase({COST.name}[1d])) > {t.daily_budget_usd:g}",
                "15m", "warning",
                f"Cost over the last day exceeds the {t.daily_budget_usd:g} USD budget",
                "Spent {{ $value | printf \"%.2f\" }} USD in 24 h: shrink warm pools or raise keep-alive thresholds.",
            )
        )
    return rules


def prometheus_rule(thresholds: AlertThresholds, namespace: str, platform_namespace: str) -> dict[str, Any]:
    """The `monitoring.coreos.com/v1` PrometheusRule holding every alert."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": RULE_NAME, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": "isf"}},
        "spec": {"groups": [{"name": "isf.rules", "rules": alert_rules(thresholds, platform_namespace)}]},
    }
