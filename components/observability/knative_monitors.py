"""What Prometheus scrapes of Knative Serving 1.23: every queue-proxy, the activator and the autoscaler.

* Queue-proxy (a PodMonitor over every Revision pod, in every namespace): the container port
  `http-usermetric` (v1.UserQueueMetricsPortName, pkg/reconciler/revision/resources/queue.go at
  knative-v1.23.0), port 9091 (networking.UserQueueMetricsPort, pkg/networking/constants.go), where
  pkg/queue/sharedmain/otel.go binds the Prometheus exporter once `request-metrics-protocol: prometheus`.
  Revision pods carry `serving.knative.dev/revision` (makeLabels, pkg/reconciler/revision/resources/meta.go)
  and the Configuration's / Service's labels. The queue-proxy puts the revision on OTel resource
  attributes, which the exporter only writes to `target_info`; the relabelings copy the pod labels onto
  every series under the attribute names of pkg/metrics/key.go (runtime/contract/knative_series.py).
* Activator and autoscaler (a ServiceMonitor in `knative-serving`): Services `activator-service` and
  `autoscaler` label `app: activator` / `app: autoscaler` and name port 9090 `http-metrics`
  (config/core/deployments/activator.yaml, autoscaler.yaml), served once `metrics-protocol: prometheus`.
"""

from __future__ import annotations

import re
from typing import Any

from components.workloads.namespace import KNATIVE_SERVING_NAMESPACE
from runtime.contract import knative_series as kn
from runtime.contract.kubernetes import FUNCTION_LABEL

QUEUE_PROXY_MONITOR = "knative-queue-proxy"
CONTROL_PLANE_MONITOR = "knative-control-plane"
USER_METRICS_PORT = "http-usermetric"
CONTROL_PLANE_METRICS_PORT = "http-metrics"
REVISION_POD_LABEL = "serving.knative.dev/revision"
SCRAPE_INTERVAL = f"{kn.SCRAPE_INTERVAL_S}s"  # the collector samples ready pods at this resolution

# Pod label (as Prometheus service discovery names it: invalid characters become `_`) -> series label.
# `isf.io/function` is the function id (the template label components/workloads/function.py sets; Knative
# copies it to the Revision and its pods), which the collector names functions by.
_POD_LABELS = {
    "serving_knative_dev_service": kn.SERVICE_LABEL,
    "serving_knative_dev_configuration": kn.CONFIGURATION_LABEL,
    "serving_knative_dev_revision": kn.REVISION_LABEL,
    re.sub(r"[^a-zA-Z0-9_]", "_", FUNCTION_LABEL): kn.FUNCTION_ID_LABEL,
}


def _metadata(name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/part-of": "isf"}}


def queue_proxy_pod_monitor(namespace: str) -> dict[str, Any]:
    """Every Revision pod's queue-proxy user-metrics port, labelled with its function and revision."""
    relabelings: list[dict[str, Any]] = [
        {"action": "replace", "sourceLabels": ["__meta_kubernetes_namespace"], "targetLabel": kn.NAMESPACE_LABEL},
    ]
    relabelings += [
        {"action": "replace", "sourceLabels": [f"__meta_kubernetes_pod_label_{pod_label}"], "targetLabel": target}
        for pod_label, target in _POD_LABELS.items()
    ]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": _metadata(QUEUE_PROXY_MONITOR, namespace),
        "spec": {
            "namespaceSelector": {"any": True},
            "selector": {"matchExpressions": [{"key": REVISION_POD_LABEL, "operator": "Exists"}]},
            "podMetricsEndpoints": [
                {"port": USER_METRICS_PORT, "path": "/metrics", "interval": SCRAPE_INTERVAL, "relabelings": relabelings}
            ],
        },
    }


def control_plane_service_monitor(namespace: str, serving_namespace: str = KNATIVE_SERVING_NAMESPACE) -> dict[str, Any]:
    """The activator's and autoscaler's metrics Services in the Knative Serving namespace."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _metadata(CONTROL_PLANE_MONITOR, namespace),
        "spec": {
            "namespaceSelector": {"matchNames": [serving_namespace]},
            "selector": {"matchExpressions": [
                {"key": "app", "operator": "In", "values": [kn.Component.ACTIVATOR.value, kn.Component.AUTOSCALER.value]}
            ]},
            "endpoints": [{"port": CONTROL_PLANE_METRICS_PORT, "path": "/metrics", "interval": SCRAPE_INTERVAL}],
        },
    }


def knative_monitors(namespace: str) -> list[dict[str, Any]]:
    return [queue_proxy_pod_monitor(namespace), control_plane_service_monitor(namespace)]
