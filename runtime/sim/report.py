"""The figures `isf simulate` reports per policy (the axes of Shahrad et al., ATC'20)."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict

from runtime.sim.instances import InstanceOutcome
from runtime.sim.replay import AppOutcome


class PolicyKind(StrEnum):
    """Whether a policy decides loaded-ness per app or sizes warm pools per app."""

    APP = "app"
    POOL = "pool"


class PolicyResult(BaseModel):
    """One policy's replay; percentages are 0..100."""

    model_config = ConfigDict(frozen=True)

    kind: PolicyKind
    sees_future: bool = False
    """True for the oracle: a lower bound, not a policy one could deploy."""
    p75_cold_start_pct: float
    """75th percentile over invoked apps of cold starts / invocations."""
    cold_starts: int
    invocations: int
    invocation_minutes: int
    wasted_memory_mb_minutes: float
    wasted_memory_vs_fixed10_pct: float
    instance_cold_starts: int
    needed_instance_minutes: int
    instance_idle_minutes: int
    instance_cold_start_pct: float
    """Instance cold starts / needed instance-minutes, over the whole trace."""
    seconds: float


class SimulationReport(BaseModel):
    """Every policy's figures on one trace; `policies` keeps the order they were run in."""

    model_config = ConfigDict(frozen=True)

    trace: str
    apps: int
    minutes: int
    policies: dict[str, PolicyResult]


def summarise(
    kind: PolicyKind,
    apps: AppOutcome,
    instances: InstanceOutcome,
    *,
    fixed10_wasted_mb_minutes: float,
    seconds: float,
    sees_future: bool = False,
) -> PolicyResult:
    """Collapse per-app outcomes into the reported figures."""
    invoked = apps.invocations > 0
    cold_pct = 100.0 * apps.cold_starts[invoked] / apps.invocations[invoked]
    wasted = float(apps.wasted_memory_mb_minutes.sum())
    needed = int(instances.needed_instance_minutes.sum())
    instance_cold = int(instances.cold_starts.sum())
    return PolicyResult(
        kind=kind,
        sees_future=sees_future,
        p75_cold_start_pct=float(np.percentile(cold_pct, 75)) if cold_pct.size else 0.0,
        cold_starts=int(apps.cold_starts.sum()),
        invocations=int(apps.invocations.sum()),
        invocation_minutes=int(apps.invocation_minutes.sum()),
        wasted_memory_mb_minutes=wasted,
        wasted_memory_vs_fixed10_pct=100.0 * wasted / fixed10_wasted_mb_minutes if fixed10_wasted_mb_minutes else 0.0,
        instance_cold_starts=instance_cold,
        needed_instance_minutes=needed,
        instance_idle_minutes=int(instances.idle_instance_minutes.sum()),
        instance_cold_start_pct=100.0 * instance_cold / needed if needed else 0.0,
        seconds=seconds,
    )
