"""Typed node-pool specs shared by EKS and GKE: one pool per tier plus an optional GPU pool.

Sizes follow the deployment guide's hardware table (edge 2-4 vCPU / 4-8 GB, regional 8-16 vCPU /
16-32 GB, cloud 16-32 vCPU / 64-128 GB). An empty `instance_types` means "the cloud's default for the
tier" (`EKS_INSTANCE_TYPES`, `GKE_MACHINE_TYPES`), so a stack only names machines it wants to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runtime.contract import Tier
from runtime.contract.scheduling import Taint, gpu_labels, pool_taints, tier_labels


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Shape:
    """A machine size: vCPUs and memory (GiB)."""

    vcpus: int
    memory_gb: int


@dataclass(frozen=True)
class ShapeRange:
    """The guide's vCPU and memory range for a tier (inclusive)."""

    vcpus: tuple[int, int]
    memory_gb: tuple[int, int]

    def admits(self, shape: Shape) -> bool:
        return (
            self.vcpus[0] <= shape.vcpus <= self.vcpus[1]
            and self.memory_gb[0] <= shape.memory_gb <= self.memory_gb[1]
        )


TIER_SHAPES: dict[Tier, ShapeRange] = {
    Tier.EDGE: ShapeRange(vcpus=(2, 4), memory_gb=(4, 8)),
    Tier.REGIONAL: ShapeRange(vcpus=(8, 16), memory_gb=(16, 32)),
    Tier.CLOUD: ShapeRange(vcpus=(16, 32), memory_gb=(64, 128)),
}
"""The guide's worker-node sizes per tier."""

TIER_DISK_GB: dict[Tier, int] = {Tier.EDGE: 50, Tier.REGIONAL: 200, Tier.CLOUD: 500}
"""The guide's SSD size per tier."""

EKS_INSTANCE_TYPES: dict[Tier, list[str]] = {
    Tier.EDGE: ["m6i.large", "m5.large"],
    Tier.REGIONAL: ["m6i.2xlarge", "m5.2xlarge"],
    Tier.CLOUD: ["m6i.4xlarge", "m5.4xlarge"],
}
GKE_MACHINE_TYPES: dict[Tier, str] = {
    Tier.EDGE: "e2-standard-2",
    Tier.REGIONAL: "e2-standard-8",
    Tier.CLOUD: "n2-standard-16",
}
EKS_GPU_INSTANCE_TYPES = ["g5.xlarge"]
GKE_GPU_MACHINE_TYPE = "g2-standard-8"
GKE_GPU_ACCELERATOR = "nvidia-l4"

KNOWN_SHAPES: dict[str, Shape] = {
    "m6i.large": Shape(2, 8),
    "m5.large": Shape(2, 8),
    "m6i.2xlarge": Shape(8, 32),
    "m5.2xlarge": Shape(8, 32),
    "m6i.4xlarge": Shape(16, 64),
    "m5.4xlarge": Shape(16, 64),
    "e2-standard-2": Shape(2, 8),
    "e2-standard-8": Shape(8, 32),
    "n2-standard-16": Shape(16, 64),
}
"""Sizes of the default machine types, so the defaults can be checked against `TIER_SHAPES`."""


class TierPool(_Strict):
    """A node pool dedicated to one tier."""

    tier: Tier
    instance_types: list[str] = Field(
        default_factory=list, description="machine types; empty = the cloud's default for the tier (GKE: one)"
    )
    min_nodes: Annotated[int, Field(ge=0)] = 1
    max_nodes: Annotated[int, Field(ge=1)] = 3
    disk_gb: Annotated[int, Field(ge=20)] | None = Field(default=None, description="empty = the guide's size")
    dedicated: bool = Field(
        default=False, description="taint tier=<tier>:NoSchedule so only pods placed in this tier land here"
    )
    spot: bool = False

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Self:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) must not exceed max_nodes ({self.max_nodes})")
        return self


class GpuPool(_Strict):
    """The NVIDIA GPU pool; it sits in one tier and is always tainted `nvidia.com/gpu`."""

    tier: Tier = Tier.CLOUD
    instance_types: list[str] = Field(
        default_factory=list, description="empty = the cloud's default GPU machine"
    )
    accelerator: str = Field(default=GKE_GPU_ACCELERATOR, description="GKE accelerator type (ignored on EKS)")
    gpus_per_node: Annotated[int, Field(ge=1, le=16)] = 1
    min_nodes: Annotated[int, Field(ge=0)] = 0
    max_nodes: Annotated[int, Field(ge=1)] = 2
    disk_gb: Annotated[int, Field(ge=50)] = 200

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Self:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) must not exceed max_nodes ({self.max_nodes})")
        return self


def default_tier_pools() -> list[TierPool]:
    """One pool per tier with the guide's sizes; edge is dedicated so only latency-critical pods use it."""
    return [
        TierPool(tier=Tier.EDGE, min_nodes=2, max_nodes=6, dedicated=True),
        TierPool(tier=Tier.REGIONAL, min_nodes=1, max_nodes=4),
        TierPool(tier=Tier.CLOUD, min_nodes=1, max_nodes=4),
    ]


def check_one_pool_per_tier(pools: list[TierPool]) -> list[TierPool]:
    """Reject pool lists that miss a tier or repeat one; placement needs every tier exactly once."""
    seen = [pool.tier for pool in pools]
    repeated = sorted({t.value for t in seen if seen.count(t) > 1})
    missing = [t.value for t in Tier if t not in seen]
    problems = ([f"repeated tier(s) {', '.join(repeated)}"] if repeated else []) + (
        [f"missing tier(s) {', '.join(missing)}"] if missing else []
    )
    if problems:
        raise ValueError(
            f"tier_pools needs exactly one pool per tier (edge, regional, cloud): {'; '.join(problems)}"
        )
    return pools


@dataclass(frozen=True)
class ResolvedPool:
    """A pool with everything a cloud needs: role name, machines, scaling, labels, taints."""

    role: str
    tier: Tier
    instance_types: list[str]
    min_nodes: int
    max_nodes: int
    disk_gb: int
    labels: dict[str, str]
    taints: list[Taint]
    spot: bool = False
    gpu: GpuPool | None = None

    @property
    def desired_nodes(self) -> int:
        """Start at the minimum but never at zero for CPU pools, so system pods have somewhere to run."""
        return max(self.min_nodes, 0 if self.gpu else 1)


def resolve_pools(
    tier_pools: list[TierPool],
    gpu_pool: GpuPool | None,
    *,
    default_types: dict[Tier, list[str]],
    default_gpu_types: list[str],
) -> list[ResolvedPool]:
    """Fill in cloud defaults, labels and taints for every pool (tiers first, then the GPU pool)."""
    pools = [
        ResolvedPool(
            role=f"{pool.tier.value}-pool",
            tier=pool.tier,
            instance_types=pool.instance_types or default_types[pool.tier],
            min_nodes=pool.min_nodes,
            max_nodes=pool.max_nodes,
            disk_gb=pool.disk_gb or TIER_DISK_GB[pool.tier],
            labels=tier_labels(pool.tier),
            taints=pool_taints(pool.tier, dedicated=pool.dedicated, gpu=False),
            spot=pool.spot,
        )
        for pool in check_one_pool_per_tier(tier_pools)
    ]
    if gpu_pool is not None:
        dedicated = any(p.dedicated for p in tier_pools if p.tier is gpu_pool.tier)
        pools.append(
            ResolvedPool(
                role="gpu-pool",
                tier=gpu_pool.tier,
                instance_types=gpu_pool.instance_types or default_gpu_types,
                min_nodes=gpu_pool.min_nodes,
                max_nodes=gpu_pool.max_nodes,
                disk_gb=gpu_pool.disk_gb,
                labels=gpu_labels(gpu_pool.tier),
                taints=pool_taints(gpu_pool.tier, dedicated=dedicated, gpu=True),
                gpu=gpu_pool,
            )
        )
    return pools
