"""Tiers and the node labels and taints that pin pods to them (the deployment guide's `tier=<name>`).

Every node pool the cluster components create is labelled `tier=<edge|regional|cloud>` (the key the
deployment guide uses with `kubectl label nodes`). GPU pools are also labelled
`nvidia.com/gpu.present=true` (the label the NVIDIA device plugin's default affinity looks for) and
tainted `nvidia.com/gpu=present:NoSchedule`, so only pods that ask for a GPU land there. A tier pool can
be *dedicated*: tainted `tier=<tier>:NoSchedule` so untiered pods (system add-ons) stay off it.

Workload builders call `placement(tier, gpus)`, and the placement service patches the same
nodeSelector and tolerations when it moves a function; it always tolerates the tier taint, so a
workload schedules whether or not its tier's pool is dedicated. The placement service sizes each tier
from live nodes carrying these labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Tier(StrEnum):
    """Where a function can run, nearest to users first."""

    EDGE = "edge"
    REGIONAL = "regional"
    CLOUD = "cloud"


TIER_LABEL = "tier"
GPU_LABEL = "nvidia.com/gpu.present"
GPU_LABEL_VALUE = "true"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT_KEY = GPU_RESOURCE
GPU_TAINT_VALUE = "present"


class TaintEffect(StrEnum):
    """Kubernetes taint effects, spelled as in a pod spec."""

    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"

    @property
    def cloud_name(self) -> str:
        """The spelling EKS node groups and GKE node pools use (`NO_SCHEDULE`)."""
        return self.name


@dataclass(frozen=True)
class Taint:
    """A node taint, independent of the cloud that applies it."""

    key: str
    value: str
    effect: TaintEffect = TaintEffect.NO_SCHEDULE

    def toleration(self) -> dict[str, str]:
        """The pod toleration that matches exactly this taint."""
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect.value}


GPU_TAINT = Taint(GPU_TAINT_KEY, GPU_TAINT_VALUE)


def tier_taint(tier: Tier) -> Taint:
    """The taint a dedicated pool of `tier` carries."""
    return Taint(TIER_LABEL, tier.value)


def tier_labels(tier: Tier) -> dict[str, str]:
    """Node labels of a pool in `tier`."""
    return {TIER_LABEL: tier.value}


def gpu_labels(tier: Tier) -> dict[str, str]:
    """Node labels of a GPU pool that sits in `tier`."""
    return {TIER_LABEL: tier.value, GPU_LABEL: GPU_LABEL_VALUE}


def pool_taints(tier: Tier, *, dedicated: bool, gpu: bool) -> list[Taint]:
    """Taints of a pool: the tier taint when dedicated, the GPU taint on GPU pools."""
    taints = [tier_taint(tier)] if dedicated else []
    return [*taints, GPU_TAINT] if gpu else taints


@dataclass(frozen=True)
class Placement:
    """Where a pod may run: the pod spec's nodeSelector, tolerations and extra resource limits."""

    node_selector: dict[str, str]
    tolerations: list[dict[str, str]] = field(default_factory=list)
    resource_limits: dict[str, str] = field(default_factory=dict)


def placement(tier: Tier, gpus: int = 0) -> Placement:
    """Scheduling for a pod in `tier` that needs `gpus` NVIDIA GPUs (0 for none)."""
    if gpus < 0:
        raise ValueError(f"gpus must be 0 or more (got {gpus})")
    if gpus == 0:
        return Placement(node_selector=tier_labels(tier), tolerations=[tier_taint(tier).toleration()])
    return Placement(
        node_selector=gpu_labels(tier),
        tolerations=[tier_taint(tier).toleration(), GPU_TAINT.toleration()],
        resource_limits={GPU_RESOURCE: str(gpus)},
    )
