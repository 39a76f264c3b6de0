"""The eBPF monitor (Grafana Beyla): rendered with the right values in production, absent when off, its values known
to the pinned chart, its configuration known to Beyla's own schema, minimal privileges, scraped, and a dashboard
that queries the recorded Beyla series per function and tier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from components.observability.dashboards import DASHBOARDS, EBPF_DASHBOARD, dashboard_config_maps
from components.observability.ebpf import (
    BEYLA_CHART,
    METRICS_PORT_NAME,
    EbpfMonitorArgs,
    beyla_config,
    beyla_values,
    ebpf_namespace,
    ebpf_pod_monitor,
)
from infra.config import StackConfig, StackConfigError
from policy.kubernetes import NAMESPACE_TYPE
from policy.pack import violations
from runtime.contract import knative_series as kn
from runtime.contract.kubernetes import FUNCTION_LABEL, WORKLOAD_TIER_LABEL
from runtime.contract.scheduling import GPU_TAINT, Tier, tier_taint
from runtime.contract.security import SECURITY_EXCEPTION_ANNOTATION
from tests.infra.conftest import PROJECT_DIR as ROOT
from tests.infra.conftest import Render
from tests.support.crd_schemas import crd_errors
from tests.support.helm_keys import UPSTREAM, chart_defaults, unknown_chart_paths

# Beyla's configuration schema at the chart's appVersion (grafana/beyla v3.32.0 docs/config-schema.json).
SCHEMA_PATH = UPSTREAM / "configs" / "beyla" / kn.BEYLA_VERSION / "config-schema.json"
ARGS = EbpfMonitorArgs(enabled=True, function_namespaces=["functions", "team-a"])


def _chart(rendered: Any) -> Any:
    (chart,) = [c for c in rendered.charts if c.chart == "beyla"]
    return chart


def _schema() -> dict[str, Any]:
    return json.loads(Path(SCHEMA_PATH).read_text())


def _unknown_keys(value: Any, node: dict[str, Any], defs: dict[str, Any], path: str = "") -> list[str]:
    """Dotted paths of `value` that the schema does not name (its objects do not forbid extras, a typo still
    would be ignored by Beyla, so the walk is strict where the schema lists properties)."""
    while "$ref" in node:
        node = defs[node["$ref"].removeprefix("#/$defs/")]
    if isinstance(value, dict) and "properties" in node:
        found = []
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key not in node["properties"]:
                found.append(where)
            else:
                found += _unknown_keys(item, node["properties"][key], defs, where)
        return found
    if isinstance(value, dict) and isinstance(node.get("additionalProperties"), dict):
        return [p for k, v in value.items() for p in _unknown_keys(v, node["additionalProperties"], defs, f"{path}.{k}")]
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [p for i, v in enumerate(value) for p in _unknown_keys(v, node["items"], defs, f"{path}[{i}]")]
    return []


def test_the_chart_is_the_pinned_beyla_release() -> None:
    assert (BEYLA_CHART.repo, BEYLA_CHART.chart, BEYLA_CHART.version) == (
        "https://grafana.github.io/helm-charts", "beyla", "1.16.11")
    chart_yaml = (UPSTREAM / "charts" / "beyla" / BEYLA_CHART.version / "Chart.yaml").read_text()
    assert f"appVersion: {kn.BEYLA_VERSION}" in chart_yaml


def test_values_only_use_keys_of_the_pinned_chart() -> None:
    defaults = chart_defaults("beyla", BEYLA_CHART.version)
    # config.data is Beyla's own configuration file, checked against Beyla's schema below.
    assert unknown_chart_paths(beyla_values(ARGS), defaults, pass_through={"config.data"}) == []
    override = EbpfMonitorArgs(values={"priorityClassName": "system-node-critical"})
    assert beyla_values(override)["priorityClassName"] == "system-node-critical"


def test_the_beyla_configuration_is_valid_against_beylas_schema() -> None:
    schema = _schema()
    config = beyla_config(ARGS)
    jsonschema.validate(config, schema)
    assert _unknown_keys(config, schema, schema["$defs"]) == []
    # the walk does catch a misspelt key
    assert _unknown_keys({"discovery": {"instrument": [{"k8s_pod_label": {}}]}}, schema, schema["$defs"]) == [
        "discovery.instrument[0].k8s_pod_label"]


def test_beyla_instruments_the_function_containers_of_knative_pods_only() -> None:
    discovery = beyla_config(ARGS)["discovery"]
    (instrument,) = discovery["instrument"]
    assert instrument == {"k8s_namespace": "{functions,team-a}",
                          "k8s_pod_labels": {"serving.knative.dev/service": "*"}}
    assert beyla_config(EbpfMonitorArgs())["discovery"]["instrument"][0]["k8s_namespace"] == "functions"
    # queue-proxy measures itself (Knative's own histogram) and istio-proxy sees every request again
    assert discovery["exclude_instrument"] == [{"k8s_container_name": "{queue-proxy,istio-proxy}"}]


def test_every_latency_series_carries_the_function_and_tier_from_the_pod_labels() -> None:
    attributes = beyla_config(ARGS)["attributes"]
    assert attributes["kubernetes"]["enable"] == "true"
    assert attributes["kubernetes"]["resource_labels"] == {
        kn.BEYLA_FUNCTION_ATTRIBUTE: [FUNCTION_LABEL, "serving.knative.dev/service"],
        kn.BEYLA_TIER_ATTRIBUTE: [WORKLOAD_TIER_LABEL],
    }
    assert attributes["extra_group_attributes"] == {"k8s_app_meta": [kn.BEYLA_FUNCTION_ATTRIBUTE,
                                                                     kn.BEYLA_TIER_ATTRIBUTE]}
    # the labels the runtime's own series use (runtime/contract/metrics.py)
    assert (kn.BEYLA_FUNCTION_LABEL, kn.BEYLA_TIER_LABEL) == ("function", "tier")
    # no per-pod label: Knative starts and stops pods all the time
    assert attributes["select"] == {"http_server_request_duration": {
        "exclude": ["k8s.pod.*", "k8s.replicaset.name", "instance"]}}


def test_privileges_are_the_charts_least_privileged_application_mode() -> None:
    values = beyla_values(ARGS)
    assert values["preset"] == "application"  # hostPID only (templates/daemon-set.yaml)
    assert values["privileged"] is False  # capabilities instead of a privileged container
    assert values["contextPropagation"] == {"enabled": False}  # no hostNetwork, NET_ADMIN, hostPath mounts
    assert "securityContext" not in values and "extraCapabilities" not in values
    assert values["config"]["data"].get("network") is None  # network mode would need hostNetwork too
    limits, requests = values["resources"]["limits"], values["resources"]["requests"]
    assert set(limits) == set(requests) == {"cpu", "memory"}


def test_the_daemonset_runs_wherever_functions_run() -> None:
    tolerations = beyla_values(ARGS)["tolerations"]
    assert [tier_taint(t).toleration() for t in Tier] + [GPU_TAINT.toleration()] == tolerations
    assert "nodeSelector" not in beyla_values(ARGS)


def test_the_namespace_states_its_pod_security_exception_and_the_policy_pack_holds_it_to_that(
    validate_manifest: Any,
) -> None:
    namespace = ebpf_namespace(ARGS)
    validate_manifest(namespace)
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    # restricted is still warned and audited, as in the DCGM exporter's namespace
    assert labels["pod-security.kubernetes.io/warn"] == labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert "istio-injection" not in labels
    reason = namespace["metadata"]["annotations"][SECURITY_EXCEPTION_ANNOTATION]
    assert "hostPID" in reason and "docs/security.md" in reason
    assert violations(NAMESPACE_TYPE, namespace) == []
    del namespace["metadata"]["annotations"]
    assert [v.rule for v in violations(NAMESPACE_TYPE, namespace)] == ["k8s-privileged-namespaces-say-why"]
    # a namespace that does not lift Pod Security needs no reason
    assert violations(NAMESPACE_TYPE, {"metadata": {"name": "x", "labels": {}}}) == []


def test_security_docs_record_the_exception() -> None:
    security = (ROOT / "docs" / "security.md").read_text()
    assert "Beyla" in security and SECURITY_EXCEPTION_ANNOTATION in security


def test_prometheus_scrapes_every_beyla_pod_on_its_metrics_port() -> None:
    monitor = ebpf_pod_monitor("monitoring", ARGS)
    assert crd_errors(monitor) == []
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [ARGS.namespace]}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    values = beyla_values(ARGS)
    # the chart names the container port of prometheus_export.port after service.portName
    assert endpoint["port"] == values["service"]["portName"] == METRICS_PORT_NAME
    assert values["config"]["data"]["prometheus_export"]["path"] == endpoint["path"]
    assert monitor["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "beyla",
                                                          "app.kubernetes.io/instance": "beyla"}


def test_the_dashboard_shows_percentiles_and_rate_per_function_and_tier_from_beyla() -> None:
    assert EBPF_DASHBOARD in DASHBOARDS
    queries = [expr for panel in EBPF_DASHBOARD.panels for expr, _ in panel.queries]
    for quantile in ("0.5", "0.95", "0.99"):
        assert any(f"histogram_quantile({quantile}, sum by (le, function, tier)" in q for q in queries)
    assert any(q.startswith("sum by (function, tier) (rate(http_server_request_duration_seconds_count")
               for q in queries)
    beyla = [q for q in queries if kn.BEYLA_HTTP_SERVER_DURATION.name in q]
    # the queue-proxy exports the same name: Beyla's series are selected by their function label
    assert beyla and all('function!=""' in q for q in beyla)
    assert kn.BEYLA_HTTP_SERVER_DURATION.series() <= kn.external_series_names()
    assert [m["metadata"]["name"] for m in dashboard_config_maps("monitoring", ebpf=True)][-1] == "dashboard-isf-ebpf-latency"
    assert "dashboard-isf-ebpf-latency" not in {m["metadata"]["name"] for m in dashboard_config_maps("monitoring")}


def test_production_renders_beyla_with_its_namespace_monitor_and_dashboard(render: Render) -> None:
    production = render("production")
    chart = _chart(production)
    assert (chart.version, chart.namespace) == (BEYLA_CHART.version, "ebpf-monitor")
    config = chart.values["config"]["data"]
    assert config["discovery"]["instrument"][0]["k8s_namespace"] == production.config.functions_namespace
    assert chart.values["privileged"] is False
    kinds = {(m["kind"], m["metadata"]["name"]) for m in production.manifests}
    assert {("Namespace", "ebpf-monitor"), ("PodMonitor", "ebpf-monitor"),
            ("ConfigMap", "dashboard-isf-ebpf-latency")} <= kinds


def test_the_function_namespace_setting_reaches_beylas_discovery(render: Render) -> None:
    chart = _chart(render("production", "functions_namespace=serverless-fns"))
    assert chart.values["config"]["data"]["discovery"]["instrument"][0]["k8s_namespace"] == "serverless-fns"


def test_nothing_of_beyla_is_rendered_when_off(render: Render) -> None:
    off = render("production", "monitoring.ebpf.enabled=false")
    assert [c for c in off.charts if c.chart == "beyla"] == []
    names = {m["metadata"]["name"] for m in off.manifests}
    assert not names & {"ebpf-monitor", "dashboard-isf-ebpf-latency"}


def test_staging_runs_it_too(render: Render) -> None:
    assert _chart(render("staging")).namespace == "ebpf-monitor"


@pytest.mark.parametrize(("data", "path"), [
    ({"monitoring": {"ebpf": {"enabeld": True}}}, "monitoring.ebpf.enabeld"),
    ({"monitoring": {"ebpf": {"enabled": "sometimes"}}}, "monitoring.ebpf.enabled"),
    ({"monitoring": {"ebpf": {"resources": {"cpu_limit": "lots"}}}}, "monitoring.ebpf.resources.cpu_limit"),
    ({"monitoring": {"ebpf": {"namespace": "Not_A_Label"}}}, "monitoring.ebpf.namespace"),
])
def test_bad_ebpf_config_names_the_key_and_the_stack_file(data: dict[str, Any], path: str) -> None:
    with pytest.raises(StackConfigError) as caught:
        StackConfig.from_mapping(data, source="Pulumi.production.yaml")
    message = str(caught.value)
    assert "Pulumi.production.yaml" in message and f"  {path}:" in message
