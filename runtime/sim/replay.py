"""App-level replay of a trace through a warming policy, exactly as docs/architecture.md specifies.

Before minute t the policy (seeing only minutes < t) says which apps are loaded in t. An invocation
minute that is not loaded is one cold start (its other invocations are warm) and loads the app for
that minute; a loaded minute without invocations wastes the app's AverageAllocatedMb.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from runtime.traces.trace import Trace
from runtime.warming.policy import AppProfile, Counts, WarmingPolicy

Matrix = npt.NDArray[np.int64]
Schedule = npt.NDArray[np.bool_]
"""apps x minutes: whether each app was loaded before each minute began."""


def app_profile(trace: Trace) -> AppProfile:
    """The static facts a warming policy may know about each row of `trace`."""
    return AppProfile(memory_mb=trace.memory_mb.copy(), duration_ms=trace.duration_ms.copy())


@dataclass(frozen=True)
class AppOutcome:
    """Per-app totals of one replay at app level."""

    invocations: Counts
    invocation_minutes: Counts
    cold_starts: Counts
    wasted_minutes: Counts
    wasted_memory_mb_minutes: npt.NDArray[np.float64]


def replay(
    counts: Matrix, profile: AppProfile, policy: WarmingPolicy, *, on_hour: Callable[[int], None] | None = None
) -> Schedule:
    """Drive `policy` minute by minute; returns what it had loaded (apps x minutes).

    `on_hour(minutes_done)` is called every 60 replayed minutes (for progress bars)."""
    apps, minutes = counts.shape
    if profile.n_apps != apps:
        raise ValueError(f"profile describes {profile.n_apps} apps but the trace has {apps}")
    policy.reset(profile, counts.copy() if policy.sees_future else None)
    by_minute = np.ascontiguousarray(counts.T)  # a row per minute keeps each observe() contiguous
    loaded = np.empty((minutes, apps), dtype=np.bool_)
    for t in range(minutes):
        decision = np.asarray(policy.loaded_next())
        if decision.shape != (apps,) or decision.dtype != np.bool_:
            raise ValueError(
                f"policy {policy.name!r} must return a bool mask of {apps} apps, "
                f"got {decision.dtype} {decision.shape}"
            )
        loaded[t] = decision
        policy.observe(by_minute[t].copy())  # a copy, so a policy cannot alter the trace
        if on_hour is not None and (t + 1) % 60 == 0:
            on_hour(t + 1)
    return np.ascontiguousarray(loaded.T)


def score(counts: Matrix, loaded: Schedule, memory_mb: npt.NDArray[np.float64]) -> AppOutcome:
    """Cold starts and wasted memory per app for a given schedule."""
    invoked = counts > 0
    wasted = (loaded & ~invoked).sum(axis=1)
    return AppOutcome(
        invocations=counts.sum(axis=1),
        invocation_minutes=invoked.sum(axis=1),
        cold_starts=(invoked & ~loaded).sum(axis=1),
        wasted_minutes=wasted,
        wasted_memory_mb_minutes=wasted * memory_mb,
    )
