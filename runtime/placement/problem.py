"""The typed input of a placement run: functions with their demand and users, tiers with their limits."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runtime.contract import Tier
from runtime.settings import CostSettings

NonNegative = Annotated[float, Field(ge=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resources(_Frozen):
    """CPU cores, memory in GiB and whole GPUs: a function's demand or a tier's capacity."""

    cpu: NonNegative = 0.0
    memory_gib: NonNegative = 0.0
    gpu: Annotated[int, Field(ge=0)] = 0

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.cpu, self.memory_gib, float(self.gpu))


RESOURCE_NAMES = ("cpu", "memory_gib", "gpu")


class FunctionDemand(_Frozen):
    """One function to place: what it reserves, how busy it is, where its users are, where it runs now."""

    name: Annotated[str, Field(min_length=1)]
    demand: Resources
    request_rate: Annotated[NonNegative, Field(description="requests per second")] = 0.0
    user_regions: Annotated[
        dict[str, NonNegative], Field(description="region -> share of the function's requests (any scale)")
    ]
    current_tier: Annotated[
        Tier | None,
        Field(description="where it runs now; None, or a tier not offered any more, places it afresh"),
    ] = None

    @model_validator(mode="after")
    def _has_users(self) -> Self:
        if not self.user_regions or sum(self.user_regions.values()) <= 0:
            raise ValueError(
                f"function {self.name!r}: user_regions needs at least one region with weight > 0"
            )
        return self


class TierSpec(_Frozen):
    """One tier: what it can hold, what it costs per hour, how far it is from each user region."""

    tier: Tier
    capacity: Resources
    cpu_hour_usd: NonNegative
    memory_gib_hour_usd: NonNegative = 0.0
    gpu_hour_usd: NonNegative = 0.0
    latency_ms: Annotated[
        dict[str, NonNegative], Field(description="user region -> round-trip latency in ms")
    ]

    @classmethod
    def priced(
        cls, tier: Tier, capacity: Resources, latency_ms: dict[str, float], cost: CostSettings
    ) -> TierSpec:
        """A tier priced from the runtime cost settings (CPU per tier, memory at the GB-second rate)."""
        return cls(
            tier=tier,
            capacity=capacity,
            cpu_hour_usd=cost.tier_cpu_hour_usd.get(tier, 0.0),
            memory_gib_hour_usd=cost.memory_gb_second_usd * 3600,
            latency_ms=latency_ms,
        )


class PlacementProblem(_Frozen):
    """Functions to place on tiers; every user region of every function must have a latency on every tier."""

    functions: list[FunctionDemand]
    tiers: Annotated[list[TierSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        seen_tiers: set[Tier] = set()
        for spec in self.tiers:
            if spec.tier in seen_tiers:
                raise ValueError(f"tiers: tier {spec.tier.value!r} is listed twice")
            seen_tiers.add(spec.tier)
        seen_functions: set[str] = set()
        for function in self.functions:
            if function.name in seen_functions:
                raise ValueError(f"functions: name {function.name!r} is listed twice")
            seen_functions.add(function.name)
        regions = {region for function in self.functions for region in function.user_regions}
        for spec in self.tiers:
            missing = sorted(regions - spec.latency_ms.keys())
            if missing:
                raise ValueError(
                    f"tiers[{spec.tier.value}].latency_ms has no entry for user region(s) {missing}"
                )
        return self
