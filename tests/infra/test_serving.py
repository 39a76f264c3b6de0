"""Serving: pinned Istio, Knative (operator + KnativeServing) and cert-manager charts with overrides."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from components.serving import CertManagerArgs, IssuerKind, IstioArgs, KnativeArgs, Serving, ServingArgs
from components.serving.cert_manager import cert_manager_values, cluster_issuer
from components.serving.helm import merged_values
from components.serving.istio import gateway_values, istiod_values
from components.serving.knative import PLACEMENT_FEATURES, knative_serving_manifest

CHART = "kubernetes:helm.sh/v4:Chart"


def test_values_overrides_merge_deeply_and_replace_lists() -> None:
    merged = merged_values({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2]}, "e": 3})
    assert merged == {"a": {"b": 1, "c": [2]}, "d": 1, "e": 3}


def test_knative_serving_uses_istio_and_allows_tier_placement_fields(validate_manifest: Any) -> None:
    manifest = knative_serving_manifest(KnativeArgs(domain="fn.example.com"))
    validate_manifest(manifest)
    config = manifest["spec"]["config"]
    assert manifest["apiVersion"] == "operator.knative.dev/v1beta1"
    assert manifest["spec"]["ingress"] == {"istio": {"enabled": True}}
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
    assert istiod_values(IstioArgs(istiod_values={"pilot": {"replicaCount": 3}}))["pilot"]["replicaCount"] == 3


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
