"""Knative Serving through the Knative Operator chart and one `KnativeServing` resource.

The resource selects Istio as ingress, sets the autoscaler defaults, turns on the feature flags that let
Knative Services carry nodeSelector, affinity and tolerations (tier placement needs them), exports
Prometheus metrics, and (when an issuer is given) serves external domains over TLS from cert-manager.

Every `spec.config.<configmap>.<key>` written here is a key of the `_example` block of that ConfigMap in
knative/serving `config/core/configmaps/` at `knative-v1.23.0` (tests/data/upstream/crds/knative-serving/).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.helm import ChartRef, Values, helm_chart, merged_values, namespace_manifest
from components.serving.istio import GATEWAY_RELEASE, GATEWAY_SELECTOR
from components.workloads.registration import register_manifest

# knative/operator hack/generate-helm.sh (knative-v1.23.0) stamps Chart.yaml with `${VERSION:1}`: the chart
# version has no leading "v" (1.23.0) while the image tags keep it (v1.23.0).
OPERATOR_CHART = ChartRef(chart="knative-operator", version="1.23.0", repo="https://knative.github.io/operator")
# The operator 1.23.0 ships Serving 1.20.0 ... 1.23.0 in cmd/operator/kodata/knative-serving/.
SERVING_VERSION = "1.23.0"
ISTIO_INGRESS_CLASS = "istio.ingress.networking.knative.dev"
# pulumi-kubernetes (provider/pkg/metadata/overrides.go, v4.32.0) waits on a custom resource only when it
# carries `pulumi.com/waitFor`; "condition=Ready" waits for status.conditions[type=Ready] to be True. The
# operator sets Ready on the KnativeServing once Serving's CRDs, webhook and controllers are up, so a
# Knative Service registered after it no longer races the webhook.
WAIT_FOR_READY = {"pulumi.com/waitFor": "condition=Ready"}

# config-features flags the warming controller and placement optimizer rely on. Serving 1.23 has no
# `kubernetes.podspec-emptydir`; emptyDir volumes are `kubernetes.podspec-volumes-emptydir`, enabled by default.
PLACEMENT_FEATURES = {
    "kubernetes.podspec-nodeselector": "enabled",
    "kubernetes.podspec-affinity": "enabled",
    "kubernetes.podspec-tolerations": "enabled",
}
# config-observability (Serving >= 1.19 exports OpenTelemetry metrics): "prometheus" serves a scrape endpoint
# on the control plane (activator, autoscaler, controller, webhook: metrics-protocol) and on every
# queue-proxy (request-metrics-protocol); the default "none" exports nothing.
PROMETHEUS_METRICS = {"metrics-protocol": "prometheus", "request-metrics-protocol": "prometheus"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AutoscalerConfig(_Strict):
    """The `config-autoscaler` defaults; per-function annotations override them."""

    container_concurrency_target_default: Annotated[int, Field(ge=1)] = 100
    target_burst_capacity: Annotated[int, Field(ge=-1)] = 200
    stable_window_seconds: Annotated[int, Field(ge=6, le=3600)] = 60
    panic_window_percentage: Annotated[float, Field(ge=1, le=100)] = 10.0
    scale_to_zero_grace_period_seconds: Annotated[int, Field(ge=6)] = 30
    enable_scale_to_zero: bool = True
    allow_zero_initial_scale: bool = True
    max_scale_up_rate: Annotated[float, Field(gt=1)] = 1000.0

    def config_map(self) -> dict[str, str]:
        """The ConfigMap data Knative reads (every value a string)."""
        return {
            "container-concurrency-target-default": str(self.container_concurrency_target_default),
            "target-burst-capacity": str(self.target_burst_capacity),
            "stable-window": f"{self.stable_window_seconds}s",
            "panic-window-percentage": f"{self.panic_window_percentage:g}",
            "scale-to-zero-grace-period": f"{self.scale_to_zero_grace_period_seconds}s",
            "enable-scale-to-zero": str(self.enable_scale_to_zero).lower(),
            "allow-zero-initial-scale": str(self.allow_zero_initial_scale).lower(),
            "max-scale-up-rate": f"{self.max_scale_up_rate:g}",
        }


class KnativeArgs(_Strict):
    """Knative Serving knobs; `operator_values` and `serving_spec` merge over the curated defaults."""

    serving_version: str = SERVING_VERSION
    operator_namespace: str = "knative-operator"
    namespace: str = "knative-serving"
    istio_namespace: str = Field(
        default="istio-system", description="where the Istio ingress gateway runs (Serving sets it from istio.namespace)"
    )
    domain: str | None = Field(default=None, description="the domain functions are served under, e.g. fn.example.com")
    high_availability_replicas: Annotated[int, Field(ge=1, le=10)] = 1
    autoscaler: AutoscalerConfig = AutoscalerConfig()
    external_tls: bool | None = Field(
        default=None,
        description="serve external domains over HTTPS with cert-manager certificates; unset: on when "
        "cert_manager.issuer is acme",
    )
    tls_issuer: str | None = Field(
        default=None, description="ClusterIssuer of the external-domain certificates (set by the serving layer)"
    )
    http_redirect: bool = Field(
        default=False, description="with TLS, answer plain HTTP with a 301 to HTTPS (config-network http-protocol)"
    )
    operator_values: dict[str, Any] = {}
    serving_spec: dict[str, Any] = Field(default={}, description="raw KnativeServing spec merged last")


def ingress_gateway_service(args: KnativeArgs) -> str:
    """In-cluster address of the Istio ingress gateway Service that Knative's shared Gateway fronts."""
    return f"{GATEWAY_RELEASE}.{args.istio_namespace}.svc.cluster.local"


def knative_serving_manifest(args: KnativeArgs) -> dict[str, Any]:
    """The `operator.knative.dev/v1beta1` KnativeServing resource, wired to our Istio ingress gateway."""
    config: dict[str, Any] = {
        "network": {"ingress-class": ISTIO_INGRESS_CLASS},
        # Legacy config-istio key the operator docs use: gateway.<gateway namespace>.<gateway name>.
        "istio": {f"gateway.{args.namespace}.knative-ingress-gateway": ingress_gateway_service(args)},
        "autoscaler": args.autoscaler.config_map(),
        "features": dict(PLACEMENT_FEATURES),
        "observability": dict(PROMETHEUS_METRICS),
    }
    if args.tls_issuer:
        # Serving's own cert-manager integration (cmd/controller/main.go starts it when external-domain-tls
        # is on, and exits if cert-manager's CRDs are missing); issuerRef is a YAML string (config-certmanager).
        config["network"] |= {
            "external-domain-tls": "Enabled",
            "http-protocol": "Redirected" if args.http_redirect else "Enabled",
        }
        config["certmanager"] = {"issuerRef": f"kind: ClusterIssuer\nname: {args.tls_issuer}\n"}
    if args.domain:
        config["domain"] = {args.domain: ""}
    spec: Values = {
        "version": args.serving_version,
        "ingress": {"istio": {"enabled": True, "knative-ingress-gateway": {"selector": dict(GATEWAY_SELECTOR)}}},
        "config": config,
        "high-availability": {"replicas": args.high_availability_replicas},
    }
    return {
        "apiVersion": "operator.knative.dev/v1beta1",
        "kind": "KnativeServing",
        "metadata": {"name": "knative-serving", "namespace": args.namespace, "annotations": dict(WAIT_FOR_READY)},
        "spec": merged_values(spec, args.serving_spec),
    }


class KnativeServing(pulumi.ComponentResource):
    """The Knative Operator (Helm) and the KnativeServing it reconciles; Istio must come first."""

    def __init__(
        self,
        name: str,
        args: KnativeArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        certificates: Sequence[pulumi.Resource] = (),
    ) -> None:
        """`certificates`: what the KnativeServing waits for when TLS is on (cert-manager's chart and issuer)."""
        super().__init__("isf:serving:KnativeServing", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        operator_ns = register_manifest(
            f"{name}-operator-namespace", namespace_manifest(args.operator_namespace), child
        )
        serving_ns = register_manifest(f"{name}-namespace", namespace_manifest(args.namespace), child)
        self.operator = helm_chart(
            f"{name}-operator", OPERATOR_CHART, release="knative-operator", namespace=args.operator_namespace,
            values=merged_values({}, args.operator_values),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[operator_ns]),
        )
        self.serving = register_manifest(
            f"{name}-serving", knative_serving_manifest(args),
            pulumi.ResourceOptions(parent=self, depends_on=[self.operator, serving_ns, *certificates]),
        )
        self.register_outputs({"namespace": args.namespace, "version": args.serving_version})
