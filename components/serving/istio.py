"""Istio from its three Helm charts: base (CRDs), istiod, and the ingress gateway Knative routes through.

Values are checked against istio/istio `manifests/charts/{base,istio-control/istio-discovery,gateway}/values.yaml`
at 1.30.3 (tests/data/upstream/charts/); tracing goes through the Telemetry API (telemetry.istio.io/v1) to an
OpenTelemetry `extensionProviders` entry of meshConfig.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Self

import pulumi
from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.helm import ChartRef, Values, helm_chart, merged_values, namespace_manifest
from components.workloads.registration import register_manifest

ISTIO_VERSION = "1.30.3"
ISTIO_REPO = "https://istio-release.storage.googleapis.com/charts"
# net-istio's knative-ingress-gateway selects pods labelled istio=ingressgateway.
GATEWAY_RELEASE = "istio-ingressgateway"
GATEWAY_SELECTOR = {"istio": "ingressgateway"}
TRACING_PROVIDER = "otel-tracing"
# pulumi-kubernetes (provider/pkg/await/await.go, v4.32.0) skips its readiness wait on an object carrying
# this annotation; a LoadBalancer Service otherwise waits for an ingress address that a cluster without a
# load-balancer controller never assigns.
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}


class ServiceType(StrEnum):
    LOAD_BALANCER = "LoadBalancer"
    NODE_PORT = "NodePort"
    CLUSTER_IP = "ClusterIP"


class TracingBackend(BaseModel):
    """Where the mesh sends spans: an OTLP/gRPC Service (`<name>.<namespace>.svc.cluster.local`) and port."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str
    port: Annotated[int, Field(ge=1, le=65535)] = 4317


class IstioArgs(BaseModel):
    """Istio install knobs; `*_values` are raw chart values merged over the curated ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = ISTIO_VERSION
    namespace: str = "istio-system"
    istiod_replicas: Annotated[int, Field(ge=1, le=10)] = 1
    gateway_min_replicas: Annotated[int, Field(ge=1)] = 1
    gateway_max_replicas: Annotated[int, Field(ge=1)] = 5
    gateway_service_type: ServiceType = Field(
        default=ServiceType.LOAD_BALANCER,
        description="type of the ingress gateway Service; on cloud=existing the default is NodePort",
    )
    await_gateway_address: bool = Field(
        default=True,
        description="wait for a LoadBalancer gateway's address (off on cloud=existing: no controller may assign one)",
    )
    tracing: TracingBackend | None = Field(default=None, description="set by the platform from monitoring.tracing")
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
        "meshConfig": {"enablePrometheusMerge": True},
    }
    if args.tracing is not None:
        # Spans go to the provider the mesh-wide Telemetry selects (MeshConfig.ExtensionProvider.opentelemetry).
        defaults["meshConfig"]["extensionProviders"] = [
            {"name": TRACING_PROVIDER, "opentelemetry": {"service": args.tracing.service, "port": args.tracing.port}}
        ]
    return merged_values(defaults, args.istiod_values)


def mesh_telemetry(args: IstioArgs) -> dict[str, Any] | None:
    """The mesh-wide `telemetry.istio.io/v1` Telemetry (root namespace, name `mesh-default`) sending spans to
    the OpenTelemetry provider at `trace_sampling_percent`; None without a tracing backend."""
    if args.tracing is None:
        return None
    return {
        "apiVersion": "telemetry.istio.io/v1",
        "kind": "Telemetry",
        "metadata": {"name": "mesh-default", "namespace": args.namespace},
        "spec": {
            "tracing": [
                {"providers": [{"name": TRACING_PROVIDER}], "randomSamplingPercentage": args.trace_sampling_percent}
            ]
        },
    }


def _service_annotations(args: IstioArgs) -> Values:
    waits_forever = args.gateway_service_type is ServiceType.LOAD_BALANCER and not args.await_gateway_address
    return {"annotations": dict(SKIP_AWAIT)} if waits_forever else {}


def gateway_values(args: IstioArgs) -> Values:
    """istio/gateway: the ingress gateway, autoscaled, labelled for net-istio."""
    defaults: Values = {
        "labels": dict(GATEWAY_SELECTOR),
        "service": {"type": args.gateway_service_type.value, **_service_annotations(args)},
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
        telemetry = mesh_telemetry(args)
        if telemetry is not None:
            # The Telemetry CRD comes with istio/base; istiod's validating webhook must be serving to admit it.
            self.telemetry = register_manifest(
                f"{name}-telemetry", telemetry, pulumi.ResourceOptions(parent=self, depends_on=[self.base, self.istiod])
            )
        self.namespace_name = args.namespace
        self.register_outputs({"namespace": args.namespace, "version": args.version, "gateway": GATEWAY_RELEASE})
