"""Node pool guarantees: GPU pools are tainted, so only pods that tolerate (ask for) GPUs land there."""

from __future__ import annotations

from typing import Any

from policy.rule import Props, Rule, items, lookup
from runtime.contract.scheduling import GPU_LABEL, GPU_TAINT_KEY

EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
_GPU_AMI_MARKERS = ("NVIDIA", "GPU")


def _has_gpu_taint(taints: Any) -> bool:
    return any(lookup(t, "key") == GPU_TAINT_KEY and lookup(t, "effect") == "NO_SCHEDULE" for t in items(taints))


def gpu_pools_are_tainted(resource_type: str, props: Props) -> list[str]:
    """A GPU node group/pool carries the `nvidia.com/gpu` NoSchedule taint."""
    if resource_type == EKS_NODE_GROUP:
        ami = str(lookup(props, "amiType") or "")
        is_gpu = any(marker in ami for marker in _GPU_AMI_MARKERS) or GPU_LABEL in (lookup(props, "labels") or {})
        taints = lookup(props, "taints")
    else:
        is_gpu = bool(items(lookup(props, "nodeConfig", "guestAccelerators")))
        taints = lookup(props, "nodeConfig", "taints")
    if is_gpu and not _has_gpu_taint(taints):
        return [f"GPU nodes are not tainted {GPU_TAINT_KEY}:NoSchedule, so any pod could take them"]
    return []


RULES = (
    Rule(
        "gpu-node-pools-tainted",
        f"GPU node groups and pools carry the {GPU_TAINT_KEY} NoSchedule taint.",
        frozenset({EKS_NODE_GROUP, GKE_NODE_POOL}),
        gpu_pools_are_tainted,
    ),
)
