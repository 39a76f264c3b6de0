"""Random but realistic placement problems for tests and benchmarks (seeded, so reproducible).

Edge is near every region but small and GPU-less; regional is mid-sized with a few GPUs; cloud is
far, cheap and large. Current tiers come from a random feasible fill, so staying put is always
possible.
"""

from __future__ import annotations

import numpy as np

from runtime.contract import Tier
from runtime.placement.problem import FunctionDemand, PlacementProblem, Resources, TierSpec
from runtime.settings import CostSettings

REGIONS = ("us-east", "us-west", "eu-west", "eu-central", "ap-south", "ap-northeast")

# (base latency ms, jitter ms, share of total demand the tier can hold)
_TIER_SHAPE = {
    Tier.EDGE: (8.0, 6.0, 0.25),
    Tier.REGIONAL: (30.0, 15.0, 0.6),
    Tier.CLOUD: (90.0, 50.0, 1.0),
}
_GPU_SHARE = {Tier.EDGE: 0.0, Tier.REGIONAL: 0.5, Tier.CLOUD: 1.0}


def random_problem(
    n_functions: int,
    seed: int = 0,
    gpu_fraction: float = 0.02,
    current_fraction: float = 0.8,
    capacity_scale: float = 1.0,
) -> PlacementProblem:
    """`n_functions` functions over the three tiers; `capacity_scale` < 1 makes capacity scarcer."""
    rng = np.random.default_rng(seed)
    cpu = np.round(rng.gamma(2.0, 0.25, n_functions), 3) + 0.05
    memory = np.round(rng.choice([0.125, 0.25, 0.5, 1.0, 2.0, 4.0], n_functions), 3)
    gpu = (rng.random(n_functions) < gpu_fraction).astype(int)
    rate = np.round(rng.lognormal(1.0, 1.5, n_functions), 3)
    home = rng.integers(0, len(REGIONS), n_functions)
    totals = np.array([cpu.sum(), memory.sum(), gpu.sum()])

    tiers: list[TierSpec] = []
    for tier, (base, jitter, share) in _TIER_SHAPE.items():
        capacity = totals * share * capacity_scale
        gpus = int(np.ceil(totals[2] * _GPU_SHARE[tier] * capacity_scale))
        latency = {region: float(np.round(base + jitter * rng.random(), 2)) for region in REGIONS}
        tiers.append(
            TierSpec.priced(
                tier,
                Resources(cpu=float(capacity[0]), memory_gib=float(capacity[1]), gpu=gpus),
                latency,
                CostSettings(),
            )
        )

    remaining = {spec.tier: list(spec.capacity.as_tuple()) for spec in tiers}
    functions: list[FunctionDemand] = []
    for i in range(n_functions):
        need = (float(cpu[i]), float(memory[i]), float(gpu[i]))
        current: Tier | None = None
        if rng.random() < current_fraction:
            for tier in rng.permutation(list(_TIER_SHAPE)).tolist():
                room = remaining[Tier(tier)]
                if all(n <= r for n, r in zip(need, room, strict=True)):
                    remaining[Tier(tier)] = [r - n for n, r in zip(need, room, strict=True)]
                    current = Tier(tier)
                    break
        regions = {REGIONS[home[i]]: 0.7 + 0.3 * float(rng.random())}
        other = REGIONS[int(rng.integers(0, len(REGIONS)))]
        regions[other] = regions.get(other, 0.0) + 0.3
        functions.append(
            FunctionDemand(
                name=f"fn-{i:05d}",
                demand=Resources(cpu=need[0], memory_gib=need[1], gpu=int(gpu[i])),
                request_rate=float(rate[i]),
                user_regions=regions,
                current_tier=current,
            )
        )
    return PlacementProblem(functions=functions, tiers=tiers)
