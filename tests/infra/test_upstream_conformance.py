"""Every stack on every cloud, checked against the pinned releases' own files (tests/data/upstream/):
CRD schemas, chart defaults, Knative ConfigMaps, and the order in which the engine would create things."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.mocks import Records, ResourceRecord
from infra.render import Rendered
from tests.infra.conftest import VARIANTS, Render, render_variant
from tests.support.crd_schemas import crd_errors, crd_for
from tests.support.helm_keys import UPSTREAM, chart_defaults, chart_dir, unknown_chart_paths, value_paths

KNATIVE_CONFIGMAPS = UPSTREAM / "crds" / "knative-serving" / "1.23.0" / "configmaps"
# knative/serving config/core/configmaps/certmanager.yaml at knative-v1.23.0 (not stored with the test data).
CERTMANAGER_KEYS = frozenset({"issuerRef", "clusterLocalIssuerRef", "systemInternalIssuerRef"})

# Maps a chart hands on whole (`toYaml`) although its default is not empty, so their keys are another format's:
PASS_THROUGH = {
    # rendered as alertmanager.yaml; test_observability checks its keys against Alertmanager's config.
    "kube-prometheus-stack": frozenset({"alertmanager.config"}),
    # rendered into the `istio` ConfigMap (MeshConfig); the default sets enablePrometheusMerge only.
    "istiod": frozenset({"meshConfig"}),
    # labels of every gateway object (default: istio.io/dataplane-mode=none).
    "gateway": frozenset({"labels"}),
    # templates/jaeger/jaeger-deploy.yaml: `toYaml .Values.jaeger.podSecurityContext` (a PodSecurityContext).
    "jaeger": frozenset({"jaeger.podSecurityContext"}),
    # "extraArgs -- Additional container arguments" (cluster-autoscaler values.yaml): flags, one per key.
    "cluster-autoscaler": frozenset({"extraArgs"}),
    # templates/configmap.yaml: `toYaml .Values.config.data` is Beyla's own configuration file, checked against
    # Beyla's config schema in test_ebpf_monitor.
    "beyla": frozenset({"config.data"}),
}
# Keys a chart's templates read that its values.yaml only shows commented out.
TEMPLATE_ONLY = {
    # jaegertracing/helm-charts charts/jaeger/templates/jaeger/jaeger-deploy.yaml: `with .Values.jaeger.resources`.
    "jaeger": frozenset({"jaeger.resources"}),
}

# CRD group -> the chart that installs its CRDs (`crds/` of the chart, or templates with crds.enabled), or for
# a release manifest applied as a yaml/v2 ConfigFile, `file:<part of its URL>`.
CRD_INSTALLERS = {
    "serving.kserve.io": "kserve-crd",
    "gateway.networking.k8s.io": "file:kubernetes-sigs/gateway-api/",
    "operator.knative.dev": "knative-operator",
    "cert-manager.io": "cert-manager",
    "monitoring.coreos.com": "kube-prometheus-stack",
    "networking.istio.io": "base",
    "security.istio.io": "base",
    "telemetry.istio.io": "base",
    "postgresql.cnpg.io": "cloudnative-pg",
    "redis.redis.opstreelabs.in": "redis-operator",
    "karpenter.sh": "karpenter",
    "karpenter.k8s.aws": "karpenter",
    "autoscaling.k8s.io": "vertical-pod-autoscaler",
}
CHART_TYPE = "kubernetes:helm.sh/v4:Chart"
KNATIVE_SERVING_TYPE = "kubernetes:operator.knative.dev/v1beta1:KnativeServing"
WAIT_FOR_READY = ("pulumi.com/waitFor", "condition=Ready")


@pytest.fixture(scope="module")
def renders(render: Render, lab_kubeconfig: Path) -> dict[str, Rendered]:
    """Every variant, rendered once for this module."""
    return {name: render_variant(render, name, lab_kubeconfig) for name in VARIANTS}


def _custom_resources(rendered: Rendered) -> list[dict[str, Any]]:
    return [m for m in rendered.manifests if crd_for(m) is not None or _is_custom_group(m["apiVersion"])]


# API groups of Kubernetes itself that carry a dot (every other dotted group is a CRD's).
BUILT_IN_GROUPS = frozenset({
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io", "certificates.k8s.io",
    "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
    "networking.k8s.io", "node.k8s.io", "rbac.authorization.k8s.io", "resource.k8s.io", "scheduling.k8s.io",
    "storage.k8s.io", "storagemigration.k8s.io", "internal.apiserver.k8s.io", "authentication.k8s.io",
    "authorization.k8s.io",
})


def _is_custom_group(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return "." in group and group not in BUILT_IN_GROUPS


def _records(rendered: Rendered) -> Records:
    assert rendered.records is not None
    return rendered.records


def _waits_for(records: Records) -> dict[str, set[str]]:
    """URN -> every URN it waits for: its `depends_on` (as the SDK expanded them) and its parent's, transitively."""
    direct = {r.urn: {*r.dependencies, *([r.parent_urn] if r.parent_urn else [])} for r in records}
    closure: dict[str, set[str]] = {}

    def walk(urn: str) -> set[str]:
        if urn not in closure:
            closure[urn] = set()
            found: set[str] = set()
            for dep in direct.get(urn, ()):
                found |= {dep, *walk(dep)}
            closure[urn] = found
        return closure[urn]

    for urn in direct:
        walk(urn)
    return closure


def _group(record: ResourceRecord) -> str:
    return record.type.split(":")[1].rpartition("/")[0]


def _charts(records: Records, chart: str) -> set[str]:
    if chart.startswith("file:"):
        return {r.urn for r in records.of_type("kubernetes:yaml/v2:ConfigFile")
                if chart.removeprefix("file:") in str(r.plain_inputs.get("file", ""))}
    return {r.urn for r in records.of_type(CHART_TYPE) if r.plain_inputs.get("chart") == chart}


def _monitor_switches(values: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Paths of `<...>serviceMonitor|podMonitor|prometheusRule>.enabled: true` in chart values."""
    for key, value in values.items():
        if not isinstance(value, Mapping):
            continue
        if key.lower() in ("servicemonitor", "podmonitor", "prometheusrule") and value.get("enabled") is True:
            yield f"{prefix}{key}.enabled"
        yield from _monitor_switches(value, f"{prefix}{key}.")


def _config_map_keys(name: str) -> frozenset[str]:
    data = yaml.safe_load((KNATIVE_CONFIGMAPS / f"config-{name}.yaml").read_text())["data"]
    return frozenset(yaml.safe_load(data["_example"]))


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_custom_resource_matches_its_crds_schema(renders: dict[str, Rendered], name: str) -> None:
    custom = _custom_resources(renders[name])
    assert len(custom) >= 3
    problems = {f"{m['kind']} {m['metadata'].get('namespace', '')}/{m['metadata']['name']}": crd_errors(m) for m in custom}
    assert {where: errors for where, errors in problems.items() if errors} == {}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_helm_value_the_program_sets_exists_in_the_pinned_chart(renders: dict[str, Rendered], name: str) -> None:
    unknown: dict[str, list[str]] = {}
    for chart in renders[name].charts:
        allowed = TEMPLATE_ONLY.get(chart.chart, frozenset())
        if not (chart_dir(chart.chart, chart.version) / "values.yaml").exists():
            unknown[f"{chart.chart} {chart.version}"] = ["<no values.yaml of this version in tests/data/upstream>"]
            continue
        paths = unknown_chart_paths(chart.values, chart_defaults(chart.chart, chart.version), pass_through=PASS_THROUGH.get(chart.chart, frozenset()))
        if missing := [p for p in paths if p not in allowed]:
            unknown[f"{chart.chart} {chart.version}"] = missing
    assert unknown == {}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_knative_config_key_exists_in_the_releases_configmaps(renders: dict[str, Rendered], name: str) -> None:
    (serving,) = [m for m in renders[name].manifests if m["kind"] == "KnativeServing"]
    unknown: list[str] = []
    for config_map, data in serving["spec"]["config"].items():
        if config_map == "domain":
            continue  # config-domain's keys are the domains themselves
        if config_map == "istio":
            # net-istio config-istio: `gateway.<namespace>.<name>` / `local-gateway.<namespace>.<name>`.
            unknown += [f"istio.{k}" for k in data if k.split(".")[0] not in ("gateway", "local-gateway")]
            continue
        known = CERTMANAGER_KEYS if config_map == "certmanager" else _config_map_keys(config_map)
        unknown += [f"{config_map}.{key}" for key in data if key not in known]
    assert unknown == []


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_custom_resource_waits_for_what_installs_its_crd(renders: dict[str, Rendered], name: str) -> None:
    records = _records(renders[name])
    waits = _waits_for(records)
    knative_servings = {r.urn for r in records.of_type(KNATIVE_SERVING_TYPE)}
    unordered: list[str] = []
    for record in records:
        if not (record.custom and record.type.startswith("kubernetes:")) or not _is_custom_group(_group(record) + "/x"):
            continue
        group = _group(record)
        # Knative Services need the operator to have reconciled Serving (its CRDs and webhook) first.
        installers = knative_servings if group == "serving.knative.dev" else _charts(records, CRD_INSTALLERS.get(group, "?"))
        if not installers & waits[record.urn]:
            unordered.append(f"{record.type} {record.name}")
    assert unordered == []


@pytest.mark.parametrize("name", list(VARIANTS))
def test_charts_that_emit_prometheus_monitors_wait_for_the_prometheus_crds(renders: dict[str, Rendered], name: str) -> None:
    records = _records(renders[name])
    waits = _waits_for(records)
    prometheus = _charts(records, "kube-prometheus-stack")
    unordered = [
        f"{chart.name}: {path}"
        for chart in records.of_type(CHART_TYPE)
        if chart.plain_inputs.get("chart") != "kube-prometheus-stack"
        for path in _monitor_switches(chart.plain_inputs.get("values") or {})
        if not prometheus & waits[chart.urn]
    ]
    assert unordered == []


def test_cert_managers_service_monitor_is_on_and_ordered_after_the_prometheus_stack(renders: dict[str, Rendered]) -> None:
    # Defect 7: the chart's ServiceMonitor raced kube-prometheus-stack's CRDs on a first `pulumi up`.
    for rendered in renders.values():
        records = _records(rendered)
        (cert_manager,) = [r for r in records.of_type(CHART_TYPE) if r.plain_inputs["chart"] == "cert-manager"]
        assert cert_manager.plain_inputs["values"]["prometheus"]["servicemonitor"]["enabled"] is True
        assert _charts(records, "kube-prometheus-stack") & _waits_for(records)[cert_manager.urn]


def test_the_knative_serving_is_awaited_until_ready_and_functions_wait_for_it(renders: dict[str, Rendered]) -> None:
    # Defect 2: Knative Services raced the operator (no wait on the KnativeServing).
    for rendered in renders.values():
        records = _records(rendered)
        (serving,) = records.of_type(KNATIVE_SERVING_TYPE)
        key, value = WAIT_FOR_READY
        assert serving.plain_inputs["metadata"]["annotations"][key] == value
    staging = _records(renders["staging-aws"])
    functions = staging.of_type("kubernetes:serving.knative.dev/v1:Service")
    assert functions, "staging declares functions"
    (serving,) = staging.of_type(KNATIVE_SERVING_TYPE)
    waits = _waits_for(staging)
    assert all(serving.urn in waits[f.urn] for f in functions)


def test_resource_counts_checked_per_variant(renders: dict[str, Rendered]) -> None:
    """Not a check of its own: the numbers the conformance tests above cover, for the review note."""
    for rendered in renders.values():
        assert len(_custom_resources(rendered)) >= 3
        assert sum(len(value_paths(c.values)) for c in rendered.charts) > 50


def _chart(rendered: Rendered, chart: str) -> Any:
    (found,) = [c for c in rendered.charts if c.chart == chart]
    return found


def test_production_serves_functions_over_tls_from_its_acme_issuer_and_staging_stays_on_http(
    renders: dict[str, Rendered],
) -> None:
    # Defect 8: production's ACME ClusterIssuer was never used by Knative.
    for name, rendered in renders.items():
        (serving,) = [m for m in rendered.manifests if m["kind"] == "KnativeServing"]
        (issuer,) = [m for m in rendered.manifests if m["kind"] == "ClusterIssuer"]
        config = serving["spec"]["config"]
        if rendered.stack == "production":
            assert config["network"]["external-domain-tls"] == "Enabled", name
            ref = yaml.safe_load(config["certmanager"]["issuerRef"])
            assert ref == {"kind": "ClusterIssuer", "name": issuer["metadata"]["name"]} and "acme" in issuer["spec"]
        else:
            assert "external-domain-tls" not in config["network"] and "certmanager" not in config, name


def test_mesh_spans_go_to_the_jaeger_charts_otlp_port_in_every_variant(renders: dict[str, Rendered]) -> None:
    # Defect 9: Istio had no tracer; now an OpenTelemetry extensionProvider and a mesh-wide Telemetry.
    for rendered in renders.values():
        jaeger = _chart(rendered, "jaeger")
        (provider,) = _chart(rendered, "istiod").values["meshConfig"]["extensionProviders"]
        assert provider["opentelemetry"] == {"service": f"isf-jaeger.{jaeger.namespace}.svc.cluster.local", "port": 4317}
        (telemetry,) = [m for m in rendered.manifests if m["kind"] == "Telemetry"]
        assert telemetry["spec"]["tracing"][0]["providers"] == [{"name": provider["name"]}]


def test_the_gateway_service_is_a_node_port_on_an_existing_cluster_and_a_load_balancer_in_the_clouds(
    renders: dict[str, Rendered],
) -> None:
    # Defect 10: on cloud=existing the wait for a LoadBalancer address timed out.
    for name, rendered in renders.items():
        service = _chart(rendered, "gateway").values["service"]
        expected = "NodePort" if rendered.config.cloud.value == "existing" else "LoadBalancer"
        assert service["type"] == expected, name
        assert "annotations" not in service, name


def test_a_load_balancer_asked_for_on_an_existing_cluster_is_not_awaited(render: Render, lab_kubeconfig: Path) -> None:
    _, overrides = VARIANTS["staging-existing"]
    rendered = render("staging", *(o.format(kubeconfig=lab_kubeconfig) for o in overrides),
                      "serving.istio.gateway_service_type=LoadBalancer")
    service = _chart(rendered, "gateway").values["service"]
    assert service == {"type": "LoadBalancer", "annotations": {"pulumi.com/skipAwait": "true"}}
