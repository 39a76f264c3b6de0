"""Jaeger v2 (an OpenTelemetry-collector build) in all-in-one mode from the jaegertracing/helm-charts chart.

The chart at jaeger-4.11.1 (appVersion 2.19.0; tests/data/upstream/charts/jaeger/) runs one Deployment whose
default config keeps traces in memory, behind one Service named after the release (`isf-jaeger`) with the OTLP
(4317 gRPC, 4318 HTTP), query (16686) and internal-metrics (8888) ports
(charts/jaeger/templates/jaeger/jaeger-{deploy,service}.yaml). We add the hardening the chart leaves empty
(container securityContext, resources, tier placement) and a ServiceMonitor on its metrics port.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from components.helm import ChartRef, Values, merged_values
from components.workloads.spec import Resources
from runtime.contract import Tier
from runtime.contract.scheduling import placement

JAEGER_CHART = ChartRef(chart="jaeger", version="4.11.1", repo="https://jaegertracing.github.io/helm-charts")
# The release, and so the Deployment/Service name (the chart's fullname is the release when it contains the
# chart name). Not plain "jaeger": that is what the earlier raw workload created, and Pulumi creates the new
# objects before deleting the old ones, so equal names would collide on upgrade.
JAEGER_NAME = "isf-jaeger"
QUERY_PORT = 16686
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
METRICS_PORT_NAME = "internal-metrics"
JAEGER_USER = 10001  # the image's user (chart default podSecurityContext)


class TracingArgs(BaseModel):
    """The trace backend: tier and size (in-memory storage; traces are short-lived diagnostics)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    tier: Tier = Tier.CLOUD
    resources: Resources = Resources(cpu_request="100m", memory_request="512Mi", cpu_limit="1", memory_limit="2Gi")
    replicas: Annotated[int, Field(ge=1, le=1, description="memory storage cannot be shared")] = 1
    values: dict[str, Any] = Field(default={}, description="raw jaeger chart values merged last")


def jaeger_values(args: TracingArgs) -> Values:
    """Chart values: the hardened all-in-one pod, pinned to its tier."""
    scheduling = placement(args.tier)
    resources = args.resources
    defaults: Values = {
        "jaeger": {
            "replicas": args.replicas,
            # Read by templates/jaeger/jaeger-deploy.yaml (`with .Values.jaeger.resources`); values.yaml only
            # shows it commented out.
            "resources": {
                "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
                "limits": {"cpu": resources.cpu_limit, "memory": resources.memory_limit},
            },
            "podSecurityContext": {
                "runAsUser": JAEGER_USER, "runAsGroup": JAEGER_USER, "fsGroup": JAEGER_USER,
                "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
            },
            "securityContext": {
                "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
            },
            "nodeSelector": dict(scheduling.node_selector),
            "tolerations": list(scheduling.tolerations),
        }
    }
    return merged_values(defaults, args.values)


def jaeger_service_monitor(namespace: str) -> dict[str, Any]:
    """A `monitoring.coreos.com/v1` ServiceMonitor on the chart Service's internal-metrics port."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": JAEGER_NAME, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": "isf"}},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "jaeger", "app.kubernetes.io/instance": JAEGER_NAME}},
            "endpoints": [{"port": METRICS_PORT_NAME, "interval": "30s"}],
        },
    }


def jaeger_query_url(namespace: str) -> str:
    """In-cluster URL of the Jaeger query API (Grafana's Jaeger datasource)."""
    return f"http://{JAEGER_NAME}.{namespace}.svc:{QUERY_PORT}"


def otlp_service(namespace: str) -> str:
    """The FQDN of the Service receiving OTLP (Istio's extensionProviders need a full host name)."""
    return f"{JAEGER_NAME}.{namespace}.svc.cluster.local"


def otlp_endpoint(namespace: str) -> str:
    """OTLP/gRPC endpoint services export traces to (OTEL_EXPORTER_OTLP_ENDPOINT)."""
    return f"http://{JAEGER_NAME}.{namespace}.svc:{OTLP_GRPC_PORT}"
