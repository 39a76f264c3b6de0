"""Jaeger v2 (an OpenTelemetry-collector build) in all-in-one mode, run through the workload builders."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from components.workloads.spec import Exposure, Metrics, Port, Probe, Probes, Resources, WorkloadSpec
from runtime.contract import Tier

JAEGER_IMAGE = "jaegertracing/jaeger:2.6.0"
JAEGER_NAME = "jaeger"
QUERY_PORT = 16686
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318


class TracingArgs(BaseModel):
    """The trace backend: image, tier and size (in-memory storage; traces are short-lived diagnostics)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    image: str = JAEGER_IMAGE
    tier: Tier = Tier.CLOUD
    resources: Resources = Resources(cpu_request="100m", memory_request="512Mi", cpu_limit="1", memory_limit="2Gi")
    replicas: Annotated[int, Field(ge=1, le=1, description="memory storage cannot be shared")] = 1


def jaeger_spec(args: TracingArgs) -> WorkloadSpec:
    """Jaeger v2: OTLP in from any namespace, query UI for Grafana, its own telemetry scraped."""
    return WorkloadSpec(
        name=JAEGER_NAME,
        image=args.image,
        ports=[
            Port(name="otlp-grpc", container_port=OTLP_GRPC_PORT),
            Port(name="otlp-http", container_port=OTLP_HTTP_PORT),
            Port(name="query", container_port=QUERY_PORT),
            Port(name="health", container_port=13133),
            Port(name="metrics", container_port=8888),
        ],
        resources=args.resources,
        replicas=args.replicas,
        tier=args.tier,
        probes=Probes(liveness=Probe(path="/status", port="health"), readiness=Probe(path="/status", port="health")),
        expose=Exposure.CLUSTER,
        metrics=Metrics(port="metrics"),
        run_as_user=10001,
    )


def jaeger_query_url(namespace: str) -> str:
    """In-cluster URL of the Jaeger query API (Grafana's Jaeger datasource)."""
    return f"http://{JAEGER_NAME}.{namespace}.svc:{QUERY_PORT}"


def otlp_endpoint(namespace: str) -> str:
    """OTLP/gRPC endpoint services export traces to (OTEL_EXPORTER_OTLP_ENDPOINT)."""
    return f"http://{JAEGER_NAME}.{namespace}.svc:{OTLP_GRPC_PORT}"
