"""Istio from its three Helm charts: base (CRDs), istiod, and the ingress gateway Knative routes through."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Self

import pulumi
from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.helm import ChartRef, Values, helm_chart, merged_values, namespace_manifest
from components.workloads.registration import register_manifest

ISTIO_VERSION = "1.26.2"
ISTIO_REPO = "https://istio-release.storage.googleapis.com/charts"
# net-istio's knative-ingress-gateway selects pods labelled istio=ingressgateway.
GATEWAY_RELEASE = "istio-ingressgateway"
GATEWAY_SELECTOR = {"istio": "ingressgateway"}


class ServiceType(StrEnum):
    LOAD_BALANCER = "LoadBalancer"
    NODE_PORT = "NodePort"
    CLUSTER_IP = "ClusterIP"


class IstioArgs(BaseModel):
    """Istio install knobs; `*_values` are raw chart values merged over the curated ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = ISTIO_VERSION
    namespace: str = "istio-system"
    istiod_replicas: Annotated[int, Field(ge=1, le=10)] = 1
    gateway_min_replicas: Annotated[int, Field(ge=1)] = 1
    gateway_max_replicas: Annotated[int, Field(ge=1)] = 5
    gateway_service_type: ServiceType = ServiceType.LOAD_BALANCER
    trace_sampling_percent: Annotated[float, Field(ge=0, le=100)] = 1.0
    base_values: dict[str, Any] = {}
    istiod_values: dict[str, Any] = {}
    gateway_values: dict[str, Any] = {}

    @model_validator(mode="after")
    def _gateway_bounds(self) -> Self:
        if self.gateway_min_replicas > self.gateway_max_replicas:
            raise ValueError(
                f"gateway_min_replicas ({self.gateway_min_replicas}) must not exceed "
                f"gateway_max_replicas ({self.gateway_max_replicas})"
            )
        return self

    def chart(self, name: str) -> ChartRef:
        return ChartRef(chart=name, version=self.version, repo=ISTIO_REPO)


def base_values(args: IstioArgs) -> Values:
    """istio/base: CRDs and the validation webhook pointing at istiod's namespace."""
    return merged_values({"global": {"istioNamespace": args.namespace}}, args.base_values)


def istiod_values(args: IstioArgs) -> Values:
    """istio/istiod: HA control plane, Prometheus merge and trace sampling.

    Since Istio 1.23 (istio/istio#52036) the chart's values are top-level; the old `pilot.` prefix
    is only a compatibility alias and no longer appears in the chart's values.yaml.
    """
    defaults: Values = {
        "autoscaleEnabled": args.istiod_replicas > 1,
        "autoscaleMin": args.istiod_replicas,
        "autoscaleMax": max(args.istiod_replicas, 5),
        "replicaCount": args.istiod_replicas,
        "traceSampling": args.trace_sampling_percent,
        "global": {"istioNamespace": args.namespace},
        "meshConfig": {"enablePrometheusMerge": True, "enableTracing": args.trace_sampling_percent > 0},
    }
    return merged_values(defaults, args.istiod_values)


def gateway_values(args: IstioArgs) -> Values:
    """istio/gateway: the ingress gateway, autoscaled, labelled for net-istio."""
    defaults: Values = {
        "labels": dict(GATEWAY_SELECTOR),
        "service": {"type": args.gateway_service_type.value},
        "autoscaling": {
            "enabled": args.gateway_max_replicas > args.gateway_min_replicas,
            "minReplicas": args.gateway_min_replicas,
            "maxReplicas": args.gateway_max_replicas,
            "targetCPUUtilizationPercentage": 80,
        },
        "replicaCount": args.gateway_min_replicas,
        "podDisruptionBudget": {"minAvailable": 1} if args.gateway_min_replicas > 1 else {},
    }
    return merged_values(defaults, args.gateway_values)


class Istio(pulumi.ComponentResource):
    """istio-system namespace, then base, istiod and the ingress gateway, each waiting on the last."""

    def __init__(self, name: str, args: IstioArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("isf:serving:Istio", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.namespace = register_manifest(f"{name}-namespace", namespace_manifest(args.namespace), child)
        after_namespace = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        self.base = helm_chart(
            f"{name}-base", args.chart("base"), release="istio-base", namespace=args.namespace,
            values=base_values(args), opts=after_namespace,
        )
        self.istiod = helm_chart(
            f"{name}-istiod", args.chart("istiod"), release="istiod", namespace=args.namespace,
            values=istiod_values(args), opts=pulumi.ResourceOptions(parent=self, depends_on=[self.base]),
        )
        self.gateway = helm_chart(
            f"{name}-gateway", args.chart("gateway"), release=GATEWAY_RELEASE, namespace=args.namespace,
            values=gateway_values(args), opts=pulumi.ResourceOptions(parent=self, depends_on=[self.istiod]),
        )
        self.namespace_name = args.namespace
        self.register_outputs({"namespace": args.namespace, "version": args.version, "gateway": GATEWAY_RELEASE})
