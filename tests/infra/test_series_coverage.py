"""Every dashboard and alert queries series somebody exports; the Knative monitors match the CRDs.

Our series: what each service (`isf serve api|predictor|warming|placement`, on its embedded defaults: a
SQLite file, no Redis, the embedded simulated cluster) declares at `/metrics` right after start-up, read
with prometheus-client's parser (a labelled family shows its HELP/TYPE before any label set is used).
Knative Serving 1.23, kube-state-metrics, cAdvisor, Beyla and Prometheus series: the recorded list of
runtime/contract/knative_series.py. Expressions are parsed by promql-parser (tests/support/promql.py).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from components.observability.alerts import RUNBOOK, AlertThresholds, alert_rules
from components.observability.dashboards import DASHBOARDS
from components.observability.knative_monitors import knative_monitors
from runtime.cluster_sim.loop import ROLES, ServiceProcesses
from runtime.contract import environment, knative_series, metrics
from tests.support.crd_schemas import crd_errors
from tests.support.promql import exposition_series, metric_names

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180.0
_NOT_INHERITED = (environment.DATABASE_URL, environment.DATABASE_URL_FILE, environment.REDIS_URL,
                  environment.REDIS_URL_FILE, environment.KUBERNETES_SERVICE_HOST, environment.SERVICE,
                  environment.PROMETHEUS_URL, environment.HTTP_PORT, environment.API_TOKENS_DIR,
                  environment.SETTINGS_FILE, environment.CLOCK, environment.FUNCTION_NAMESPACES, "KUBECONFIG")


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, set[str]]]:
    """Series per role: each service started alone on its defaults (its own SQLite file and HOME, so no
    kubeconfig: warming and placement fall back to the embedded simulated cluster), /metrics read once."""
    base = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    running: list[ServiceProcesses] = []
    try:
        for role in ROLES:
            home = tmp_path_factory.mktemp(role)
            token = home / "token"
            token.write_text(secrets.token_urlsafe(32) + "\n")
            token.chmod(0o600)
            processes = ServiceProcesses({**base, "HOME": str(home), environment.LOG_LEVEL: "WARNING",
                                          environment.OTEL_DISABLED: "true",
                                          environment.DATABASE_URL: f"sqlite:///{home / 'isf.sqlite3'}",
                                          environment.LOCAL_TOKEN_FILE: str(token)}, home)
            running.append(processes)
            processes.start((role,))
        series: dict[str, set[str]] = {}
        for processes in running:
            processes.wait_healthy(START_TIMEOUT_S)
            (service,) = processes.services
            response = httpx.get(f"http://127.0.0.1:{service.port}/metrics", timeout=10)
            assert response.status_code == 200, (service.role, response.text[:200])
            series[service.role] = exposition_series(response.text)
        yield series
    finally:
        for processes in running:
            processes.stop()


def test_the_exposition_parser_reads_declared_families_without_samples() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    metrics.COLD_STARTS.counter(registry)
    metrics.PLACEMENT_SOLVE.histogram(registry)
    metrics.WARM_POOL_TARGET.gauge(registry)
    assert exposition_series(generate_latest(registry).decode()) == {
        metrics.COLD_STARTS.name, metrics.WARM_POOL_TARGET.name, *metrics.PLACEMENT_SOLVE.series()}


def test_the_parser_finds_metric_names_only() -> None:
    expr = ('histogram_quantile(0.99, sum by (le, job) (rate(a_bucket{x="y(z)"}[5m]))) / on (job) '
            "group_left(kn) b > 2e-9 * avg_over_time(c[1d]) and ALERTS{alertstate=\"firing\"}")
    assert metric_names(expr) == {"a_bucket", "b", "c", "ALERTS"}
    with pytest.raises(ValueError, match="invalid PromQL"):
        metric_names("sum(rate(a[5m])")


def _queries() -> dict[str, str]:
    queries = {
        f"dashboard {d.uid} / {p.title} / {legend}": expr
        for d in DASHBOARDS for p in d.panels for expr, legend in p.queries
    }
    for rule in alert_rules(AlertThresholds(daily_budget_usd=10), "isf-system"):
        queries[f"alert {rule['alert']}"] = rule["expr"]
    return queries


def test_every_service_exports_its_own_series(scraped: dict[str, set[str]]) -> None:
    common = {*metrics.HTTP_REQUESTS.series(), *metrics.DATABASE_UP.series(), *metrics.REDIS_UP.series()}
    loops = metrics.CONTROL_PASS_SECONDS.series() | metrics.CONTROL_LEADER.series()
    assert all(common <= names for names in scraped.values()), {r: sorted(common - n) for r, n in scraped.items()}
    assert metrics.FORECAST_WAPE.series() | metrics.MODEL_LAST_TRAINED.series() | loops <= scraped["predictor"]
    assert metrics.WARM_POOL_TARGET.series() | metrics.WARMING_BUDGET.series() | loops <= scraped["warming"]
    assert metrics.PLACEMENT_SOLVE.series() | metrics.PLACED_FUNCTIONS.series() | loops <= scraped["placement"]


def test_every_contract_metric_is_exported_by_a_service(scraped: dict[str, set[str]]) -> None:
    exported = set().union(*scraped.values())
    assert {m.name: sorted(m.series() - exported) for m in metrics.ALL_METRICS if m.series() - exported} == {}


def test_what_the_api_measures_it_exports_and_no_other_service_does(scraped: dict[str, set[str]]) -> None:
    measured = {metrics.INVOCATIONS, metrics.COLD_STARTS, metrics.WASTED_MEMORY, metrics.COST}
    assert set().union(*(m.series() for m in measured)) <= scraped["api"]
    for role, names in scraped.items():  # a second exporter would double every sum over the series
        if role != "api":
            assert names.isdisjoint(m.name for m in measured), role


def test_every_dashboard_and_alert_queries_only_series_a_service_or_the_pinned_releases_export(
    scraped: dict[str, set[str]]
) -> None:
    exported = set().union(*scraped.values()) | knative_series.external_series_names()
    queries = _queries()
    unknown = set().union(*(metric_names(expr) - exported for expr in queries.values()))
    assert unknown == set(), {
        where: sorted(metric_names(expr) - exported) for where, expr in queries.items() if metric_names(expr) - exported}
    used = set().union(*(metric_names(expr) for expr in queries.values()))
    assert len(queries) >= 30 and len(used) >= 20
    # the latency panels and alert read Knative's queue-proxy histogram, which 1.23 exports
    assert f"{knative_series.INVOCATION_DURATION.name}_bucket" in used


def test_the_collector_queries_the_recorded_knative_series() -> None:
    from runtime.ingest.prometheus_collector import (  # pyright: ignore[reportPrivateUsage]
        CollectorConfig,
        _group,
        ready_pods_query,
    )

    config = CollectorConfig(prometheus_url="http://p")
    assert {config.request_metric, f"{config.latency_metric}_sum"} <= knative_series.knative_series_names()
    assert metric_names(_group(config.request_metric)) == {config.request_metric}
    assert metric_names(ready_pods_query(config)) == {config.ready_pods_metric} <= knative_series.knative_series_names()
    assert "by (k8s_namespace_name, kn_configuration_name, isf_function)" in _group(config.request_metric)


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
    # the function id the collector names functions by: the pod's isf.io/function label
    assert {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_label_isf_io_function"],
            "targetLabel": knative_series.FUNCTION_ID_LABEL} in endpoint["relabelings"]
    # Beyla's series are selected by their function / tier labels: no queue-proxy series may carry them
    assert targets.isdisjoint({knative_series.BEYLA_FUNCTION_LABEL, knative_series.BEYLA_TIER_LABEL})
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
