"""The Vertical Pod Autoscaler 1.7.1 (kubernetes/autoscaler chart vertical-pod-autoscaler 0.11.0): CRDs and the
recommender.

The systems run their VPAs with `updateMode: Off` (recommendations only, next to an HPA on CPU and memory), so
the updater and the admission controller, which evict pods and rewrite requests, stay off; turn them on with
`values` for a workload that has no HPA on those resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from components.helm import ChartRef, Values, helm_chart, merged_values

VPA_CHART = ChartRef("vertical-pod-autoscaler", "0.11.0", "https://kubernetes.github.io/autoscaler")
VPA_NAMESPACE = "kube-system"


def vpa_values(overrides: Mapping[str, Any] | None = None) -> Values:
    resources = {"requests": {"cpu": "50m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "1Gi"}}
    return merged_values(
        {"recommender": {"enabled": True, "replicas": 1, "resources": resources},
         "updater": {"enabled": False},
         "admissionController": {"enabled": False}},
        overrides,
    )


def vertical_pod_autoscaler(name: str, opts: pulumi.ResourceOptions) -> pulumi.Resource:
    return helm_chart(name, VPA_CHART, release="vpa", namespace=VPA_NAMESPACE, values=vpa_values(), opts=opts)
