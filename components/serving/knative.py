"""Knative Serving through the Knative Operator chart and one `KnativeServing` resource.

The resource selects Istio as ingress, sets the autoscaler defaults, and turns on the feature flags
that let Knative Services carry nodeSelector, affinity and tolerations (tier placement needs them).
"""

from __future__ import annotations

from typing import Annotated, Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.helm import ChartRef, Values, helm_chart, merged_values, namespace_manifest
from components.serving.istio import GATEWAY_RELEASE, GATEWAY_SELECTOR
from components.workloads.registration import register_manifest

# The operator's Helm repository (index.yaml on knative/operator's GitHub Pages) tags charts with a
# leading "v" (v1.18.1), unlike the Serving version the KnativeServing asks for ("1.18").
OPERATOR_CHART = ChartRef(chart="knative-operator", version="v1.18.1", repo="https://knative.github.io/operator")
SERVING_VERSION = "1.18"
ISTIO_INGRESS_CLASS = "istio.ingress.networking.knative.dev"

# config-features flags the warming controller and placement optimizer rely on.
PLACEMENT_FEATURES = {
    "kubernetes.podspec-nodeselector": "enabled",
    "kubernetes.podspec-affinity": "enabled",
    "kubernetes.podspec-tolerations": "enabled",
    "kubernetes.podspec-emptydir": "enabled",
}


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
    }
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
        "metadata": {"name": "knative-serving", "namespace": args.namespace},
        "spec": merged_values(spec, args.serving_spec),
    }


class KnativeServing(pulumi.ComponentResource):
    """The Knative Operator (Helm) and the KnativeServing it reconciles; Istio must come first."""

    def __init__(self, name: str, args: KnativeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
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
            pulumi.ResourceOptions(parent=self, depends_on=[self.operator, serving_ns]),
        )
        self.register_outputs({"namespace": args.namespace, "version": args.serving_version})
