"""Specification of the scheduling contract between node pools and workloads."""

from __future__ import annotations

import pytest

from runtime.contract import Tier
from runtime.contract.scheduling import (
    GPU_LABEL,
    GPU_RESOURCE,
    GPU_TAINT,
    TIER_LABEL,
    TaintEffect,
    placement,
    pool_taints,
    tier_taint,
)


def _tolerates(tolerations: list[dict[str, str]], taint_key: str, taint_value: str, effect: str) -> bool:
    """Kubernetes' matching rule for one taint (Equal or Exists operators)."""
    for t in tolerations:
        if t.get("effect") not in (None, "", effect) or t.get("key") not in (None, "", taint_key):
            continue
        if t.get("operator") == "Exists" or t.get("value") == taint_value:
            return True
    return False


@pytest.mark.parametrize("tier", list(Tier))
def test_a_tier_workload_selects_nodes_by_the_guides_tier_label(tier: Tier) -> None:
    assert placement(tier).node_selector == {TIER_LABEL: tier.value}
    assert TIER_LABEL == "tier"


@pytest.mark.parametrize("tier", list(Tier))
def test_a_tier_workload_tolerates_its_dedicated_pool_but_no_other(tier: Tier) -> None:
    tols = placement(tier).tolerations
    for other in Tier:
        taint = tier_taint(other)
        assert _tolerates(tols, taint.key, taint.value, taint.effect.value) is (other is tier)


def test_a_cpu_workload_does_not_tolerate_the_gpu_taint_so_it_stays_off_gpu_nodes() -> None:
    assert not _tolerates(placement(Tier.CLOUD).tolerations, GPU_TAINT.key, GPU_TAINT.value, "NoSchedule")


def test_a_gpu_workload_selects_gpu_nodes_tolerates_their_taint_and_requests_the_gpus() -> None:
    where = placement(Tier.CLOUD, gpus=2)
    assert where.node_selector == {TIER_LABEL: "cloud", GPU_LABEL: "true"}
    assert _tolerates(where.tolerations, "nvidia.com/gpu", "present", "NoSchedule")
    assert where.resource_limits == {GPU_RESOURCE: "2"}


def test_a_negative_gpu_count_is_rejected_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="gpus must be 0 or more"):
        placement(Tier.EDGE, gpus=-1)


def test_gpu_pools_are_tainted_and_tier_pools_only_when_dedicated() -> None:
    assert pool_taints(Tier.REGIONAL, dedicated=False, gpu=False) == []
    assert pool_taints(Tier.EDGE, dedicated=True, gpu=False) == [tier_taint(Tier.EDGE)]
    assert pool_taints(Tier.CLOUD, dedicated=False, gpu=True) == [GPU_TAINT]


def test_taint_effects_use_the_cloud_apis_spelling() -> None:
    assert [e.cloud_name for e in TaintEffect] == ["NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE"]
