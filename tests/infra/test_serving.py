"""Serving: pinned Istio, Knative (operator + KnativeServing) and cert-manager charts with overrides."""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s
import pytest
import yaml
from pydantic import ValidationError

from components.helm import merged_values
from components.serving import (
    CertManagerArgs,
    IssuerKind,
    IstioArgs,
    KnativeArgs,
    ServiceType,
    Serving,
    ServingArgs,
)
from components.serving.cert_manager import (
    CERT_MANAGER_CHART,
    CertManager,
    cert_manager_values,
    cluster_issuer,
)
from components.serving.istio import (
    ISTIO_REPO,
    ISTIO_VERSION,
    TracingBackend,
    base_values,
    gateway_values,
    istiod_values,
    mesh_telemetry,
)
from components.serving.knative import (
    OPERATOR_CHART,
    PLACEMENT_FEATURES,
    SERVING_VERSION,
    AutoscalerConfig,
    knative_serving_manifest,
)
from components.serving.stack import external_tls_issuer
from tests.support.crd_schemas import crd_errors
from tests.support.helm_keys import UPSTREAM, chart_defaults, unknown_chart_paths

CHART = "kubernetes:helm.sh/v4:Chart"

KNATIVE_CONFIGMAPS = UPSTREAM / "crds" / "knative-serving" / "1.23.0" / "configmaps"


def _knative_keys(config_map: str) -> set[str]:
    """The keys of a Serving 1.23.0 ConfigMap's `_example` block (knative/serving config/core/configmaps/)."""
    data = yaml.safe_load((KNATIVE_CONFIGMAPS / f"config-{config_map}.yaml").read_text())["data"]
    return set(yaml.safe_load(data["_example"]))


def test_values_overrides_merge_deeply_and_replace_lists() -> None:
    merged = merged_values({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2]}, "e": 3})
    assert merged == {"a": {"b": 1, "c": [2]}, "d": 1, "e": 3}


def test_knative_serving_uses_istio_and_allows_tier_placement_fields(validate_manifest: Any) -> None:
    manifest = knative_serving_manifest(KnativeArgs(domain="fn.example.com"))
    validate_manifest(manifest)
    config = manifest["spec"]["config"]
    assert manifest["apiVersion"] == "operator.knative.dev/v1beta1"
    assert manifest["spec"]["ingress"]["istio"]["enabled"] is True
    assert config["network"]["ingress-class"] == "istio.ingress.networking.knative.dev"
    for flag in ("kubernetes.podspec-nodeselector", "kubernetes.podspec-affinity", "kubernetes.podspec-tolerations"):
        assert config["features"][flag] == "enabled"
    assert config["domain"] == {"fn.example.com": ""}
    assert all(isinstance(value, str) for value in config["autoscaler"].values())


def test_knative_serving_spec_override_wins_over_defaults_but_keeps_the_rest() -> None:
    manifest = knative_serving_manifest(KnativeArgs(serving_spec={"config": {"features": {"multi-container": "enabled"}}}))
    assert manifest["spec"]["config"]["features"] == {**PLACEMENT_FEATURES, "multi-container": "enabled"}


def test_istio_gateway_carries_the_label_net_istio_selects() -> None:
    values = gateway_values(IstioArgs(gateway_min_replicas=2, gateway_max_replicas=4))
    assert values["labels"] == {"istio": "ingressgateway"}
    assert values["autoscaling"]["minReplicas"] == 2 and values["podDisruptionBudget"] == {"minAvailable": 1}


def test_istiod_values_override_is_applied() -> None:
    assert istiod_values(IstioArgs(istiod_values={"replicaCount": 3}))["replicaCount"] == 3


def test_istio_gateway_bounds_are_checked() -> None:
    with pytest.raises(ValidationError, match=r"gateway_min_replicas \(3\) must not exceed gateway_max_replicas \(2\)"):
        IstioArgs(gateway_min_replicas=3, gateway_max_replicas=2)


def test_cert_manager_installs_its_crds() -> None:
    assert cert_manager_values(CertManagerArgs())["crds"] == {"enabled": True, "keep": True}


def test_production_issuer_is_acme_over_http01_through_istio(validate_manifest: Any) -> None:
    issuer = cluster_issuer(CertManagerArgs(issuer=IssuerKind.ACME, acme_email="ops@example.com"))
    validate_manifest(issuer)
    acme = issuer["spec"]["acme"]
    assert acme["email"] == "ops@example.com"
    assert acme["solvers"] == [{"http01": {"ingress": {"class": "istio"}}}]


def test_acme_issuer_without_email_is_rejected() -> None:
    with pytest.raises(ValidationError, match="issuer=acme needs 'acme_email'"):
        CertManagerArgs(issuer=IssuerKind.ACME)


def test_serving_registers_pinned_charts_in_order(run_pulumi: Any) -> None:
    records = run_pulumi(lambda: Serving("serving", ServingArgs(istio=IstioArgs(gateway_values={"env": {"A": "1"}}))))
    charts = {r.name: r.plain_inputs for r in records.of_type(CHART)}
    assert set(charts) == {"serving-istio-base", "serving-istio-istiod", "serving-istio-gateway",
                           "serving-knative-operator", "serving-cert-manager-chart"}
    assert all(inputs.get("version") for inputs in charts.values())
    assert charts["serving-istio-gateway"]["values"]["env"] == {"A": "1"}
    assert charts["serving-istio-gateway"]["values"]["labels"] == {"istio": "ingressgateway"}
    assert records.one("kubernetes:operator.knative.dev/v1beta1:KnativeServing").parent_name == "serving-knative"
    assert records.one("kubernetes:cert-manager.io/v1:ClusterIssuer").plain_inputs["spec"] == {"selfSigned": {}}


def test_value_path_check_names_every_key_the_chart_does_not_have() -> None:
    defaults = {"a": {"b": 1}, "labels": {}, "meshConfig": {"x": 1}}
    values = {"a": {"b": 1, "c": 2}, "labels": {"anything": "x"}, "pilot": {"replicaCount": 3}, "meshConfig": {"y": 1}}
    assert unknown_chart_paths(values, defaults) == ["a.c", "pilot", "meshConfig.y"]
    assert unknown_chart_paths(values, defaults, pass_through={"meshConfig"}) == ["a.c", "pilot"]


def test_charts_are_pinned_to_the_releases_whose_files_the_tests_read() -> None:
    # A bump means new files under tests/data/upstream/ (versions.json) and a pass over docs/charts.md.
    assert (ISTIO_REPO, ISTIO_VERSION) == ("https://istio-release.storage.googleapis.com/charts", "1.30.3")
    assert (OPERATOR_CHART.repo, OPERATOR_CHART.chart, OPERATOR_CHART.version) == (
        "https://knative.github.io/operator", "knative-operator", "1.23.0")
    assert SERVING_VERSION == "1.23.0"
    assert (CERT_MANAGER_CHART.repo, CERT_MANAGER_CHART.chart, CERT_MANAGER_CHART.version) == (
        "https://charts.jetstack.io", "cert-manager", "v1.21.1")


TRACED = IstioArgs(tracing=TracingBackend(service="jaeger.monitoring.svc.cluster.local"))


@pytest.mark.parametrize("args", [
    IstioArgs(), TRACED, IstioArgs(istiod_replicas=3, gateway_min_replicas=2, gateway_max_replicas=6),
    IstioArgs(gateway_service_type=ServiceType.LOAD_BALANCER, await_gateway_address=False),
])
def test_istio_values_only_use_keys_of_the_pinned_charts(args: IstioArgs) -> None:
    assert unknown_chart_paths(base_values(args), chart_defaults("base", ISTIO_VERSION)) == []
    assert unknown_chart_paths(istiod_values(args), chart_defaults("istiod", ISTIO_VERSION), pass_through={"meshConfig"}) == []
    assert unknown_chart_paths(gateway_values(args), chart_defaults("gateway", ISTIO_VERSION), pass_through={"labels"}) == []


def test_istiod_values_are_top_level_not_under_the_legacy_pilot_block() -> None:
    values = istiod_values(IstioArgs(istiod_replicas=3, trace_sampling_percent=5))
    assert "pilot" not in values
    assert (values["replicaCount"], values["autoscaleMin"], values["traceSampling"]) == (3, 3, 5)
    assert values["global"]["istioNamespace"] == "istio-system"


@pytest.mark.parametrize("args", [CertManagerArgs(), CertManagerArgs(replicas=3, monitoring=False)])
def test_cert_manager_values_only_use_keys_of_the_pinned_chart(args: CertManagerArgs) -> None:
    assert unknown_chart_paths(cert_manager_values(args), chart_defaults("cert-manager", CERT_MANAGER_CHART.version)) == []


def test_knative_operator_override_keys_are_checked_against_the_operator_chart() -> None:
    defaults = chart_defaults("knative-operator", OPERATOR_CHART.version)
    good = {"knative_operator": {"knative_operator": {"resources": {"requests": {"cpu": "50m"}}}}}
    assert unknown_chart_paths(good, defaults) == []
    assert unknown_chart_paths({"operator": {"resources": {}}}, defaults) == ["operator"]


@pytest.mark.parametrize("args", [KnativeArgs(), KnativeArgs(tls_issuer="isf-issuer", domain="fn.example.com")])
def test_knative_config_maps_only_use_keys_of_serving_1_23(args: KnativeArgs) -> None:
    config = knative_serving_manifest(args)["spec"]["config"]
    for config_map in ("autoscaler", "features", "network", "observability"):
        assert set(config[config_map]) <= _knative_keys(config_map), config_map
    assert set(config) <= {"network", "istio", "autoscaler", "features", "domain", "observability", "certmanager"}


def test_placement_features_exist_in_serving_1_23_and_the_removed_emptydir_flag_is_gone() -> None:
    # Defect 9: `kubernetes.podspec-emptydir` is not a 1.23 flag (emptyDir is kubernetes.podspec-volumes-emptydir).
    assert set(PLACEMENT_FEATURES) <= _knative_keys("features")
    assert "kubernetes.podspec-emptydir" not in PLACEMENT_FEATURES


def test_knative_exports_prometheus_metrics_from_control_plane_and_queue_proxies() -> None:
    observability = knative_serving_manifest(KnativeArgs())["spec"]["config"]["observability"]
    assert observability == {"metrics-protocol": "prometheus", "request-metrics-protocol": "prometheus"}


def test_knative_serving_is_awaited_until_ready() -> None:
    # Defect 2: pulumi-kubernetes only waits on a custom resource carrying pulumi.com/waitFor.
    manifest = knative_serving_manifest(KnativeArgs())
    assert manifest["metadata"]["annotations"] == {"pulumi.com/waitFor": "condition=Ready"}
    assert crd_errors(manifest) == []


def test_acme_stacks_serve_functions_over_tls_from_the_cluster_issuer(run_pulumi: Any) -> None:
    # Defect 8: the ACME ClusterIssuer was never used; functions were plain HTTP.
    acme = CertManagerArgs(issuer=IssuerKind.ACME, acme_email="ops@example.com")
    records = run_pulumi(lambda: Serving("serving", ServingArgs(cert_manager=acme, knative=KnativeArgs(domain="fn.example.com"))))
    serving = records.one("kubernetes:operator.knative.dev/v1beta1:KnativeServing")
    config = serving.plain_inputs["spec"]["config"]
    issuer = records.one("kubernetes:cert-manager.io/v1:ClusterIssuer")
    assert config["network"]["external-domain-tls"] == "Enabled"
    assert yaml.safe_load(config["certmanager"]["issuerRef"]) == {"kind": "ClusterIssuer", "name": issuer.plain_inputs["metadata"]["name"]}
    # Serving's controller exits when TLS is on and cert-manager's CRDs are missing: it must come after the chart.
    chart = records.one(CHART, "serving-cert-manager-chart")
    assert {chart.urn, issuer.urn} <= set(serving.dependencies)


def test_self_signed_stacks_stay_on_http_unless_asked(run_pulumi: Any) -> None:
    assert external_tls_issuer(ServingArgs()) is None
    assert external_tls_issuer(ServingArgs(knative=KnativeArgs(external_tls=True))) == "isf-issuer"
    acme = CertManagerArgs(issuer=IssuerKind.ACME, acme_email="ops@example.com")
    assert external_tls_issuer(ServingArgs(cert_manager=acme, knative=KnativeArgs(external_tls=False))) is None


def test_mesh_traces_go_to_the_otlp_backend_through_a_mesh_wide_telemetry(run_pulumi: Any) -> None:
    # Defect 9: no extensionProvider and no Telemetry, so Istio's spans went nowhere.
    values = istiod_values(TRACED)
    (provider,) = values["meshConfig"]["extensionProviders"]
    assert provider == {"name": "otel-tracing", "opentelemetry": {"service": "jaeger.monitoring.svc.cluster.local", "port": 4317}}
    records = run_pulumi(lambda: Serving("serving", ServingArgs(istio=TRACED)))
    telemetry = records.one("kubernetes:telemetry.istio.io/v1:Telemetry")
    spec = telemetry.plain_inputs["spec"]
    assert spec["tracing"][0]["providers"] == [{"name": "otel-tracing"}]
    assert telemetry.plain_inputs["metadata"]["namespace"] == "istio-system"  # the root namespace: mesh-wide
    assert crd_errors(telemetry.plain_inputs) == []
    assert records.one(CHART, "serving-istio-base").urn in telemetry.dependencies
    assert mesh_telemetry(IstioArgs()) is None


def test_a_load_balancer_gateway_that_may_never_get_an_address_is_not_awaited() -> None:
    # Defect 10: on clusters without a load-balancer controller the wait for the gateway's address timed out.
    skipped = gateway_values(IstioArgs(await_gateway_address=False))
    assert skipped["service"] == {"type": "LoadBalancer", "annotations": {"pulumi.com/skipAwait": "true"}}
    assert gateway_values(IstioArgs())["service"] == {"type": "LoadBalancer"}
    assert gateway_values(IstioArgs(gateway_service_type=ServiceType.NODE_PORT, await_gateway_address=False))["service"] == {
        "type": "NodePort"}


def test_cert_managers_service_monitor_waits_for_the_prometheus_crds(run_pulumi: Any) -> None:
    # Defect 7: without what installs the ServiceMonitor CRD there is no ServiceMonitor; with it, the chart waits.
    assert cert_manager_values(CertManagerArgs(), service_monitor=False)["prometheus"]["servicemonitor"]["enabled"] is False

    def program() -> None:
        crds = k8s.core.v1.ConfigMap("prometheus-crds")
        CertManager("cm", CertManagerArgs(), prometheus_crds=[crds])

    records = run_pulumi(program)
    chart = records.one(CHART, "cm-chart")
    assert chart.plain_inputs["values"]["prometheus"]["servicemonitor"]["enabled"] is True
    assert records.one("kubernetes:core/v1:ConfigMap").urn in chart.dependencies


def test_knative_autoscaler_durations_carry_units_and_bounds_match_knative_validation() -> None:
    data = AutoscalerConfig(stable_window_seconds=90, scale_to_zero_grace_period_seconds=45).config_map()
    assert (data["stable-window"], data["scale-to-zero-grace-period"]) == ("90s", "45s")
    with pytest.raises(ValidationError):
        AutoscalerConfig(stable_window_seconds=5)  # Knative rejects a stable window under 6s


def test_knative_shared_gateway_selects_the_istio_gateway_pods_and_points_at_its_service() -> None:
    istio = IstioArgs(namespace="mesh")
    manifest = knative_serving_manifest(KnativeArgs(istio_namespace=istio.namespace))
    gateway = manifest["spec"]["ingress"]["istio"]
    assert gateway["enabled"] is True
    assert gateway["knative-ingress-gateway"]["selector"] == gateway_values(istio)["labels"]
    assert manifest["spec"]["config"]["istio"] == {
        "gateway.knative-serving.knative-ingress-gateway": "istio-ingressgateway.mesh.svc.cluster.local"}


def test_serving_points_knative_at_the_namespace_istio_was_installed_in(run_pulumi: Any) -> None:
    records = run_pulumi(lambda: Serving("serving", ServingArgs(istio=IstioArgs(namespace="mesh"))))
    spec = records.one("kubernetes:operator.knative.dev/v1beta1:KnativeServing").plain_inputs["spec"]
    assert spec["config"]["istio"]["gateway.knative-serving.knative-ingress-gateway"].endswith(".mesh.svc.cluster.local")
