"""What measuring cold starts costs: per simulated minute in `isf loop`, and per ingested batch in the api.

    .venv/bin/python benchmarks/measurement_bench.py [--functions 500] [--minutes 60] [--batch 5000]

1. A minute of the simulated cluster's Knative series (`runtime/cluster_sim/prometheus.py`): recording
   the scrape, then the collector's `collect_minute` over HTTP (three instant queries), for `--functions`
   functions with Poisson(0.5) requests a minute; `isf loop` pays both once per trace minute.
2. `MeasuredCounters.observe` (runtime/ingest/counters.py) on a `--batch`-record batch over 2,000
   functions, which `POST /v1/invocations` and the collector pay after each stored batch.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import repo_root  # noqa: F401  (puts the repository root on sys.path)
from prometheus_client import CollectorRegistry

from runtime.cluster_sim.api_server import PROMETHEUS_PATH, ClusterApiServer
from runtime.cluster_sim.knative import FunctionSpec, SimulatedCluster
from runtime.cluster_sim.prometheus import SimulatedPrometheus
from runtime.ingest.counters import MeasuredCounters
from runtime.ingest.prometheus_collector import CollectorConfig, collect_minute
from runtime.settings import CostSettings
from runtime.store import InvocationRecord, open_engine, upgrade

T0 = datetime(2019, 7, 15, tzinfo=UTC)


def bench_minutes(functions: int, minutes: int) -> tuple[float, float, int]:
    """Milliseconds per minute to record the scrape and to collect it; cold starts measured."""
    rng = np.random.default_rng(0)
    cluster, prometheus = SimulatedCluster(), SimulatedPrometheus()
    ids = [f"fn-{i}" for i in range(functions)]
    for function_id in ids:
        cluster.deploy(FunctionSpec(function_id, 128.0))
    durations = dict.fromkeys(ids, 100.0)
    scrape = collect = 0.0
    cold = 0
    with ClusterApiServer(cluster, prometheus=prometheus) as server, httpx.Client() as client:
        config = CollectorConfig(prometheus_url=server.url + PROMETHEUS_PATH)
        for k in range(minutes):
            counts = {f: int(c) for f, c in zip(ids, rng.poisson(0.5, functions).tolist(), strict=True) if c}
            outcome = cluster.step(counts, durations)
            started = time.perf_counter()
            prometheus.scrape_minute(T0 + timedelta(minutes=k), (
                (f.function_id, f.invocations, f.ready_pods, durations[f.function_id]) for f in outcome.functions),
                cluster.revision_of)
            scraped = time.perf_counter()
            records = collect_minute(client, config, T0 + timedelta(minutes=k))
            collect += time.perf_counter() - scraped
            scrape += scraped - started
            measured = sum(r.cold_starts or 0 for r in records)
            if measured != outcome.cold_starts:
                raise SystemExit(f"minute {k}: measured {measured} cold starts, the cluster had {outcome.cold_starts}")
            cold += measured
    return 1000.0 * scrape / minutes, 1000.0 * collect / minutes, cold


def bench_observe(batch: int, rounds: int = 20) -> float:
    """Milliseconds per `observe` of one batch (SQLite catalogue for the tier look-up)."""
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        upgrade(engine)
        counters = MeasuredCounters(CollectorRegistry(), engine, cost=CostSettings())
        records = [InvocationRecord(f"fn-{i % 2000}", T0 + timedelta(minutes=i // 2000), i % 17, 12.5, i % 2)
                   for i in range(batch)]
        counters.observe(records)  # the children and the tier map exist after the first batch
        started = time.perf_counter()
        for _ in range(rounds):
            counters.observe(records)
        elapsed = time.perf_counter() - started
        engine.dispose()
    return 1000.0 * elapsed / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--functions", type=int, default=500)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    print(f"1-minute load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    scrape_ms, collect_ms, cold = bench_minutes(args.functions, args.minutes)
    print(f"simulated minute, {args.functions} functions: record the scrape {scrape_ms:.1f} ms, "
          f"collect_minute over HTTP {collect_ms:.1f} ms ({cold} cold starts in {args.minutes} minutes); "
          f"a day: {(scrape_ms + collect_ms) * 1440 / 1000:.0f} s")
    observe_ms = bench_observe(args.batch)
    print(f"MeasuredCounters.observe, {args.batch} records over 2000 functions: {observe_ms:.1f} ms per batch "
          f"({args.batch / observe_ms * 1000:,.0f} records/s)")


if __name__ == "__main__":
    main()
