"""PrometheusRules for the deployment guide's alerts, over the series of `metrics.py` and `knative_series.py`.

Every alert carries a `runbook_url` annotation: `<runbook_base_url>#<anchor>`, an anchor of a heading in
docs/operations.md (tests/infra/test_series_coverage.py resolves each one).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from runtime.contract.knative_series import INVOCATION_DURATION
from runtime.contract.metrics import (
    COLD_STARTS,
    COST,
    FORECAST_MAPE,
    FORECAST_WAPE,
    INVOCATIONS,
)

RUNBOOK = "docs/operations.md"
# Alert -> the heading of docs/operations.md it points at (GitHub's anchor of that heading).
RUNBOOK_ANCHORS = {
    "IsfHighColdStartRate": "high-cold-start-rate",
    "IsfPoorPredictionAccuracy": "poor-prediction-accuracy",
    "IsfModelPerformanceDegradation": "poor-prediction-accuracy",
    "IsfHighP99Latency": "high-latency",
    "IsfCostOverBudget": "high-cost",
    "IsfServiceDown": "service-down",
}

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
    runbook_base_url: Annotated[str, Field(min_length=1, description="where docs/operations.md is served")] = RUNBOOK


def runbook_url(base_url: str, alert: str) -> str:
    return f"{base_url}#{RUNBOOK_ANCHORS[alert]}"


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
            # every model the predictor serves (it exports the one `prediction.forecaster` names, ensemble by default)
            f"{FORECAST_MAPE.name} > {t.mape:g}",
            "30m", "warning",
            f"Forecast MAPE above {t.mape:.0%}",
            "MAPE of model {{ $labels.model }} is {{ $value | humanizePercentage }}: retrain or collect more history.",
        ),
        _alert(
            "IsfHighP99Latency",
            f"histogram_quantile(0.99, sum by (le) (rate({INVOCATION_DURATION.name}_bucket[{w}])))"
            f" > {t.p99_latency_seconds:g}",
            "10m", "warning",
            f"p99 invocation latency above {t.p99_latency_seconds * 1000:g} ms",
            "p99 latency measured by the queue-proxies is {{ $value | humanizeDuration }}: review placement and"
            " warm pools.",
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
    for rule in rules:
        rule["annotations"]["runbook_url"] = runbook_url(t.runbook_base_url, rule["alert"])
    return rules


def prometheus_rule(thresholds: AlertThresholds, namespace: str, platform_namespace: str) -> dict[str, Any]:
    """The `monitoring.coreos.com/v1` PrometheusRule holding every alert."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": RULE_NAME, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": "isf"}},
        "spec": {"groups": [{"name": "isf.rules", "rules": alert_rules(thresholds, platform_namespace)}]},
    }
