"""A full warming pass over 10,000 functions: read forecasts, decide, compute Knative patches (not sent).

    .venv/bin/python benchmarks/warming_pass_bench.py [--functions 10000] [--database-url URL]

Prints the median wall time of a few passes per phase, and the pass's CPU time (on a shared machine
wall time includes waiting for a core); the target is <= 1 s for the whole pass. Then the
predictive gate (`runtime.services.warming_policy`): its first pass replays `--replay-minutes` of
stored invocation minutes, every later pass advances it by the minute just completed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine

from runtime.actuation.patches import warm_patch
from runtime.contract import Tier
from runtime.placement.problem import Resources
from runtime.services.kube import FunctionService
from runtime.services.warming import decide_pools, fit_to_tiers, read_inputs, warm_targets
from runtime.services.warming_policy import LivePredictiveGate
from runtime.settings import RuntimeSettings
from runtime.store import DurationStats, Forecast, FunctionInfo, InvocationRecord, open_engine, upgrade
from runtime.store.forecasts import record_forecasts
from runtime.store.functions import record_durations, upsert_functions
from runtime.store.invocations import record_invocations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--functions", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--replay-minutes", type=int, default=RuntimeSettings().warming.replay_minutes)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(args.database_url or f"sqlite:///{folder}/bench.sqlite3")
        upgrade(engine)
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        rng = np.random.default_rng(0)
        ids = [f"fn-{i:05d}" for i in range(args.functions)]
        rates = rng.lognormal(0.0, 2.0, args.functions)
        upsert_functions(engine, [FunctionInfo(f, memory_mb=float(rng.choice([128, 256, 512]))) for f in ids])
        record_durations(engine, "bench", [DurationStats(f, float(rng.lognormal(6, 1.5))) for f in ids])
        record_forecasts(engine, [Forecast(f, now, "bench", rng.poisson(r, 15).astype(float).tolist())
                                  for f, r in zip(ids, rates, strict=True)])
        settings = RuntimeSettings()
        tiers = list(Tier)
        services = {f: FunctionService(f, "functions", f, tiers[i % 3], Resources(cpu=0.25, memory_gib=0.25))
                    for i, f in enumerate(ids)}
        capacity = {tier: Resources(cpu=2000.0, memory_gib=4000.0) for tier in Tier}
        revisions = {f: {"metadata": {"annotations": {"autoscaling.knative.dev/min-scale": "1"}}} for f in ids}

        phases: dict[str, list[float]] = {"read": [], "decide": [], "patches": [], "total": [], "total_cpu": []}
        patches = 0
        for _ in range(args.repeats):
            cpu_started = time.process_time()
            started = time.perf_counter()
            inputs = read_inputs(engine)
            read = time.perf_counter()
            decisions = fit_to_tiers(decide_pools(inputs, settings, now), services, capacity)
            decided = time.perf_counter()
            targets = warm_targets(decisions, services, capacity)
            computed = [warm_patch(revisions[f], target) for f, target in targets.items()]
            done = time.perf_counter()
            phases["total_cpu"].append(time.process_time() - cpu_started)
            patches = sum(p is not None for p in computed)
            for name, seconds in (("read", read - started), ("decide", decided - read), ("patches", done - decided),
                                  ("total", done - started)):
                phases[name].append(seconds)
        gate_phases = _gate(engine, ids, rates, now, args.replay_minutes, args.repeats)
        engine.dispose()

    print(f"warming pass over {args.functions} functions ({engine.url.get_backend_name()}), "
          f"median of {args.repeats}:")
    for name, samples in phases.items():
        print(f"  {name:8s} {statistics.median(samples) * 1000:8.1f} ms")
    print(f"  patches  {patches} of {args.functions} revisions would change")
    total = statistics.median(phases["total"])
    print(f"target <= 1000 ms: {'met' if total <= 1.0 else 'MISSED'} ({total * 1000:.0f} ms)")
    print(f"predictive gate over {args.functions} functions (wall / CPU of this process):")
    for name, samples in gate_phases.items():
        wall, cpu = (statistics.median(sample[k] for sample in samples) for k in (0, 1))
        print(f"  {name:34s} {wall * 1000:9.1f} ms / {cpu * 1000:9.1f} ms CPU")


def _gate(
    engine: Engine, ids: list[str], rates: np.ndarray, now: datetime, replay_minutes: int, repeats: int
) -> dict[str, list[tuple[float, float]]]:
    """Store replay_minutes (+ repeats) of Poisson minutes, then time the gate's first and later passes.

    Minute m is stored before the pass at m + 1 (ingest caught up): each later pass feeds the policy
    one minute and decides on a copy of it.
    """
    rng = np.random.default_rng(1)
    start = now - timedelta(minutes=replay_minutes)
    counts = rng.poisson(rates[:, None] / 20.0, (len(ids), replay_minutes + repeats))  # mostly idle, as real apps
    for first in range(0, counts.shape[1], 60):  # zeros included, as the Prometheus collector stores them
        record_invocations(engine, "bench", [
            InvocationRecord(function_id, start + timedelta(minutes=m), int(counts[row, m]))
            for row, function_id in enumerate(ids) for m in range(first, min(first + 60, counts.shape[1]))
        ])
    gate = LivePredictiveGate(RuntimeSettings())
    memory = lambda _: 256.0

    def timed(at: datetime) -> tuple[float, float]:
        started, cpu_started = time.perf_counter(), time.process_time()
        gate.decide(engine, at, memory)
        return time.perf_counter() - started, time.process_time() - cpu_started

    return {f"first pass (replays {replay_minutes} minutes)": [timed(now)],
            "later pass (one new minute)": [timed(now + timedelta(minutes=k)) for k in range(1, repeats + 1)]}


if __name__ == "__main__":
    main()
