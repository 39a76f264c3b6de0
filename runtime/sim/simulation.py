"""Run several policies over one trace and report each, normalised to `fixed-10`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from runtime.settings import RuntimeSettings
from runtime.sim.instances import (
    account,
    loaded_from_warm,
    replay_pool,
    warm_from_loaded,
)
from runtime.sim.policies import Policy, make_policy
from runtime.sim.replay import app_profile, replay, score
from runtime.sim.report import PolicyKind, PolicyResult, SimulationReport, summarise
from runtime.traces.trace import Trace
from runtime.warming.baselines import FixedKeepAlive
from runtime.warming.policy import PoolPolicy, needed_instances

Progress = Callable[[str, int, int], None]
"""Called as (policy name, minutes replayed, total minutes) while a policy runs."""


def simulate(
    trace: Trace,
    policies: Sequence[str | Policy],
    *,
    settings: RuntimeSettings | None = None,
    label: str = "trace",
    progress: Progress | None = None,
) -> SimulationReport:
    """Replay the trace (aggregated per app) through each policy, in order."""
    apps = trace.by_app()
    counts, profile = apps.counts, app_profile(apps)
    needed = needed_instances(counts, apps.duration_ms)
    baseline = score(counts, replay(counts, profile, FixedKeepAlive(10)), apps.memory_mb)
    fixed10_waste = float(baseline.wasted_memory_mb_minutes.sum())
    results: dict[str, PolicyResult] = {}
    for entry in policies:
        policy = make_policy(entry, settings) if isinstance(entry, str) else entry
        started = time.perf_counter()
        name, total = policy.name, apps.n_minutes
        on_hour = None if progress is None else (lambda done, name=name, total=total: progress(name, done, total))
        if progress is not None:
            progress(name, 0, total)
        if isinstance(policy, PoolPolicy):
            kind = PolicyKind.POOL
            warm = replay_pool(counts, profile, policy, on_hour=on_hour)
            loaded = loaded_from_warm(warm)
        else:
            kind = PolicyKind.APP
            loaded = replay(counts, profile, policy, on_hour=on_hour)
            warm = warm_from_loaded(loaded, needed)
        results[policy.name] = summarise(
            kind,
            score(counts, loaded, apps.memory_mb),
            account(needed, warm),
            fixed10_wasted_mb_minutes=fixed10_waste,
            seconds=time.perf_counter() - started,
            sees_future=policy.sees_future,
        )
        if progress is not None:
            progress(policy.name, apps.n_minutes, apps.n_minutes)
    return SimulationReport(trace=label, apps=apps.n_functions, minutes=apps.n_minutes, policies=results)
