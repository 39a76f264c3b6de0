"""Specification of instance-level warm pools: sizing from forecasts, clamping, and the gate."""

from __future__ import annotations

import numpy as np

from runtime.predictor.baselines import MovingAverageForecaster
from runtime.settings import WarmingSettings
from runtime.sim.instances import account, replay_pool
from runtime.warming.policy import AppProfile, needed_instances
from runtime.warming.pool import PredictivePool, make_predictive_pool, pool_size
from runtime.warming.predictive import PredictiveConfig, PredictiveWarming


def test_pool_is_predicted_concurrency_times_the_buffer_rounded_up():
    settings = WarmingSettings(prewarm_buffer=1.5, min_warm_pool=0, max_warm_pool=100)
    np.testing.assert_array_equal(pool_size([0.0, 1.0, 2.1, 10.0], settings), [0, 2, 4, 15])


def test_pool_is_clamped_to_the_configured_bounds():
    settings = WarmingSettings(prewarm_buffer=2.0, min_warm_pool=3, max_warm_pool=8)
    np.testing.assert_array_equal(pool_size([0.0, 2.0, 50.0], settings), [3, 4, 8])


def test_a_gated_off_app_has_no_pool_unless_the_minimum_demands_one():
    warm = np.array([False, True, True])
    np.testing.assert_array_equal(pool_size([5.0, 0.0, 5.0], WarmingSettings(), warm=warm), [0, 1, 8])
    floor = WarmingSettings(min_warm_pool=2)
    np.testing.assert_array_equal(pool_size([5.0, 0.0, 5.0], floor, warm=warm), [2, 2, 8])


def _pool(settings: WarmingSettings) -> PredictivePool:
    gate = PredictiveWarming(PredictiveConfig(cold_start_usd=0.01, memory_gb_second_usd=0.0000166667))
    return PredictivePool(gate, MovingAverageForecaster(window=5), settings)


def test_a_steady_busy_app_gets_a_pool_that_covers_its_concurrency():
    counts = np.full((1, 240), 600, dtype=np.int64)  # 600 calls a minute x 1 s = 10 busy instances
    profile = AppProfile(memory_mb=np.array([128.0]), duration_ms=np.array([1000.0]))
    warm = replay_pool(counts, profile, _pool(WarmingSettings(prewarm_buffer=1.5)))
    needed = needed_instances(counts, profile.duration_ms)
    assert (warm[0, 10:] == 15).all()
    # The first minutes are cold while the gate learns that this app never pauses; then none are.
    assert account(needed[:, 2:], warm[:, 2:]).cold_starts.sum() == 0
    assert account(needed, warm).cold_starts.sum() <= 20


def test_the_pool_never_exceeds_max_warm_pool_even_under_a_surge():
    counts = np.full((1, 60), 60_000, dtype=np.int64)
    profile = AppProfile(memory_mb=np.array([128.0]), duration_ms=np.array([1000.0]))
    warm = replay_pool(counts, profile, _pool(WarmingSettings(max_warm_pool=20)))
    assert warm.max() == 20


def test_the_registry_factory_builds_a_causal_pool_policy():
    pool = make_predictive_pool()
    assert pool.name == "predictive-pool"
    assert not pool.sees_future
