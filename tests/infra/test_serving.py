"""Serving: pinned Istio, Knative (operator + KnativeServing) and cert-manager charts with overrides."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from components.helm import merged_values
from components.serving import CertManagerArgs, IssuerKind, IstioArgs, KnativeArgs, Serving, ServingArgs
from components.serving.cert_manager import CERT_MANAGER_CHART, cert_manager_values, cluster_issuer
from components.serving.istio import ISTIO_REPO, ISTIO_VERSION, base_values, gateway_values, istiod_values
from components.serving.knative import (
    OPERATOR_CHART,
    PLACEMENT_FEATURES,
    AutoscalerConfig,
    knative_serving_manifest,
)
from tests.support.helm_keys import FREE_FORM, KeyTree, unknown_value_paths

CHART = "kubernetes:helm.sh/v4:Chart"

# Key structures of the pinned charts' values.yaml (the parts we write, with their siblings), copied from
# the charts' sources; docs/charts.md records where each was checked. A bump must re-check these.

# istio/istio manifests/charts/base/values.yaml (keys under `_internal_defaults_do_not_set`, 1.26.x).
ISTIO_BASE_KEYS: KeyTree = {
    "global": {"imagePullSecrets": None, "istioNamespace": None, "istiod": FREE_FORM, "configValidation": None,
               "externalIstiod": None, "remotePilotAddress": None, "platform": None, "ipFamilyPolicy": None,
               "ipFamilies": None},
    "base": {"enableCRDTemplates": None, "validationURL": None, "enableIstioConfigCRDs": None},
    "defaultRevision": None,
}
# istio/istio manifests/charts/istio-control/istio-discovery/values.yaml: flat since Istio 1.23 (#52036);
# the `pilot:` block left values.yaml then (only a compatibility alias remains in the templates).
ISTIOD_KEYS: KeyTree = {
    "autoscaleEnabled": None, "autoscaleMin": None, "autoscaleMax": None, "autoscaleBehavior": FREE_FORM,
    "replicaCount": None, "rollingMaxSurge": None, "rollingMaxUnavailable": None, "hub": None, "tag": None,
    "variant": None, "image": None, "traceSampling": None, "resources": FREE_FORM, "seccompProfile": FREE_FORM,
    "cni": FREE_FORM, "env": FREE_FORM, "affinity": FREE_FORM, "tolerations": None, "cpu": FREE_FORM,
    "memory": FREE_FORM, "nodeSelector": FREE_FORM, "podAnnotations": FREE_FORM, "podLabels": FREE_FORM,
    "deploymentLabels": FREE_FORM, "topologySpreadConstraints": None, "configMap": None,
    "sidecarInjectorWebhook": FREE_FORM, "istiodRemote": FREE_FORM, "telemetry": FREE_FORM, "revision": None,
    "revisionTags": None, "ownerName": None, "meshConfig": FREE_FORM, "experimental": FREE_FORM,
    "global": {"istioNamespace": None, "certSigners": None, "defaultPodDisruptionBudget": FREE_FORM,
               "defaultResources": FREE_FORM, "hub": None, "tag": None, "variant": None, "imagePullPolicy": None,
               "imagePullSecrets": None, "logAsJson": None, "logging": FREE_FORM, "priorityClassName": None,
               "proxy": FREE_FORM, "proxy_init": FREE_FORM, "meshID": None, "multiCluster": FREE_FORM,
               "network": None},
    "base": FREE_FORM, "gateways": FREE_FORM, "gatewayClasses": FREE_FORM,
}
# istio/istio manifests/charts/gateway/values.schema.json ($defs.values; the schema rejects unknown top-level keys).
ISTIO_GATEWAY_KEYS: KeyTree = {
    "name": None, "revision": None, "replicaCount": None, "kind": None, "rbac": {"enabled": None},
    "serviceAccount": {"create": None, "annotations": FREE_FORM, "name": None}, "podAnnotations": FREE_FORM,
    "securityContext": FREE_FORM, "containerSecurityContext": FREE_FORM, "affinity": FREE_FORM,
    "service": {"type": None, "ports": None, "annotations": FREE_FORM, "loadBalancerIP": None,
                "loadBalancerSourceRanges": None, "externalTrafficPolicy": None, "ipFamilies": None,
                "ipFamilyPolicy": None},
    "resources": FREE_FORM,
    "autoscaling": {"enabled": None, "minReplicas": None, "maxReplicas": None, "targetCPUUtilizationPercentage": None},
    "podDisruptionBudget": {"minAvailable": None, "maxUnavailable": None, "unhealthyPodEvictionPolicy": None},
    "env": FREE_FORM, "labels": FREE_FORM, "annotations": FREE_FORM, "nodeSelector": FREE_FORM, "tolerations": None,
    "topologySpreadConstraints": None, "networkGateway": None, "imagePullPolicy": None, "imagePullSecrets": None,
    "strategy": FREE_FORM, "minReadySeconds": None, "readinessProbe": FREE_FORM, "terminationGracePeriodSeconds": None,
    "volumes": None, "volumeMounts": None, "priorityClassName": None, "lifecycle": FREE_FORM, "global": FREE_FORM,
}
# knative/operator config/charts/knative-operator/values.yaml (the chart ships no other keys).
KNATIVE_OPERATOR_KEYS: KeyTree = {
    "knative_operator": {
        "knative_operator": {"image": None, "tag": None, "affinity": FREE_FORM, "tolerations": None,
                             "containerSecurityContext": FREE_FORM, "resources": FREE_FORM},
        "operator_webhook": {"image": None, "tag": None, "affinity": FREE_FORM, "tolerations": None,
                             "containerSecurityContext": FREE_FORM, "resources": FREE_FORM},
        "kubernetes_min_version": None,
    }
}
# cert-manager/cert-manager deploy/charts/cert-manager/values.yaml (v1.17.x).
CERT_MANAGER_KEYS: KeyTree = {
    "global": FREE_FORM, "installCRDs": None, "crds": {"enabled": None, "keep": None}, "replicaCount": None,
    "strategy": FREE_FORM, "podDisruptionBudget": {"enabled": None, "minAvailable": None, "maxUnavailable": None},
    "featureGates": None, "maxConcurrentChallenges": None, "image": FREE_FORM, "clusterResourceNamespace": None,
    "namespace": None, "serviceAccount": FREE_FORM, "config": FREE_FORM, "extraArgs": None, "extraEnv": None,
    "resources": FREE_FORM, "securityContext": FREE_FORM, "containerSecurityContext": FREE_FORM,
    "nodeSelector": FREE_FORM, "affinity": FREE_FORM, "tolerations": None, "topologySpreadConstraints": None,
    "podLabels": FREE_FORM, "livenessProbe": FREE_FORM, "enableServiceLinks": None,
    "prometheus": {
        "enabled": None,
        "servicemonitor": {"enabled": None, "prometheusInstance": None, "targetPort": None, "path": None,
                           "interval": None, "scrapeTimeout": None, "labels": FREE_FORM, "annotations": FREE_FORM,
                           "honorLabels": None, "endpointAdditionalProperties": FREE_FORM},
        "podmonitor": FREE_FORM,
    },
    "webhook": FREE_FORM, "cainjector": FREE_FORM, "startupapicheck": FREE_FORM,
}
# Knative Serving config-autoscaler and config-features keys (knative.dev docs, serving 1.18).
AUTOSCALER_KEYS = {
    "container-concurrency-target-default", "container-concurrency-target-percentage", "target-burst-capacity",
    "stable-window", "panic-window-percentage", "panic-threshold-percentage", "scale-to-zero-grace-period",
    "scale-to-zero-pod-retention-period", "enable-scale-to-zero", "allow-zero-initial-scale", "initial-scale",
    "max-scale-up-rate", "max-scale-down-rate", "max-scale", "min-scale", "max-scale-limit", "pod-autoscaler-class",
    "requests-per-second-target-default", "target-utilization-percentage", "activator-capacity", "scale-down-delay",
}
FEATURE_KEYS = {
    "kubernetes.podspec-nodeselector", "kubernetes.podspec-affinity", "kubernetes.podspec-tolerations",
    "kubernetes.podspec-emptydir", "kubernetes.podspec-fieldref", "kubernetes.podspec-runtimeclassname",
    "kubernetes.podspec-securitycontext", "kubernetes.podspec-topologyspreadconstraints",
    "kubernetes.podspec-volumes-emptydir", "kubernetes.podspec-init-containers", "kubernetes.podspec-dryrun",
    "kubernetes.containerspec-addcapabilities", "kubernetes.podspec-priorityclassname",
    "kubernetes.podspec-schedulername", "kubernetes.podspec-hostipc", "kubernetes.podspec-hostpid",
    "kubernetes.podspec-hostnetwork", "kubernetes.podspec-persistent-volume-claim",
    "kubernetes.podspec-persistent-volume-write", "multi-container", "multi-container-probing", "tag-header-based-routing",
    "autodetect-http2", "secure-pod-defaults", "queueproxy.mount-podinfo",
}


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
    known: KeyTree = {"a": {"b": None}, "labels": FREE_FORM}
    values = {"a": {"b": 1, "c": 2}, "labels": {"anything": "x"}, "pilot": {"replicaCount": 3}}
    assert unknown_value_paths(values, known) == ["a.c", "pilot"]


def test_charts_are_pinned_to_the_verified_releases() -> None:
    # Verified to exist in each repository's index (docs/charts.md); a bump must re-verify the key tables.
    assert (ISTIO_REPO, ISTIO_VERSION) == ("https://istio-release.storage.googleapis.com/charts", "1.26.2")
    assert (OPERATOR_CHART.repo, OPERATOR_CHART.chart, OPERATOR_CHART.version) == (
        "https://knative.github.io/operator", "knative-operator", "v1.18.1")
    assert (CERT_MANAGER_CHART.repo, CERT_MANAGER_CHART.chart, CERT_MANAGER_CHART.version) == (
        "https://charts.jetstack.io", "cert-manager", "v1.17.2")


@pytest.mark.parametrize("args", [IstioArgs(), IstioArgs(istiod_replicas=3, gateway_min_replicas=2, gateway_max_replicas=6)])
def test_istio_values_only_use_keys_of_the_pinned_charts(args: IstioArgs) -> None:
    assert unknown_value_paths(base_values(args), ISTIO_BASE_KEYS) == []
    assert unknown_value_paths(istiod_values(args), ISTIOD_KEYS) == []
    assert unknown_value_paths(gateway_values(args), ISTIO_GATEWAY_KEYS) == []


def test_istiod_values_are_top_level_not_under_the_legacy_pilot_block() -> None:
    values = istiod_values(IstioArgs(istiod_replicas=3, trace_sampling_percent=5))
    assert "pilot" not in values
    assert (values["replicaCount"], values["autoscaleMin"], values["traceSampling"]) == (3, 3, 5)
    assert values["global"]["istioNamespace"] == "istio-system"


@pytest.mark.parametrize("args", [CertManagerArgs(), CertManagerArgs(replicas=3, monitoring=False)])
def test_cert_manager_values_only_use_keys_of_the_pinned_chart(args: CertManagerArgs) -> None:
    assert unknown_value_paths(cert_manager_values(args), CERT_MANAGER_KEYS) == []


def test_knative_operator_override_keys_are_checked_against_the_operator_chart() -> None:
    good = {"knative_operator": {"knative_operator": {"resources": {"requests": {"cpu": "50m"}}}}}
    assert unknown_value_paths(good, KNATIVE_OPERATOR_KEYS) == []
    assert unknown_value_paths({"operator": {"resources": {}}}, KNATIVE_OPERATOR_KEYS) == ["operator"]


def test_knative_config_maps_only_use_documented_keys() -> None:
    config = knative_serving_manifest(KnativeArgs())["spec"]["config"]
    assert set(config["autoscaler"]) <= AUTOSCALER_KEYS
    assert set(config["features"]) <= FEATURE_KEYS
    assert set(config) <= {"network", "istio", "autoscaler", "features", "domain", "defaults", "deployment",
                           "gc", "logging", "observability", "tracing", "certmanager", "leader-election"}


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
