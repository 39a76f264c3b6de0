"""The Prometheus series Knative Serving 1.23 exports, and the other series dashboards and alerts may query.

Since 1.19 Knative instruments with OpenTelemetry; with `metrics-protocol` / `request-metrics-protocol`
set to `prometheus` (components/serving/knative.py) each component serves the OTel Prometheus exporter
that knative.dev/pkg builds in `observability/metrics/prometheus_enabled.go` (knative.dev/pkg
v0.0.0-20260727151759-521cb33b33dd, the version serving's go.mod pins at knative-v1.23.0) with
`otlptranslator.UnderscoreEscapingWithSuffixes`: dots become underscores, the unit is appended
(`s` -> `_seconds`, `{request}/s` -> `_per_second`, a `{...}` annotation alone adds nothing), a
counter gets `_total`, a histogram the `_bucket` / `_sum` / `_count` parts.

The queue-proxy attaches the revision as OTel *resource* attributes (`pkg/queue/sharedmain/otel.go`,
`res()`: `kn.service.name`, `kn.configuration.name`, `kn.revision.name`, `k8s.namespace.name`); the
exporter puts resource attributes on `target_info` only, not on each series. The queue-proxy PodMonitor
(components/observability/knative_monitors.py) therefore copies the Revision pod's labels
(`serving.knative.dev/configuration`, ...) onto every scraped series under the same names the
autoscaler and activator use as metric attributes (`pkg/metrics/key.go`), so one grouping
`by (k8s_namespace_name, kn_configuration_name)` sums any of these series per function across revisions.

Every name below cites the file that registers it at `knative-v1.23.0`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SERVING_VERSION = "1.23.0"

# Label names on every per-revision series (pkg/metrics/key.go); the queue-proxy PodMonitor writes them.
NAMESPACE_LABEL = "k8s_namespace_name"
SERVICE_LABEL = "kn_service_name"
CONFIGURATION_LABEL = "kn_configuration_name"
REVISION_LABEL = "kn_revision_name"
FUNCTION_LABELS: tuple[str, str] = (NAMESPACE_LABEL, CONFIGURATION_LABEL)
FUNCTION_ID_LABEL = "isf_function"
"""On queue-proxy series only: the Revision pod's `isf.io/function` label (runtime/contract/kubernetes.py
FUNCTION_LABEL, the function id warming and placement use), copied by the PodMonitor; the collector
names functions by it. Not `function`: Beyla's series are told from the queue-proxy's same-named
`http_server_request_duration_seconds` by carrying `function` (BEYLA_FUNCTION_LABEL below)."""

SCRAPE_INTERVAL_S = 30
"""How often Prometheus scrapes the queue-proxies, activator and autoscaler
(components/observability/knative_monitors.py); the collector samples ready pods at this resolution."""


class Component(StrEnum):
    QUEUE_PROXY = "queue-proxy"
    ACTIVATOR = "activator"
    AUTOSCALER = "autoscaler"
    KUBE_STATE_METRICS = "kube-state-metrics"
    CADVISOR = "cadvisor"
    PROMETHEUS = "prometheus"
    BEYLA = "beyla"


@dataclass(frozen=True)
class Series:
    """One exported metric: its Prometheus name, the OTel instrument name, kind, unit and where it is defined."""

    name: str
    component: Component
    kind: str  # counter | gauge | histogram
    unit: str
    source: str
    otel_name: str = ""

    def series(self) -> set[str]:
        if self.kind == "histogram":
            return {f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count"}
        return {self.name}


def _kn(otel_name: str, name: str, component: Component, kind: str, unit: str, source: str) -> Series:
    return Series(name, component, kind, unit, f"knative/serving@knative-v1.23.0:{source}", otel_name)


_QP, _ACT, _AS = Component.QUEUE_PROXY, Component.ACTIVATOR, Component.AUTOSCALER

# queue-proxy, port `http-usermetric` (9091): pkg/reconciler/revision/resources/queue.go names the port
# (v1.UserQueueMetricsPortName), pkg/networking/constants.go numbers it (UserQueueMetricsPort), and
# pkg/queue/sharedmain/otel.go binds the Prometheus exporter there when request-metrics-protocol is prometheus.
INVOCATION_DURATION = _kn(
    "kn.serving.invocation.duration", "kn_serving_invocation_duration_seconds", _QP, "histogram", "s",
    "pkg/queue/request_metric.go (NewAppRequestMetricsHandler; probes are not recorded)",
)
QUEUE_DEPTH = _kn(
    "kn.serving.queue.depth", "kn_serving_queue_depth", _QP, "gauge", "{request}", "pkg/queue/request_metric.go"
)
HTTP_SERVER_DURATION = _kn(
    "http.server.request.duration", "http_server_request_duration_seconds", _QP, "histogram", "s",
    "pkg/queue/sharedmain/handlers.go (otelhttp.NewHandler, otelhttp v0.69.0)",
)
# activator, Service activator-service port http-metrics (9090): config/core/deployments/activator.yaml.
ACTIVATOR_REQUEST_CONCURRENCY = _kn(
    "kn.revision.request.concurrency", "kn_revision_request_concurrency", _ACT, "gauge", "{request}",
    "pkg/activator/handler/metrics.go",
)
ACTIVATOR_REQUEST_QUEUED = _kn(
    "kn.revision.request.queued", "kn_revision_request_queued", _ACT, "gauge", "{request}",
    "pkg/activator/handler/metrics.go (Int64UpDownCounter: a gauge in Prometheus)",
)
ACTIVATOR_REQUEST_ACTIVE = _kn(
    "kn.revision.request.active", "kn_revision_request_active", _ACT, "gauge", "{request}",
    "pkg/activator/handler/metrics.go (Int64UpDownCounter: a gauge in Prometheus)",
)
ACTIVATOR_CONN_REACHABLE = _kn(
    "kn.activator.stats.conn.reachable", "kn_activator_stats_conn_reachable", _ACT, "gauge", "{reachable}",
    "pkg/activator/metrics.go",
)
ACTIVATOR_CONN_ERRORS = _kn(
    "kn.activator.stats.conn.errors", "kn_activator_stats_conn_errors_total", _ACT, "counter", "{error}",
    "pkg/activator/metrics.go",
)
# autoscaler, Service autoscaler port http-metrics (9090): config/core/deployments/autoscaler.yaml; the KPA
# reconciler (pkg/reconciler/autoscaling/kpa) runs in the autoscaler binary.
PODS_DESIRED = _kn("kn.revision.pods.desired", "kn_revision_pods_desired", _AS, "gauge", "{item}",
                   "pkg/autoscaler/scaling/metrics.go")
CAPACITY_EXCESS = _kn("kn.revision.capacity.excess", "kn_revision_capacity_excess", _AS, "gauge", "{concurrency}",
                      "pkg/autoscaler/scaling/metrics.go")
PANIC_MODE = _kn("kn.revision.panic.mode", "kn_revision_panic_mode", _AS, "gauge", "",
                 "pkg/autoscaler/scaling/metrics.go")
RPS_STABLE = _kn("kn.revision.rps.stable", "kn_revision_rps_stable_per_second", _AS, "gauge", "{request}/s",
                 "pkg/autoscaler/scaling/metrics.go (rps metric)")
RPS_PANIC = _kn("kn.revision.rps.panic", "kn_revision_rps_panic_per_second", _AS, "gauge", "{request}/s",
                "pkg/autoscaler/scaling/metrics.go (rps metric)")
RPS_TARGET = _kn("kn.revision.rps.target", "kn_revision_rps_target_per_second", _AS, "gauge", "{request}/s",
                 "pkg/autoscaler/scaling/metrics.go (rps metric)")
CONCURRENCY_STABLE = _kn("kn.revision.concurrency.stable", "kn_revision_concurrency_stable", _AS, "gauge",
                         "{concurrency}", "pkg/autoscaler/scaling/metrics.go (concurrency metric)")
CONCURRENCY_PANIC = _kn("kn.revision.concurrency.panic", "kn_revision_concurrency_panic", _AS, "gauge",
                        "{concurrency}", "pkg/autoscaler/scaling/metrics.go (concurrency metric)")
CONCURRENCY_TARGET = _kn("kn.revision.concurrency.target", "kn_revision_concurrency_target", _AS, "gauge",
                         "{concurrency}", "pkg/autoscaler/scaling/metrics.go (concurrency metric)")
PODS_REQUESTED = _kn("kn.revision.pods.requested", "kn_revision_pods_requested", _AS, "gauge", "{pod}",
                     "pkg/reconciler/autoscaling/kpa/metrics.go")
# kn.revision.pods.count is the KPA's *ready* pod count (kpaMetrics.callback observes podCounts.ready, which
# kpa.go's reconcile takes from PodCountsByState), labelled namespace / service / configuration / revision
# (kpa.go reportMetrics): the cold-start measurement's "no ready pod" (runtime/ingest/prometheus_collector.py).
PODS_COUNT = _kn("kn.revision.pods.count", "kn_revision_pods_count", _AS, "gauge", "{pod}",
                 "pkg/reconciler/autoscaling/kpa/metrics.go (podCounts.ready; attributes in kpa.go reportMetrics)")
PODS_NOT_READY = _kn("kn.revision.pods.not_ready.count", "kn_revision_pods_not_ready_count", _AS, "gauge", "{pod}",
                     "pkg/reconciler/autoscaling/kpa/metrics.go")
PODS_PENDING = _kn("kn.revision.pods.pending.count", "kn_revision_pods_pending_count", _AS, "gauge", "{pod}",
                   "pkg/reconciler/autoscaling/kpa/metrics.go")
PODS_TERMINATING = _kn("kn.revision.pods.terminating.count", "kn_revision_pods_terminating_count", _AS, "gauge",
                       "{pod}", "pkg/reconciler/autoscaling/kpa/metrics.go")
SCRAPE_DURATION = _kn("kn.autoscaler.scrape.duration", "kn_autoscaler_scrape_duration_seconds", _AS, "histogram",
                      "s", "pkg/autoscaler/metrics/stats_scraper.go")
TARGET_INFO = Series(
    "target_info", _QP, "gauge", "",
    "go.opentelemetry.io/otel/exporters/prometheus v0.66.0: resource attributes of every OTel exporter",
)

KNATIVE_SERIES: tuple[Series, ...] = tuple(
    v for k, v in list(globals().items()) if isinstance(v, Series) and not k.startswith("_")
)

# Series of the kube-prometheus-stack 88.5.3 exporters and of Prometheus itself that our queries use.
UP = Series("up", Component.PROMETHEUS, "gauge", "", "Prometheus: one per scrape target, with the target's labels "
            "(prometheus/docs docs/concepts/jobs_instances.md)")

KUBERNETES_SERIES: tuple[Series, ...] = (
    Series("container_cpu_usage_seconds_total", Component.CADVISOR, "counter", "s",
           "cAdvisor via the kubelet ServiceMonitor (kube-prometheus-stack kubelet.serviceMonitor.cAdvisor)"),
    Series("container_memory_working_set_bytes", Component.CADVISOR, "gauge", "By",
           "cAdvisor via the kubelet ServiceMonitor (kube-prometheus-stack kubelet.serviceMonitor.cAdvisor)"),
    Series("kube_pod_container_status_restarts_total", Component.KUBE_STATE_METRICS, "counter", "",
           "kube-state-metrics docs/metrics/workload/pod-metrics.md"),
    UP,
    Series("ALERTS", Component.PROMETHEUS, "gauge", "", "Prometheus: one per pending or firing alert"),
)


# Grafana Beyla (eBPF, chart beyla-1.16.11 = app v3.32.0; components/observability/ebpf.py) on the functions' user
# containers. Its Prometheus exporter names the OTel semantic-convention histogram like the queue-proxy's
# `http_server_request_duration_seconds` above; Beyla's series alone carry the function and tier labels below,
# which select them. Sources at grafana/beyla@v3.32.0, OBI vendored under vendor/go.opentelemetry.io/obi/.
BEYLA_VERSION = "3.32.0"
# OTel resource attributes Beyla fills from the first pod label present (`attributes.kubernetes.resource_labels`,
# pkg/kube/store.go cacheResourceMetadata) and adds to every application metric (`attributes.extra_group_attributes`
# `k8s_app_meta`, pkg/export/attributes/attr_selector.go); the Prometheus label is the name with `.` -> `_`
# (pkg/export/attributes/names/attrs.go, Name.Prom): `function` and `tier`, as on the runtime's own series.
BEYLA_FUNCTION_ATTRIBUTE = "function"
BEYLA_TIER_ATTRIBUTE = "tier"
BEYLA_FUNCTION_LABEL = BEYLA_FUNCTION_ATTRIBUTE.replace(".", "_")
BEYLA_TIER_LABEL = BEYLA_TIER_ATTRIBUTE.replace(".", "_")
BEYLA_STATUS_LABEL = "http_response_status_code"  # attr.HTTPResponseStatusCode (semconv), on by default
_BEYLA = "grafana/beyla@v3.32.0:vendor/go.opentelemetry.io/obi/pkg/export/prom/prom.go"
BEYLA_HTTP_SERVER_DURATION = Series(
    "http_server_request_duration_seconds", Component.BEYLA, "histogram", "s",
    f"{_BEYLA} (httpDuration, attributes.HTTPServerDuration; docs/sources/metrics.md)", "http.server.request.duration",
)
BEYLA_SERIES: tuple[Series, ...] = (BEYLA_HTTP_SERVER_DURATION,)


def knative_series_names() -> set[str]:
    return set().union(*(s.series() for s in KNATIVE_SERIES))


def external_series_names() -> set[str]:
    """Every series not exported by our own services (Knative, Kubernetes exporters, Prometheus, Beyla)."""
    return knative_series_names() | set().union(*(s.series() for s in (*KUBERNETES_SERIES, *BEYLA_SERIES)))


def per_function(expr: str) -> str:
    """`expr` summed per function (namespace and configuration) across its revisions."""
    return f"sum by ({', '.join(FUNCTION_LABELS)}) ({expr})"
