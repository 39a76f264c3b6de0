"""NVIDIA's DCGM exporter (chart dcgm-exporter 4.8.2, image 4.5.3-4.8.2): per-GPU utilisation and memory series
(`DCGM_FI_DEV_GPU_UTIL`, `DCGM_FI_DEV_FB_USED`, `DCGM_FI_DEV_FB_FREE`, …) on every node of the GPU pool,
labelled with the pod that holds the GPU, scraped through the chart's ServiceMonitor.
"""

from __future__ import annotations

import pulumi

from components.helm import ChartRef, Values, helm_chart
from runtime.contract.scheduling import GPU_LABEL, GPU_LABEL_VALUE, GPU_TAINT, TIER_LABEL, Tier, tier_taint

DCGM_EXPORTER_CHART = ChartRef("dcgm-exporter", "4.8.2", "https://nvidia.github.io/dcgm-exporter/helm-charts")
DCGM_NAMESPACE = "gpu-monitoring"


def dcgm_exporter_values(gpu_tier: Tier) -> Values:
    return {
        # Only GPU nodes, whatever the pool's tier taint; the DaemonSet tolerates the GPU taint.
        "nodeSelector": {GPU_LABEL: GPU_LABEL_VALUE, TIER_LABEL: gpu_tier.value},
        "tolerations": [GPU_TAINT.toleration(), tier_taint(gpu_tier).toleration()],
        # The series carry the GPU's pod and namespace; honouring them keeps those labels (else exported_pod).
        "serviceMonitor": {"enabled": True, "interval": "15s", "honorLabels": True},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    }


def dcgm_exporter(name: str, gpu_tier: Tier, opts: pulumi.ResourceOptions) -> pulumi.Resource:
    return helm_chart(name, DCGM_EXPORTER_CHART, release="dcgm-exporter", namespace=DCGM_NAMESPACE,
                      values=dcgm_exporter_values(gpu_tier), opts=opts)
