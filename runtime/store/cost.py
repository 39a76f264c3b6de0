"""What the current warm pools cost, from the latest decisions, memory sizes and the configured prices."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from runtime.settings import CostSettings
from runtime.store.decisions import current_pools
from runtime.store.schema import Function

# Memory assumed for a function whose size was never reported (Knative's common 128 MiB request).
DEFAULT_MEMORY_MB = 128.0


@dataclass(frozen=True, slots=True)
class FunctionCost:
    """One function's warm-pool cost rate."""

    function_id: str
    pool_size: int
    memory_mb: float
    warm_usd_per_hour: float


def warm_pool_costs(engine: Engine, prices: CostSettings) -> list[FunctionCost]:
    """USD per hour of keeping each function's current warm pool, most expensive first."""
    pools = current_pools(engine)
    with engine.connect() as connection:
        query = select(Function.id, Function.memory_mb).where(Function.id.in_(list(pools)))
        memory = {function_id: memory_mb for function_id, memory_mb in connection.execute(query)}
    costs = []
    for function_id, decision in pools.items():
        memory_mb = memory.get(function_id) or DEFAULT_MEMORY_MB
        usd = decision.pool_size * memory_mb / 1024 * 3600 * prices.memory_gb_second_usd
        costs.append(FunctionCost(function_id, decision.pool_size, memory_mb, usd))
    return sorted(costs, key=lambda cost: (-cost.warm_usd_per_hour, cost.function_id))
