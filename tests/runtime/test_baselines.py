"""The baseline policies: ATC'20 reference figures, the hybrid histogram's branches, and causality."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.sim import SimulationReport, app_profile, make_policy, replay, replay_pool, score, simulate
from runtime.traces import Trace, load_trace
from runtime.warming.baselines import HybridHistogram, Oracle
from runtime.warming.policy import PoolPolicy

# runtime/data/traces/README.md: (p75 cold-start %, total cold starts, wasted memory vs fixed-10 %).
REFERENCE = {
    "fixed-10": (100.0, 4299, 100.0),
    "fixed-60": (66.7, 1057, 169.0),
    "fixed-120": (40.0, 778, 204.0),
    "hybrid-histogram": (63.8, 1554, 172.0),
    "oracle": (21.3, 500, 0.0),
}


@pytest.fixture(scope="module")
def sampled_day() -> Trace:
    return load_trace("sampled-500fn-1day")


@pytest.fixture(scope="module")
def reference_run(sampled_day: Trace) -> SimulationReport:
    return simulate(sampled_day, list(REFERENCE))


@pytest.mark.parametrize("name", list(REFERENCE))
def test_baseline_reproduces_the_atc20_reference_figures_within_a_few_percent(
    reference_run: SimulationReport, name: str
) -> None:
    p75, cold_starts, memory_pct = REFERENCE[name]
    result = reference_run.policies[name]
    assert result.p75_cold_start_pct == pytest.approx(p75, rel=0.03)
    assert result.cold_starts == pytest.approx(cold_starts, rel=0.03)
    assert result.wasted_memory_vs_fixed10_pct == pytest.approx(memory_pct, abs=2.0)
    assert result.invocations == 341_096


def single_app(minutes: list[int], length: int) -> Trace:
    counts = np.zeros((1, length), dtype=np.int64)
    counts[0, minutes] = 1
    return Trace(("o",), ("a",), ("f",), counts, memory_mb=np.array([100.0]), duration_ms=np.array([100.0]))


def run(trace: Trace, policy) -> tuple[np.ndarray, int]:
    loaded = replay(trace.counts, app_profile(trace), policy)
    return loaded[0], int(score(trace.counts, loaded, trace.memory_mb).cold_starts[0])


def test_hybrid_histogram_prewarms_a_periodic_timer_just_before_each_firing() -> None:
    fires = list(range(0, 600, 30))
    loaded, cold_starts = run(single_app(fires, 600), HybridHistogram())
    assert cold_starts == 1  # only the first: the 4 h keep-alive then the histogram cover the rest
    # Idle time 30: pre-warm floor(0.9 x 30) = 27, so the app loads 3 minutes before each firing (the
    # firing's own window then replaces the rest of the keep-alive).
    assert np.flatnonzero(loaded[300:365]).tolist() == [0, 27, 28, 29, 30, 57, 58, 59, 60]


def test_hybrid_histogram_falls_back_to_a_four_hour_keep_alive_when_idle_times_are_spread_out() -> None:
    # Idle times 1, 2, ..., 60 minutes: 60 equally full bins, a coefficient of variation below 2.
    fires = np.cumsum([0, *range(1, 61)]).tolist()
    last = fires[-1]
    loaded, _ = run(single_app(fires, last + 300), HybridHistogram())
    assert loaded[last + 1 : last + 241].all()
    assert not loaded[last + 241 :].any()


def test_hybrid_histogram_forecasts_the_next_idle_time_when_most_are_beyond_the_range() -> None:
    fires = [0, 300, 600, 900, 1200]
    loaded, cold_starts = run(single_app(fires, 1300), HybridHistogram())
    # Minute 300 is cold (nothing known yet beyond the 4 h keep-alive); after that the forecast of a
    # 300-minute idle time pre-warms each firing.
    assert cold_starts == 2
    assert loaded[[600, 900, 1200]].all()
    assert loaded[601:850].sum() < 100


def test_the_oracle_wastes_nothing_and_only_misses_each_apps_first_invocation() -> None:
    trace = single_app([3, 4, 50, 51, 400], 500)
    loaded, cold_starts = run(trace, Oracle())
    assert cold_starts == 1
    assert np.flatnonzero(loaded).tolist() == [4, 50, 51, 400]


def test_the_oracle_refuses_to_run_without_the_future() -> None:
    with pytest.raises(ValueError, match="future"):
        Oracle().reset(app_profile(single_app([0], 5)), None)


def decisions(name: str, counts: np.ndarray, trace: Trace) -> np.ndarray:
    policy = make_policy(name)
    if isinstance(policy, PoolPolicy):
        return replay_pool(counts, app_profile(trace), policy)
    return replay(counts, app_profile(trace), policy)


@pytest.mark.parametrize("name", ["fixed-10", "hybrid-histogram", "predictive", "predictive-deployed", "predictive-pool"])
def test_a_causal_policy_decides_minute_t_the_same_whatever_happens_from_t_on(
    sampled_day: Trace, name: str
) -> None:
    trace = sampled_day.window(0, 360)
    rng = np.random.default_rng(0)
    original = decisions(name, trace.counts, trace)
    for cut in (120, 240):
        changed = trace.counts.copy()
        changed[:, cut:] = rng.poisson(3.0, size=changed[:, cut:].shape) * (rng.random(changed[:, cut:].shape) < 0.5)
        perturbed = decisions(name, changed, trace)
        np.testing.assert_array_equal(perturbed[:, : cut + 1], original[:, : cut + 1])
        assert not np.array_equal(perturbed, original), "the perturbation should change later decisions"


def test_the_causality_check_catches_a_policy_that_reads_the_future(sampled_day: Trace) -> None:
    trace = sampled_day.window(0, 360)
    changed = trace.counts.copy()
    changed[:, 240:] = 0
    assert not np.array_equal(decisions("oracle", changed, trace)[:, :241], decisions("oracle", trace.counts, trace)[:, :241])
