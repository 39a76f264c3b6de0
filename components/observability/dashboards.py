"""The guide's six Grafana dashboards and the eBPF monitor's, as ConfigMaps the Grafana sidecar loads (label grafana_dashboard=1)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from runtime.contract.knative_series import (
    BEYLA_FUNCTION_LABEL,
    BEYLA_HTTP_SERVER_DURATION,
    BEYLA_STATUS_LABEL,
    BEYLA_TIER_LABEL,
    INVOCATION_DURATION,
    PODS_COUNT,
    PODS_DESIRED,
    per_function,
)
from runtime.contract.metrics import (
    COLD_STARTS,
    COST,
    FORECAST_MAPE,
    FORECAST_WAPE,
    INVOCATIONS,
    MODEL_LAST_TRAINED,
    PLACED_FUNCTIONS,
    PLACEMENT_MIGRATIONS,
    PLACEMENT_OBJECTIVE,
    PLACEMENT_SOLVE,
    PREDICTED_INVOCATIONS,
    WARM_POOL_SIZE,
    WARM_POOL_TARGET,
    WASTED_MEMORY,
)

DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}


@dataclass(frozen=True)
class Panel:
    """A time-series (or stat) panel: a title, its PromQL queries with legends, and a unit."""

    title: str
    queries: tuple[tuple[str, str], ...]
    unit: str = "short"
    kind: str = "timeseries"


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    panels: tuple[Panel, ...]


def _rate(metric: str, by: str = "") -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping}(rate({metric}[5m]))"


# The eBPF monitor's dashboard (components/observability/ebpf.py), deployed only with it. Beyla's histogram shares its
# name with the queue-proxy's; only Beyla's series carry the function label, which selects them.
_BEYLA_FUNCTION = f'{BEYLA_FUNCTION_LABEL}!=""'
_BY_FUNCTION = f"{BEYLA_FUNCTION_LABEL}, {BEYLA_TIER_LABEL}"
_PER_FUNCTION_LEGEND = f"{{{{{BEYLA_FUNCTION_LABEL}}}}} ({{{{{BEYLA_TIER_LABEL}}}}})"
_SERVER_ERRORS = f'{BEYLA_STATUS_LABEL}=~"5.."'


def _beyla_rate(part: str, by: str, matchers: str = "") -> str:
    selector = ", ".join(m for m in (_BEYLA_FUNCTION, matchers) if m)
    return f"sum by ({by}) (rate({BEYLA_HTTP_SERVER_DURATION.name}_{part}{{{selector}}}[5m]))"


def _beyla_quantile(quantile: float, by: str = "") -> str:
    return f"histogram_quantile({quantile}, {_beyla_rate('bucket', f'le, {by}' if by else 'le')})"


EBPF_DASHBOARD = Dashboard("isf-ebpf-latency", "Function Latency (eBPF)", (
    *(Panel(f"p{round(q * 100)} latency per function", ((_beyla_quantile(q, _BY_FUNCTION), _PER_FUNCTION_LEGEND),), "s")
      for q in (0.5, 0.95, 0.99)),
    Panel("Requests per function", ((_beyla_rate("count", _BY_FUNCTION), _PER_FUNCTION_LEGEND),), "reqps"),
    Panel("p50 / p95 / p99 latency by tier", tuple(
        (_beyla_quantile(q, BEYLA_TIER_LABEL), f"p{round(q * 100)} {{{{{BEYLA_TIER_LABEL}}}}}") for q in (0.5, 0.95, 0.99)
    ), "s"),
    Panel("5xx ratio per function", ((
        f'{_beyla_rate("count", _BY_FUNCTION, _SERVER_ERRORS)} / clamp_min({_beyla_rate("count", _BY_FUNCTION)}, 1e-9)',
        _PER_FUNCTION_LEGEND),), "percentunit"),
    # The function's own time (eBPF) next to the queue-proxy's, which adds Knative's queueing and proxying.
    Panel("p95: function (eBPF) vs queue-proxy (Knative)", (
        (_beyla_quantile(0.95), "function (eBPF)"),
        (f"histogram_quantile(0.95, sum by (le) (rate({INVOCATION_DURATION.name}_bucket[5m])))", "queue-proxy"),
    ), "s"),
))


DASHBOARDS: tuple[Dashboard, ...] = (
    Dashboard("isf-cold-starts", "Cold Start Analytics", (
        Panel("Cold-start ratio", ((f"{_rate(COLD_STARTS.name)} / clamp_min({_rate(INVOCATIONS.name)}, 1e-9)",
                                    "cold starts"),), "percentunit"),
        Panel("Cold starts by tier", ((_rate(COLD_STARTS.name, "tier"), "{{tier}}"),), "reqps"),
        Panel("Top functions by cold starts", ((f"topk(10, {_rate(COLD_STARTS.name, 'function')})", "{{function}}"),),
              "reqps"),
        Panel("Invocations", ((_rate(INVOCATIONS.name, "tier"), "{{tier}}"),), "reqps"),
    )),
    Dashboard("isf-prediction", "Prediction Accuracy", (
        Panel("WAPE by model", ((f"{FORECAST_WAPE.name}", "{{model}}"),), "percentunit"),
        Panel("MAPE by model", ((f"{FORECAST_MAPE.name}", "{{model}}"),), "percentunit"),
        Panel("Predicted vs actual invocations (per minute)", (
            (f"sum({PREDICTED_INVOCATIONS.name})", "predicted"),
            (f"sum(rate({INVOCATIONS.name}[5m])) * 60", "actual"),
        )),
        Panel("Time since last retrain", ((f"time() - {MODEL_LAST_TRAINED.name}", "{{model}}"),), "s", "stat"),
    )),
    Dashboard("isf-placement", "Placement Optimization", (
        Panel("Functions per tier", ((f"{PLACED_FUNCTIONS.name}", "{{tier}}"),)),
        Panel("Migrations", ((f"sum by (from_tier, to_tier) (increase({PLACEMENT_MIGRATIONS.name}[1h]))",
                              "{{from_tier}} → {{to_tier}}"),)),
        Panel("Objective", ((PLACEMENT_OBJECTIVE.name, "objective"),)),
        Panel("Solve time p95", ((
            f"histogram_quantile(0.95, sum by (le, solver) (rate({PLACEMENT_SOLVE.name}_bucket[15m])))",
            "{{solver}}"),), "s"),
    )),
    Dashboard("isf-cost", "Cost Analysis", (
        Panel("Cost per hour by kind", ((f"sum by (kind) (increase({COST.name}[1h]))", "{{kind}}"),), "currencyUSD"),
        Panel("Cost per hour by tier", ((f"sum by (tier) (increase({COST.name}[1h]))", "{{tier}}"),), "currencyUSD"),
        Panel("Cost over the last day", ((f"sum(increase({COST.name}[1d]))", "24 h"),), "currencyUSD", "stat"),
        Panel("Idle warm memory (GB)", ((f"sum by (tier) (rate({WASTED_MEMORY.name}[5m])) / 1024", "{{tier}}"),),
              "decgbytes"),
    )),
    Dashboard("isf-resources", "Resource Utilization", (
        Panel("Warm pool size vs target", (
            (f"sum({WARM_POOL_SIZE.name})", "warm"),
            (f"sum({WARM_POOL_TARGET.name})", "target"),
        )),
        Panel("Warm instances by tier", ((f"sum by (tier) ({WARM_POOL_SIZE.name})", "{{tier}}"),)),
        Panel("Knative pods: allocated vs desired (autoscaler)", (
            (f"sum({PODS_COUNT.name})", "allocated"),
            (f"sum({PODS_DESIRED.name})", "desired"),
        )),
        Panel("Requests per function (queue-proxy)", (
            (f"topk(10, {per_function(f'rate({INVOCATION_DURATION.name}_count[5m])')})",
             "{{k8s_namespace_name}}.{{kn_configuration_name}}"),
        ), "reqps"),
        Panel("CPU by namespace", (('sum by (namespace) (rate(container_cpu_usage_seconds_total{container!=""}[5m]))',
                                    "{{namespace}}"),), "cores"),
        Panel("Memory by namespace", (('sum by (namespace) (container_memory_working_set_bytes{container!=""})',
                                       "{{namespace}}"),), "bytes"),
    )),
    Dashboard("isf-health", "System Health", (
        Panel("Targets up", (('sum by (job) (up)', "{{job}}"),), "short", "stat"),
        Panel("p50 / p99 latency", (
            (f"histogram_quantile(0.5, sum by (le) (rate({INVOCATION_DURATION.name}_bucket[5m])))", "p50"),
            (f"histogram_quantile(0.99, sum by (le) (rate({INVOCATION_DURATION.name}_bucket[5m])))", "p99"),
        ), "s"),
        Panel("Firing alerts", (('sum by (alertname) (ALERTS{alertstate="firing"})', "{{alertname}}"),)),
        Panel("Pod restarts (1 h)", (('sum by (namespace) (increase(kube_pod_container_status_restarts_total[1h]))',
                                      "{{namespace}}"),)),
    )),
    EBPF_DASHBOARD,
)


def dashboard_json(dashboard: Dashboard) -> dict[str, Any]:
    """Grafana dashboard model (schema 39): panels laid out two per row."""
    panels = []
    for index, panel in enumerate(dashboard.panels):
        panels.append({
            "id": index + 1,
            "type": panel.kind,
            "title": panel.title,
            "datasource": DATASOURCE,
            "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
            "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
            "targets": [
                {"refId": chr(ord("A") + n), "expr": expr, "legendFormat": legend, "datasource": DATASOURCE}
                for n, (expr, legend) in enumerate(panel.queries)
            ],
        })
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "tags": ["isf"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "panels": panels,
    }


def dashboard_config_maps(namespace: str, *, ebpf: bool = False) -> list[dict[str, Any]]:
    """One ConfigMap per dashboard (with `ebpf`, the eBPF monitor's too), labelled for the Grafana dashboard sidecar."""
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": f"dashboard-{dashboard.uid}",
                "namespace": namespace,
                "labels": {DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE},
            },
            "data": {f"{dashboard.uid}.json": json.dumps(dashboard_json(dashboard), indent=2, sort_keys=True)},
        }
        for dashboard in DASHBOARDS
        if ebpf or dashboard is not EBPF_DASHBOARD
    ]
