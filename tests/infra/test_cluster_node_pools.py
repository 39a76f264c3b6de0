"""Specification of the tier node-pool defaults and how pools are resolved for a cloud."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from components.cluster.node_pools import (
    EKS_GPU_INSTANCE_TYPES,
    EKS_INSTANCE_TYPES,
    GKE_MACHINE_TYPES,
    KNOWN_SHAPES,
    TIER_DISK_GB,
    TIER_SHAPES,
    GpuPool,
    TierPool,
    check_one_pool_per_tier,
    default_tier_pools,
    resolve_pools,
)
from runtime.contract import Tier
from runtime.contract.scheduling import GPU_TAINT, TIER_LABEL, tier_taint


@pytest.mark.parametrize("tier", list(Tier))
def test_default_machines_fit_the_guides_hardware_table(tier: Tier) -> None:
    for machine in [*EKS_INSTANCE_TYPES[tier], GKE_MACHINE_TYPES[tier]]:
        assert TIER_SHAPES[tier].admits(KNOWN_SHAPES[machine]), f"{machine} does not fit {tier.value}"


def test_a_pool_list_missing_or_repeating_a_tier_is_rejected_naming_both_problems() -> None:
    pools = [TierPool(tier=Tier.EDGE), TierPool(tier=Tier.EDGE), TierPool(tier=Tier.CLOUD)]
    with pytest.raises(ValueError, match="repeated tier\\(s\\) edge; missing tier\\(s\\) regional"):
        check_one_pool_per_tier(pools)


def test_pool_bounds_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="min_nodes \\(5\\) must not exceed max_nodes \\(2\\)"):
        TierPool(tier=Tier.EDGE, min_nodes=5, max_nodes=2)


def test_resolved_pools_carry_tier_labels_guide_disks_and_cloud_defaults() -> None:
    pools = resolve_pools(
        default_tier_pools(),
        GpuPool(),
        default_types=EKS_INSTANCE_TYPES,
        default_gpu_types=EKS_GPU_INSTANCE_TYPES,
    )
    by_role = {p.role: p for p in pools}
    assert set(by_role) == {"edge-pool", "regional-pool", "cloud-pool", "gpu-pool"}
    for tier in Tier:
        pool = by_role[f"{tier.value}-pool"]
        assert pool.labels[TIER_LABEL] == tier.value
        assert pool.disk_gb == TIER_DISK_GB[tier]
        assert pool.instance_types == EKS_INSTANCE_TYPES[tier]
    assert by_role["edge-pool"].taints == [tier_taint(Tier.EDGE)]  # edge is dedicated by default
    assert by_role["gpu-pool"].taints == [GPU_TAINT]


def test_a_gpu_pool_in_a_dedicated_tier_also_carries_that_tiers_taint() -> None:
    pools = resolve_pools(
        default_tier_pools(),
        GpuPool(tier=Tier.EDGE),
        default_types=EKS_INSTANCE_TYPES,
        default_gpu_types=EKS_GPU_INSTANCE_TYPES,
    )
    assert pools[-1].taints == [tier_taint(Tier.EDGE), GPU_TAINT]


def test_configured_instance_types_replace_the_defaults() -> None:
    pools = [
        TierPool(tier=Tier.EDGE, instance_types=["t3.large"]),
        TierPool(tier=Tier.REGIONAL),
        TierPool(tier=Tier.CLOUD),
    ]
    resolved = resolve_pools(pools, None, default_types=EKS_INSTANCE_TYPES, default_gpu_types=[])
    assert resolved[0].instance_types == ["t3.large"]
    assert len(resolved) == 3
