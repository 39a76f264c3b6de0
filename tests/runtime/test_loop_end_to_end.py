"""`isf loop` end to end: four service processes, the simulated cluster, the bundled day's first 50
functions for 120 minutes; what it measures must match `isf simulate`'s `predictive-deployed`.

Compared (`runtime.cluster_sim.loop`): total cold starts (invocation minutes without a ready pod) and
app-level wasted memory (minutes with a ready pod and no invocation x the function's memory), over
the same functions and minutes. The barrier clock makes the run deterministic, so the bound is tight.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime.cluster_sim.knative import MinuteOutcome
from runtime.cluster_sim.loop import LoopConfig, LoopReport, run_loop, window_trace
from runtime.contract import metrics
from runtime.store.engine import normalize_url
from runtime.traces import load_trace
from tests.support.scratch_database import create_scratch_database, drop_scratch_database

TRACE, FUNCTIONS, START, MINUTES = "sampled-500fn-1day", 50, 0, 120


@pytest.fixture
def loop_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh PostgreSQL database when DATABASE_URL names a server, else the loop's own SQLite file."""
    server = os.environ.get("DATABASE_URL")
    if not server or normalize_url(server).get_backend_name() != "postgresql":
        monkeypatch.delenv("DATABASE_URL", raising=False)
        yield
        return
    url = create_scratch_database(server, "isf_loop")
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        yield
    finally:
        drop_scratch_database(url)


@pytest.mark.slow
@pytest.mark.usefixtures("loop_database")
def test_loop_measures_what_the_simulator_predicts(tmp_path: Path) -> None:
    trace = load_trace(TRACE)
    exported: dict[str, float] = {}
    idle_pods_mb_s = [0.0]  # the cluster's: ready pods of functions without a request, x memory x 60 s

    def progress(done: int, report: LoopReport, outcome: MinuteOutcome) -> None:
        if done < MINUTES:
            idle_pods_mb_s[0] += sum(f.ready_pods * f.memory_mb * 60.0 for f in outcome.functions
                                     if f.invocations == 0)
        if done == MINUTES:  # the api (another process) has ingested the measured minutes up to the one before
            text = httpx.get(report.endpoints["api"], timeout=10).text
            samples = [sample for family in text_string_to_metric_families(text) for sample in family.samples]
            exported["api"] = sum(s.value for s in samples if s.name == metrics.COLD_STARTS.name)
            exported["loop"] = report.series["cold_starts"][MINUTES - 2]
            exported["api_idle_mb_s"] = sum(s.value for s in samples if s.name == metrics.WASTED_MEMORY.name)

    report = run_loop(LoopConfig(TRACE, minutes=MINUTES, start_minute=START, speed=0, functions=FUNCTIONS,
                                 workdir=tmp_path), trace, progress=progress)
    window = window_trace(trace, START, MINUTES, FUNCTIONS)
    assert report.loop.invocations == int(window.counts.sum())
    deployed, measured = report.predictive_deployed, report.loop
    assert deployed.cold_starts > 0 and deployed.wasted_mb_minutes > 0
    assert abs(measured.cold_starts - deployed.cold_starts) <= 0.05 * deployed.cold_starts, report.comparison
    assert abs(measured.wasted_mb_minutes - deployed.wasted_mb_minutes) <= 0.05 * deployed.wasted_mb_minutes, (
        report.comparison)
    assert measured.cold_starts < report.fixed_10.cold_starts  # the point of the platform, on these minutes
    # one exporter: the api's isf_cold_starts_total is what the collector measured and the loop posted
    assert exported["api"] == exported["loop"] > 0, exported
    # idle warm memory measured from Knative's ready pods (the collector) and exported by the api alone
    assert exported["api_idle_mb_s"] == pytest.approx(idle_pods_mb_s[0], rel=1e-9) and idle_pods_mb_s[0] > 0
