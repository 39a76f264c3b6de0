"""The simulation semantics of docs/architecture.md, rule by rule, on small hand-made traces."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.sim import (
    PolicyKind,
    account,
    app_profile,
    make_policy,
    needed_instances,
    replay,
    replay_pool,
    score,
    simulate,
)
from runtime.sim.instances import warm_from_loaded
from runtime.traces import Trace
from runtime.warming.baselines import FixedKeepAlive, WindowPolicy
from runtime.warming.policy import AppProfile, Counts, Mask, PoolPolicy, WarmingPolicy


def trace_of(rows: list[list[int]], memory_mb: list[float] | None = None, duration_ms: list[float] | None = None) -> Trace:
    ids = tuple(f"app{i}" for i in range(len(rows)))
    return Trace(
        ids, ids, ids, np.array(rows, dtype=np.int64),
        memory_mb=np.array(memory_mb or [100.0] * len(rows)),
        duration_ms=np.array(duration_ms or [1000.0] * len(rows)),
    )  # fmt: skip


class Scripted(WarmingPolicy):
    """Loads exactly the given schedule and records what it was shown."""

    name = "scripted"

    def __init__(self, schedule: list[list[bool]]):
        self.schedule = np.array(schedule, dtype=bool)

    def reset(self, profile: AppProfile, future: Counts | None = None) -> None:
        self.t, self.seen, self.future = 0, [], future

    def loaded_next(self) -> Mask:
        return self.schedule[:, self.t].copy()

    def observe(self, counts: Counts) -> None:
        self.seen.append(counts.copy())
        self.t += 1


class Window(WindowPolicy):
    """pre-warm `pw`, keep-alive `ka` after every invocation."""

    name = "window"

    def __init__(self, prewarm: int, keep_alive: int):
        self.pw, self.ka = prewarm, keep_alive

    def _windows(self, apps, t):
        return np.full(apps.size, self.pw), np.full(apps.size, self.ka)


def run(trace: Trace, policy: WarmingPolicy):
    loaded = replay(trace.counts, app_profile(trace), policy)
    return loaded, score(trace.counts, loaded, trace.memory_mb)


def test_an_invocation_minute_that_is_not_loaded_is_one_cold_start_however_many_invocations() -> None:
    _, outcome = run(trace_of([[7, 0, 0]]), Scripted([[False, False, False]]))
    assert outcome.cold_starts.tolist() == [1]
    assert outcome.invocations.tolist() == [7]


def test_an_invocation_minute_loads_the_app_so_it_wastes_nothing() -> None:
    _, outcome = run(trace_of([[3, 2, 0]]), Scripted([[False, True, False]]))
    assert outcome.cold_starts.tolist() == [1]
    assert outcome.wasted_minutes.tolist() == [0]


def test_a_loaded_minute_without_invocations_wastes_the_apps_memory() -> None:
    _, outcome = run(trace_of([[1, 0, 0, 0]], memory_mb=[250.0]), Scripted([[False, True, True, False]]))
    assert outcome.wasted_minutes.tolist() == [2]
    assert outcome.wasted_memory_mb_minutes.tolist() == [500.0]


def test_the_policy_decides_minute_t_having_seen_only_earlier_minutes() -> None:
    trace = trace_of([[1, 0, 2, 0], [0, 5, 0, 0]])
    policy = Scripted([[False] * 4, [False] * 4])
    replay(trace.counts, app_profile(trace), policy)
    assert policy.future is None
    np.testing.assert_array_equal(np.array(policy.seen).T, trace.counts)


def test_fixed_keep_alive_loads_the_n_minutes_after_each_invocation() -> None:
    loaded, outcome = run(trace_of([[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]]), FixedKeepAlive(3))
    assert loaded[0].astype(int).tolist() == [0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0]
    assert outcome.cold_starts.tolist() == [2]
    assert outcome.wasted_minutes.tolist() == [6]


def test_a_window_policy_loads_from_t_plus_prewarm_to_t_plus_prewarm_plus_keep_alive() -> None:
    loaded, _ = run(trace_of([[1] + [0] * 9]), Window(prewarm=3, keep_alive=2))
    assert np.flatnonzero(loaded[0]).tolist() == [3, 4, 5]


def test_a_zero_prewarm_window_still_starts_the_minute_after_the_invocation() -> None:
    loaded, _ = run(trace_of([[1] + [0] * 5]), Window(prewarm=0, keep_alive=2))
    assert np.flatnonzero(loaded[0]).tolist() == [1, 2]


def test_a_later_invocation_replaces_the_earlier_window() -> None:
    loaded, outcome = run(trace_of([[1, 1] + [0] * 8]), Window(prewarm=4, keep_alive=0))
    assert np.flatnonzero(loaded[0]).tolist() == [5]  # the window of minute 0 (minute 4) is gone
    assert outcome.cold_starts.tolist() == [2]


def test_a_policy_returning_the_wrong_shape_is_rejected_by_name() -> None:
    class Broken(Scripted):
        name = "broken"

        def loaded_next(self) -> Mask:
            return np.array([True, False, True])

    with pytest.raises(ValueError, match="'broken' must return a bool mask of 1 apps"):
        run(trace_of([[1, 0]]), Broken([[True, True]]))


def test_needed_instances_are_count_times_duration_over_a_minute_rounded_up_and_at_least_one() -> None:
    counts = np.array([[0, 1, 60, 61], [3, 0, 0, 0]], dtype=np.int64)
    needed = needed_instances(counts, np.array([1000.0, 0.0]))
    assert needed.tolist() == [[0, 1, 1, 2], [1, 0, 0, 0]]


def test_instance_cold_starts_are_needed_above_warm_and_idle_is_warm_above_needed() -> None:
    needed = np.array([[0, 3, 1, 0]], dtype=np.int64)
    warm = np.array([[2, 1, 1, 0]], dtype=np.int64)
    outcome = account(needed, warm)
    assert outcome.cold_starts.tolist() == [2]
    assert outcome.idle_instance_minutes.tolist() == [2]
    assert outcome.needed_instance_minutes.tolist() == [4]


def test_an_app_level_schedule_keeps_warm_the_instances_its_last_invocation_needed() -> None:
    needed = np.array([[0, 3, 0, 1, 0, 0]], dtype=np.int64)
    loaded = np.array([[True, False, True, True, True, False]])
    assert warm_from_loaded(loaded, needed).tolist() == [[1, 0, 3, 3, 1, 0]]


def test_a_pool_policy_is_replayed_causally_and_reported_at_both_levels() -> None:
    class LastMinutePool(PoolPolicy):
        name = "last-minute"

        def reset(self, profile: AppProfile, future: Counts | None = None) -> None:
            self.last = np.zeros(profile.n_apps, dtype=np.int64)

        def warm_next(self) -> Counts:
            return self.last.copy()

        def observe(self, counts: Counts) -> None:
            self.last = counts.copy()

    trace = trace_of([[2, 2, 0, 1]], duration_ms=[60_000.0])
    warm = replay_pool(trace.counts, app_profile(trace), LastMinutePool())
    assert warm.tolist() == [[0, 2, 2, 0]]
    report = simulate(trace, [LastMinutePool()])
    result = report.policies["last-minute"]
    assert result.kind is PolicyKind.POOL
    assert (result.instance_cold_starts, result.instance_idle_minutes) == (3, 2)
    assert (result.cold_starts, result.wasted_memory_mb_minutes) == (2, 100.0)


def test_the_report_gives_p75_over_invoked_apps_and_memory_relative_to_fixed_10() -> None:
    rows = [[1] + [0] * 29, [1, 1, 1, 1] + [0] * 26, [0] * 30, [1] + [0] * 14 + [1] + [0] * 14]
    report = simulate(trace_of(rows), ["fixed-10", "fixed-20"])
    fixed10, fixed20 = report.policies["fixed-10"], report.policies["fixed-20"]
    # Cold-start % per invoked app under fixed-10: 100, 25, 100 -> p75 = 100; the silent app is skipped.
    assert fixed10.p75_cold_start_pct == 100.0
    assert (fixed10.cold_starts, fixed10.invocations) == (4, 7)
    # Wasted under fixed-10: 10 + 10 + (10 + 10) minutes x 100 MB.
    assert (fixed10.wasted_memory_mb_minutes, fixed10.wasted_memory_vs_fixed10_pct) == (4000.0, 100.0)
    assert fixed20.cold_starts == 3
    assert fixed20.wasted_memory_vs_fixed10_pct == pytest.approx(100 * fixed20.wasted_memory_mb_minutes / 4000.0)


def test_unknown_policy_names_are_rejected_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown policy 'fixed-ten'.*fixed-N"):
        make_policy("fixed-ten")
    assert make_policy("fixed-7").name == "fixed-7"
