"""The placement problem as arrays: per function-tier costs, demands, capacities and current tiers.

Latency (request-weighted milliseconds) and resource cost (USD per hour) have different units, so each
term is divided by its mean over all function-tier pairs: the weights then trade comparable shares, and
`migration_penalty` is priced in "one average function-tier term".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from runtime.contract import Tier
from runtime.placement.problem import RESOURCE_NAMES, PlacementProblem
from runtime.settings import PlacementSettings

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NO_TIER = -1


@dataclass(frozen=True)
class CostModel:
    """Everything the solvers need, vectorised over functions (rows) and tiers (columns)."""

    tiers: tuple[Tier, ...]
    cost: FloatArray  # (n, T) objective coefficient of placing function i on tier t
    demand: FloatArray  # (n, K) cpu, memory_gib, gpu
    capacity: FloatArray  # (T, K)
    current: IntArray  # (n,) index of the current tier, NO_TIER for new functions
    fits: BoolArray  # (n, T) the function alone fits the tier's capacity
    max_migrations: int

    @property
    def size(self) -> int:
        return self.cost.shape[0]

    @cached_property
    def unplaced_penalty(self) -> float:
        """Charge for leaving a function unplaced: above any tier's cost, so placing always wins."""
        return 2.0 * max(float(self.cost.max(initial=0.0)), 0.0) + 1.0

    @cached_property
    def with_current(self) -> IntArray:
        """Indices of the functions that run somewhere now."""
        return np.flatnonzero(self.current != NO_TIER)

    @cached_property
    def moved(self) -> BoolArray:
        """(n, T) placing function i on tier t would move it away from its current tier."""
        return _moves_away(self.current, len(self.tiers))

    def objective(self, assignment: IntArray) -> float:
        """Objective of an assignment (NO_TIER = unplaced, charged `unplaced_penalty`)."""
        placed = assignment != NO_TIER
        rows = np.flatnonzero(placed)
        total = float(self.cost[rows, assignment[rows]].sum())
        return total + self.unplaced_penalty * float(np.count_nonzero(~placed))

    def migrations(self, assignment: IntArray) -> int:
        """Functions moved from their current tier to another one (leaving one unplaced is not a move)."""
        moved = (self.current != NO_TIER) & (assignment != NO_TIER) & (assignment != self.current)
        return int(np.count_nonzero(moved))

    def within_capacity(self, assignment: IntArray, tolerance: float = 1e-6) -> bool:
        load = tier_load(self, assignment)
        return bool(np.all(load <= self.capacity + tolerance))


def _moves_away(current: IntArray, n_tiers: int) -> BoolArray:
    """(n, T) whether tier t differs from function i's current tier (never for new functions)."""
    return (current[:, None] != NO_TIER) & (current[:, None] != np.arange(n_tiers)[None, :])


def tier_load(model: CostModel, assignment: IntArray) -> FloatArray:
    """Summed demand per tier (T, K) of an assignment."""
    placed = assignment != NO_TIER
    n_tiers, n_resources = model.capacity.shape
    columns = [
        np.bincount(assignment[placed], weights=model.demand[placed, k], minlength=n_tiers)
        for k in range(n_resources)
    ]
    return np.stack(columns, axis=1).astype(np.float64)


def _normalised(term: FloatArray) -> FloatArray:
    scale = float(term.mean()) if term.size else 0.0
    return term / scale if scale > 0 else term


def build_cost_model(problem: PlacementProblem, settings: PlacementSettings) -> CostModel:
    """Turn the typed problem into cost, demand and capacity arrays."""
    tiers = tuple(spec.tier for spec in problem.tiers)
    regions = sorted({region for function in problem.functions for region in function.user_regions})
    region_index = {region: j for j, region in enumerate(regions)}
    n, n_tiers = len(problem.functions), len(tiers)

    shares = np.zeros((n, len(regions)))
    rates = np.empty(n)
    demand = np.empty((n, len(RESOURCE_NAMES)))
    current = np.full(n, NO_TIER, dtype=np.int64)
    tier_index = {tier: t for t, tier in enumerate(tiers)}
    for i, function in enumerate(problem.functions):
        total = sum(function.user_regions.values())
        for region, weight in function.user_regions.items():
            shares[i, region_index[region]] = weight / total
        rates[i] = function.request_rate
        demand[i] = function.demand.as_tuple()
        if function.current_tier is not None:
            current[i] = tier_index.get(function.current_tier, NO_TIER)

    latency = np.array([[spec.latency_ms[region] for region in regions] for spec in problem.tiers])
    latency = latency.reshape(n_tiers, len(regions))
    prices = np.array(
        [[spec.cpu_hour_usd, spec.memory_gib_hour_usd, spec.gpu_hour_usd] for spec in problem.tiers]
    )
    capacity = np.array([spec.capacity.as_tuple() for spec in problem.tiers]).reshape(
        n_tiers, len(RESOURCE_NAMES)
    )

    latency_term = rates[:, None] * (shares @ latency.T)
    resource_term = demand @ prices.T
    weights = settings.cost_weights
    cost = weights.user_latency * _normalised(latency_term) + weights.resource_utilization * _normalised(
        resource_term
    )
    cost = cost + settings.migration_penalty * _moves_away(current, n_tiers)

    fits = np.all(demand[:, None, :] <= capacity[None, :, :] + 1e-9, axis=2)
    return CostModel(
        tiers=tiers,
        cost=cost,
        demand=demand,
        capacity=capacity,
        current=current,
        fits=fits,
        max_migrations=settings.max_migrations_per_interval,
    )
