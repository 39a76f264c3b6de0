"""prometheus-adapter 5.3.0 (prometheus-community): the custom metrics API (`custom.metrics.k8s.io`) from
Prometheus series, so an HPA can scale on a per-pod rate such as `inference_requests_per_second`.

Only the custom rules the systems declare: the chart's default rule set is off, and so is the resource
metrics API (metrics-server owns `metrics.k8s.io` on EKS and GKE).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import pulumi

from components.helm import ChartRef, Values, helm_chart

PROMETHEUS_ADAPTER_CHART = ChartRef("prometheus-adapter", "5.3.0", "https://prometheus-community.github.io/helm-charts")


def prometheus_adapter_values(prometheus_url: str, rules: Sequence[Mapping[str, Any]], replicas: int = 1) -> Values:
    parts = urlsplit(prometheus_url)
    return {
        "prometheus": {"url": f"{parts.scheme}://{parts.hostname}", "port": parts.port or 9090},
        "replicas": replicas,
        "rules": {"default": False, "custom": [dict(rule) for rule in rules]},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    }


def prometheus_adapter(
    name: str, namespace: str, prometheus_url: str, rules: Sequence[Mapping[str, Any]], opts: pulumi.ResourceOptions,
    *, replicas: int = 1,
) -> pulumi.Resource:
    """The adapter in the monitoring namespace, next to the Prometheus it queries."""
    return helm_chart(name, PROMETHEUS_ADAPTER_CHART, release="prometheus-adapter", namespace=namespace,
                      values=prometheus_adapter_values(prometheus_url, rules, replicas), opts=opts)
