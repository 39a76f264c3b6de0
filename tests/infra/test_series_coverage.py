"""Every dashboard and alert queries series somebody exports; the Knative monitors match the CRDs.

Our series: scraped from the simulated cluster's registry and found (by AST) at every registration site
`metrics.<NAME>.counter|gauge|histogram(registry)` under runtime/. Knative Serving 1.23, kube-state-metrics,
cAdvisor and Prometheus series: the recorded list of runtime/contract/knative_series.py.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from components.observability.alerts import RUNBOOK, AlertThresholds, alert_rules
from components.observability.dashboards import DASHBOARDS
from components.observability.knative_monitors import knative_monitors
from runtime.cluster_sim.loop import _ClusterMetrics  # pyright: ignore[reportPrivateUsage]
from runtime.contract import knative_series, metrics
from tests.support.crd_schemas import crd_errors

ROOT = Path(__file__).resolve().parents[2]

_PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
    "inf", "nan",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_:])[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """Metric names of a PromQL expression: identifiers that are not functions, keywords or label lists."""
    text = _MATCHERS.sub(" ", _STRING.sub('""', expr))
    text = _NUMBER.sub(" ", _GROUPING.sub(" ", _RANGE.sub(" ", text)))
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group()
        following = text[match.end():].lstrip()
        if following.startswith("(") or word.lower() in _PROMQL_WORDS or re.fullmatch(r"[0-9]", word[0]):
            continue
        names.add(word)
    return names


def test_the_tokenizer_finds_metric_names_only() -> None:
    expr = ('histogram_quantile(0.99, sum by (le, job) (rate(a_bucket{x="y(z)"}[5m]))) / on (job) '
            "group_left(kn) b > 2e-9 * avg_over_time(c[1d]) and ALERTS{alertstate=\"firing\"}")
    assert metric_names(expr) == {"a_bucket", "b", "c", "ALERTS"}


def _registered_in_source() -> set[str]:
    names = set()
    for path in (ROOT / "runtime").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("counter", "gauge", "histogram")
                    and isinstance(node.func.value, ast.Attribute) and isinstance(node.func.value.value, ast.Name)
                    and node.func.value.value.id == "metrics"):
                names.add(node.func.value.attr)
    return names


def exported_series() -> set[str]:
    ours = set().union(*(getattr(metrics, name).series() for name in _registered_in_source()))
    return ours | knative_series.external_series_names()


def _queries() -> dict[str, str]:
    queries = {
        f"dashboard {d.uid} / {p.title} / {legend}": expr
        for d in DASHBOARDS for p in d.panels for expr, legend in p.queries
    }
    for rule in alert_rules(AlertThresholds(daily_budget_usd=10), "isf-system"):
        queries[f"alert {rule['alert']}"] = rule["expr"]
    return queries


def test_every_contract_metric_is_registered_somewhere() -> None:
    registered = _registered_in_source()
    assert {m for m in vars(metrics) if isinstance(getattr(metrics, m), metrics.Metric)} - registered == set()


def test_the_simulated_cluster_exports_invocations_cold_starts_and_cost() -> None:
    cluster = _ClusterMetrics()
    cluster.cost.labels("cold_start", "edge").inc(0.02)
    text = cluster.exposition().decode()
    for metric in (metrics.COST, metrics.COLD_STARTS, metrics.INVOCATIONS, metrics.WASTED_MEMORY):
        assert f"# TYPE {metric.name} {metric.type.value}" in text


def test_every_dashboard_and_alert_queries_only_exported_series() -> None:
    exported = exported_series()
    queries = _queries()
    unknown = {where: sorted(metric_names(expr) - exported) for where, expr in queries.items()}
    assert {where: names for where, names in unknown.items() if names} == {}
    used = set().union(*(metric_names(expr) for expr in queries.values()))
    assert len(queries) >= 30 and len(used) >= 20
    # the latency panels and alert read Knative's queue-proxy histogram, which 1.23 exports
    assert f"{knative_series.INVOCATION_DURATION.name}_bucket" in used


def test_the_collector_queries_the_recorded_knative_series() -> None:
    from runtime.ingest.prometheus_collector import CollectorConfig, _group  # pyright: ignore[reportPrivateUsage]

    config = CollectorConfig(prometheus_url="http://p")
    assert {config.request_metric, f"{config.latency_metric}_sum"} <= knative_series.knative_series_names()
    assert metric_names(_group(config.request_metric)) == {config.request_metric}
    assert "by (k8s_namespace_name, kn_configuration_name)" in _group(config.request_metric)


def test_the_recorded_knative_names_follow_the_otel_prometheus_translation() -> None:
    units = {"s": "_seconds", "By": "_bytes"}
    for series in knative_series.KNATIVE_SERIES:
        if not series.otel_name:
            continue
        expected = series.otel_name.replace(".", "_")
        main, _, per = series.unit.partition("/")
        if main in units:
            expected += units[main]
        if per == "s":
            expected += "_per_second"
        if series.kind == "counter":
            expected += "_total"
        assert series.name == expected, series
        assert series.source.startswith("knative/serving@knative-v1.23.0:pkg/")


def test_knative_monitors_are_valid_against_the_kube_prometheus_stack_crds() -> None:
    pod_monitor, service_monitor = knative_monitors("monitoring")
    assert crd_errors(pod_monitor) == [] and crd_errors(service_monitor) == []
    endpoint = pod_monitor["spec"]["podMetricsEndpoints"][0]
    assert endpoint["port"] == "http-usermetric"
    targets = {r["targetLabel"] for r in endpoint["relabelings"]}
    assert set(knative_series.FUNCTION_LABELS) <= targets
    assert service_monitor["spec"]["namespaceSelector"] == {"matchNames": ["knative-serving"]}
    assert service_monitor["spec"]["endpoints"][0]["port"] == "http-metrics"


def _anchors(markdown: str) -> set[str]:
    anchors = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return anchors


def test_every_alert_has_a_runbook_url_that_resolves_to_an_anchor_of_the_runbook() -> None:
    anchors = _anchors((ROOT / RUNBOOK).read_text())
    rules = alert_rules(AlertThresholds(daily_budget_usd=10), "isf-system")
    assert len(rules) == 6
    for rule in rules:
        path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert path == RUNBOOK and anchor in anchors, rule["alert"]
