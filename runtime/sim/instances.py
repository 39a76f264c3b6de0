"""Instance-level accounting (warm pools) of a pool policy (`runtime.warming.policy.PoolPolicy`).

docs/architecture.md: needed instances per minute = ceil(count x average duration / 60 s) (at least one
in a minute with any invocation); cold starts = needed above warm; idle instance-minutes = warm above
needed.

A pool policy (e.g. `runtime/warming/pool.py`) has the same minute-by-minute shape as
`WarmingPolicy`, but returns how many instances of each app are warm instead of a boolean:

    class MyPool(PoolPolicy):
        name = "predictive-pool"
        def reset(self, profile, future=None): ...    # AppProfile; future only if sees_future
        def warm_next(self) -> Counts: ...            # int64 per app, warm at the start of minute t
        def observe(self, counts) -> None: ...        # minute t's invocation counts per app

`replay_pool(counts, profile, pool)` drives it; `simulate()` accepts pool policies alongside app-level
ones and reports both views for each (an app counts as loaded in a minute when it has a warm instance).
For an app-level policy, a loaded minute keeps warm the instances its last invocation minute needed:
keep-alive holds instances, it does not add any.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from runtime.warming.policy import AppProfile, Counts, PoolPolicy

Matrix = npt.NDArray[np.int64]


@dataclass(frozen=True)
class InstanceOutcome:
    """Per-app totals of one replay at instance level."""

    needed_instance_minutes: Counts
    cold_starts: Counts
    idle_instance_minutes: Counts


def warm_from_loaded(loaded: npt.NDArray[np.bool_], needed: Matrix) -> Matrix:
    """Warm instances implied by an app-level schedule: those the last invocation minute needed."""
    apps, minutes = needed.shape
    # held[:, t] = needed at the latest invocation minute before t (0 before the first invocation).
    last = np.where(needed > 0, np.arange(minutes)[None, :], -1)
    last = np.maximum.accumulate(last, axis=1)
    previous = np.concatenate([np.full((apps, 1), -1), last[:, :-1]], axis=1)
    held = np.where(previous >= 0, np.take_along_axis(needed, np.maximum(previous, 0), axis=1), 0)
    return np.where(loaded, np.maximum(held, 1), 0)


def account(needed: Matrix, warm: Matrix) -> InstanceOutcome:
    """Cold starts and idle instance-minutes per app, from needed and warm instances per minute."""
    return InstanceOutcome(
        needed_instance_minutes=needed.sum(axis=1),
        cold_starts=np.maximum(needed - warm, 0).sum(axis=1),
        idle_instance_minutes=np.maximum(warm - needed, 0).sum(axis=1),
    )


def replay_pool(
    counts: Matrix, profile: AppProfile, pool: PoolPolicy, *, on_hour: Callable[[int], None] | None = None
) -> Matrix:
    """Drive a pool policy over the trace; returns its warm instances (apps x minutes)."""
    apps, minutes = counts.shape
    pool.reset(profile, counts.copy() if pool.sees_future else None)
    by_minute = np.ascontiguousarray(counts.T)
    warm = np.empty((minutes, apps), dtype=np.int64)
    for t in range(minutes):
        decision = np.asarray(pool.warm_next())
        if decision.shape != (apps,) or (decision < 0).any():
            raise ValueError(f"pool policy {pool.name!r} must return {apps} non-negative counts, got {decision!r}")
        warm[t] = decision
        pool.observe(by_minute[t].copy())
        if on_hour is not None and (t + 1) % 60 == 0:
            on_hour(t + 1)
    return np.ascontiguousarray(warm.T)


def loaded_from_warm(warm: Matrix) -> npt.NDArray[np.bool_]:
    """The app-level view of a pool: loaded in a minute when at least one instance is warm."""
    return warm > 0
