"""The eBPF monitor (the guide's "eBPF Monitoring"): Grafana Beyla, per-function request latency without code changes.

Beyla rather than Inspektor Gadget: Beyla's Prometheus exporter gives what the dashboard needs directly (an HTTP
server-duration histogram per instrumented process, decorated with Kubernetes metadata and chosen pod labels),
while Inspektor Gadget exports gadget events that would need our own aggregation into latency percentiles.

Chart beyla-1.16.11 (appVersion 3.32.0, tests/data/upstream/charts/beyla/), read at grafana/beyla@beyla-1.16.11:

* `templates/daemon-set.yaml`: one DaemonSet; `preset: application` sets `hostPID: true` (Beyla must see the
  functions' processes); `privileged: false` swaps the privileged container for `runAsUser: 0`,
  `readOnlyRootFilesystem: true`, capabilities `drop: [ALL]` + `add: [BPF, SYS_PTRACE, NET_RAW,
  CHECKPOINT_RESTORE, DAC_READ_SEARCH, PERFMON, SYS_ADMIN]` — the "Application observability" set of Beyla's
  docs/sources/security.md at v3.32.0 (SYS_ADMIN: uprobes, and perf_event_open on EKS/AKS kernels whose
  perf_event_paranoid > 1). `contextPropagation.enabled: false` keeps out what only trace-context propagation
  needs: `hostNetwork`, `NET_ADMIN` and the hostPath mounts of /sys/fs/cgroup and /sys/kernel/tracing.
* `templates/configmap.yaml`: `config.data` is Beyla's configuration file verbatim; with a `discovery` section of
  our own the preset's `instrument: [{k8s_namespace: "*"}]` (every process of every pod) is not added.
* The container port for `prometheus_export.port` is named `service.portName` (`metrics`), which the PodMonitor
  scrapes. The chart's own ServiceMonitor needs its Service and reads `serviceMonitor.endpoint` where values.yaml
  documents `serviceMonitor.metrics.endpoint`, so our PodMonitor (CRD-validated) replaces both.

What Beyla instruments (docs/sources/configure/service-discovery.md; criteria in vendor/go.opentelemetry.io/obi/
pkg/appolly/services/criteria.go and attr_glob.go): pods of Knative Services (`serving.knative.dev/service` is on
every Revision pod, knative/serving pkg/reconciler/revision/resources/meta.go) in the function namespaces, user
container only. Knative's `queue-proxy` (pkg/reconciler/revision/resources/constants.go, QueueContainerName) already
exports its own request histogram (runtime/contract/knative_series.py), and the injected `istio-proxy` sees the same
requests again, so both are excluded: one request is counted once, at the function's own process, so the latency is
the function's and excludes the queue-proxy's queueing.

Labels: `function` from the pod label `isf.io/function` (else the Knative Service's name) and `tier` from
`isf.io/tier` (components/workloads/function.py puts both on the template): the declared tier, which a placement
move rewrites with the nodeSelector (runtime/actuation/patches.py), so `tier` names where the pods run.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from components.helm import ChartRef, Values, merged_values
from components.workloads.namespace import PART_OF_LABEL, platform_labels, pod_security_labels
from components.workloads.spec import DnsLabel, Resources
from runtime.contract import knative_series as kn
from runtime.contract.kubernetes import (
    FUNCTION_LABEL,
    FUNCTIONS_NAMESPACE,
    KNATIVE_GROUP,
    WORKLOAD_TIER_LABEL,
)
from runtime.contract.scheduling import GPU_TAINT, Tier, tier_taint
from runtime.contract.security import (
    POD_SECURITY_ENFORCE_LABEL,
    POD_SECURITY_PRIVILEGED,
    SECURITY_EXCEPTION_ANNOTATION,
)

BEYLA_CHART = ChartRef(chart="beyla", version="1.16.11", repo="https://grafana.github.io/helm-charts")
BEYLA_RELEASE = "beyla"  # the chart's fullname is the release when it contains the chart name (templates/_helpers.tpl)
EBPF_NAMESPACE = "ebpf-monitor"
# The guide's `kubectl logs -l app=ebpf-monitor`: a pod label (chart `podLabels`, also in the selector labels).
APP_LABEL = {"app": "ebpf-monitor"}
METRICS_PORT = 9090  # Beyla's prometheus_export.port (chart default)
METRICS_PORT_NAME = "metrics"  # the chart's service.portName, which names the container port
POD_MONITOR = "ebpf-monitor"
SCRAPE_INTERVAL = "30s"
KNATIVE_SERVICE_POD_LABEL = f"{KNATIVE_GROUP}/service"
QUEUE_PROXY_CONTAINER = kn.Component.QUEUE_PROXY.value  # also the container's name (QueueContainerName)
ISTIO_PROXY_CONTAINER = "istio-proxy"
# Pod Security Admission: Beyla needs hostPID and capabilities beyond `baseline`, so its namespace is `privileged`,
# with the reason on the namespace (the policy pack's k8s-privileged-namespaces-say-why) and in docs/security.md.
SECURITY_EXCEPTION = (
    "Grafana Beyla (eBPF) needs hostPID and the capabilities BPF, PERFMON, SYS_PTRACE, NET_RAW, CHECKPOINT_RESTORE, "
    "DAC_READ_SEARCH, SYS_ADMIN (runs as root, read-only root filesystem, everything else dropped); docs/security.md"
)


class EbpfMonitorArgs(BaseModel):
    """Grafana Beyla as a DaemonSet: per-function request latency and rate from eBPF, with its dashboard."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        default=False, description="both stack files turn it on; nodes need Linux >= 5.8 with BTF (RHEL 8: 4.18)"
    )
    namespace: DnsLabel = Field(default=EBPF_NAMESPACE, description="Pod Security `privileged` (hostPID, eBPF capabilities)")
    function_namespaces: list[DnsLabel] = Field(
        default=[FUNCTIONS_NAMESPACE], min_length=1, description="set by the platform from functions_namespace"
    )
    resources: Resources = Resources(cpu_request="100m", memory_request="256Mi", cpu_limit="1", memory_limit="1Gi")
    values: dict[str, Any] = Field(default={}, description="raw beyla chart values merged last")


def _glob(names: list[str]) -> str:
    return names[0] if len(names) == 1 else "{" + ",".join(names) + "}"


def beyla_config(args: EbpfMonitorArgs) -> dict[str, Any]:
    """Beyla's configuration file (chart `config.data`): what to instrument and the labels its metrics carry."""
    return {
        "discovery": {
            "instrument": [{
                "k8s_namespace": _glob(args.function_namespaces),
                "k8s_pod_labels": {KNATIVE_SERVICE_POD_LABEL: "*"},
            }],
            # Added to Beyla's default exclusions (its own binary, collectors, system namespaces).
            "exclude_instrument": [{"k8s_container_name": _glob([QUEUE_PROXY_CONTAINER, ISTIO_PROXY_CONTAINER])}],
            # A function that exports its own OTel telemetry is still measured: our series are told apart by label.
            "exclude_otel_instrumented_services": False,
        },
        "attributes": {
            "kubernetes": {
                "enable": "true",  # a string enum (autodetect|false|true) in Beyla's schema
                # OTel resource attribute <- the first pod label present (pkg/kube/store.go, cacheResourceMetadata).
                # A Knative Service not deployed by isf still gets its Service name as the function.
                "resource_labels": {
                    kn.BEYLA_FUNCTION_ATTRIBUTE: [FUNCTION_LABEL, KNATIVE_SERVICE_POD_LABEL],
                    kn.BEYLA_TIER_ATTRIBUTE: [WORKLOAD_TIER_LABEL],
                },
            },
            # ... copied onto every application metric (the `k8s_app_meta` group, attr_selector.go).
            "extra_group_attributes": {"k8s_app_meta": [kn.BEYLA_FUNCTION_ATTRIBUTE, kn.BEYLA_TIER_ATTRIBUTE]},
            # Per-pod identity would make new series at every pod start (Knative scales pods to and from zero):
            # the pod's name, uid and start time, its ReplicaSet, and `instance` (namespace.pod.container,
            # pkg/transform/k8s.go); Prometheus tells the Beyla pods apart by its own target labels.
            "select": {"http_server_request_duration": {"exclude": ["k8s.pod.*", "k8s.replicaset.name", "instance"]}},
        },
        "prometheus_export": {"port": METRICS_PORT, "path": "/metrics"},
    }


def _tolerations() -> list[dict[str, str]]:
    # Functions run on every tier's pool (dedicated pools are tainted) and, with GPUs, on the GPU pool.
    return [*(tier_taint(tier).toleration() for tier in Tier), GPU_TAINT.toleration()]


def beyla_values(args: EbpfMonitorArgs) -> Values:
    """Chart values: the application preset with the least privileges Beyla's docs list, on every function node."""
    resources = args.resources
    defaults: Values = {
        "preset": "application",
        "privileged": False,
        "contextPropagation": {"enabled": False},
        "podLabels": dict(APP_LABEL),
        "resources": {
            "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
            "limits": {"cpu": resources.cpu_limit, "memory": resources.memory_limit},
        },
        "tolerations": _tolerations(),
        # Helm merges these over the chart's config.data: its `attributes.kubernetes.enable` is replaced, its
        # `filter.network` (for network metrics, which are off) stays and does nothing.
        "config": {"create": True, "data": beyla_config(args)},
        "service": {"enabled": False, "portName": METRICS_PORT_NAME},
        "serviceMonitor": {"enabled": False},
    }
    return merged_values(defaults, args.values)


def ebpf_namespace(args: EbpfMonitorArgs) -> dict[str, Any]:
    """The monitor's own namespace: Pod Security `privileged` with its reason, `restricted` still warned and audited
    (as for the DCGM exporter's), no Istio injection."""
    labels = {**platform_labels(), **pod_security_labels(enforce=False),
              POD_SECURITY_ENFORCE_LABEL: POD_SECURITY_PRIVILEGED}
    metadata = {"name": args.namespace, "labels": labels, "annotations": {SECURITY_EXCEPTION_ANNOTATION: SECURITY_EXCEPTION}}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def ebpf_pod_monitor(monitoring_namespace: str, args: EbpfMonitorArgs) -> dict[str, Any]:
    """A `monitoring.coreos.com/v1` PodMonitor on every Beyla pod's metrics port."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": POD_MONITOR, "namespace": monitoring_namespace, "labels": {PART_OF_LABEL: "isf"}},
        "spec": {
            "namespaceSelector": {"matchNames": [args.namespace]},
            "selector": {"matchLabels": {"app.kubernetes.io/name": "beyla", "app.kubernetes.io/instance": BEYLA_RELEASE}},
            "podMetricsEndpoints": [{"port": METRICS_PORT_NAME, "path": "/metrics", "interval": SCRAPE_INTERVAL}],
        },
    }
