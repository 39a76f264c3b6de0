"""The NVIDIA device plugin (Helm) that advertises `nvidia.com/gpu` on EKS GPU nodes.

The AL2023 NVIDIA AMI ships the driver and container toolkit but not the device plugin; GKE installs
both itself (see `gke.py`), so only EKS uses this chart. Values keys are those of the pinned chart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.helm import ChartRef, merged_values
from runtime.contract.scheduling import GPU_LABEL, GPU_LABEL_VALUE, GPU_TAINT_KEY, TIER_LABEL

DEVICE_PLUGIN_CHART = ChartRef(
    chart="nvidia-device-plugin", version="0.20.0", repo="https://nvidia.github.io/k8s-device-plugin"
)
DEVICE_PLUGIN_NAMESPACE = "nvidia-device-plugin"


def device_plugin_values(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Curated values: run only on our labelled GPU nodes, tolerate their GPU and tier taints."""
    defaults: dict[str, Any] = {
        "nodeSelector": {GPU_LABEL: GPU_LABEL_VALUE},
        "tolerations": [
            {"key": "CriticalAddonsOnly", "operator": "Exists"},
            {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"},
            {"key": TIER_LABEL, "operator": "Exists", "effect": "NoSchedule"},
        ],
        "priorityClassName": "system-node-critical",
        "gfd": {"enabled": False},
    }
    return merged_values(defaults, overrides)
