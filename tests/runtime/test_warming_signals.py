"""Specification of the causal signals and the online calibration behind the predictive policy."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.sim.replay import replay, score
from runtime.warming.calibration import OnlineLogistic
from runtime.warming.policy import AppProfile
from runtime.warming.predictive import PredictiveConfig, PredictiveWarming, ProbabilityModel
from runtime.warming.signals import FEATURE_NAMES, InvocationSignals

MB_MINUTE_USD = 0.0000166667 * 60 / 1024


def _feature(signals: InvocationSignals, name: str) -> float:
    apps, since = signals.candidates()
    return float(signals.features(apps, since)[0, FEATURE_NAMES.index(name)])


def _run(signals: InvocationSignals, row: np.ndarray, until: int) -> None:
    while signals.t < until:
        signals.observe(row[:, signals.t])


def _cron_skipping_hours(hours: int, seed: int) -> np.ndarray:
    """A job at minute 7 of the hour that runs in a random ~60 % of hours: irregular gaps, fixed phase."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((1, 60 * hours), dtype=np.int64)
    runs = np.flatnonzero(rng.random(hours) < 0.6)
    counts[0, 60 * runs + 7] = 1
    counts[0, 7] = 1
    return counts


def test_a_cron_job_that_skips_hours_shows_its_minute_of_the_hour_in_the_phase_signal():
    counts = _cron_skipping_hours(hours=12, seed=1)
    signals = InvocationSignals(n_apps=1, horizon=240, prior_strength=1.0)
    _run(signals, counts, until=60 * 10 + 7)
    at_tick = _feature(signals, "phase_60")
    _run(signals, counts, until=60 * 10 + 30)
    between_ticks = _feature(signals, "phase_60")
    assert at_tick > between_ticks + 3.0  # logit scale: roughly 0.6 against 0.005


def test_an_idle_time_seen_before_is_echoed_and_one_never_seen_is_not():
    counts = np.zeros((1, 100), dtype=np.int64)
    counts[0, [0, 25, 50]] = 1  # two completed idle times of 25 minutes
    signals = InvocationSignals(n_apps=1, horizon=240, prior_strength=1.0)
    _run(signals, counts, until=50 + 25)
    assert _feature(signals, "gap_echo") == 1.0
    assert _feature(signals, "last_gap_echo") == 1.0
    _run(signals, counts, until=50 + 40)
    assert _feature(signals, "gap_echo") == 0.0


def test_the_hour_lag_signal_is_on_exactly_sixty_minutes_after_an_invocation():
    counts = np.zeros((1, 200), dtype=np.int64)
    counts[0, [5, 100]] = 1
    signals = InvocationSignals(n_apps=1, horizon=240, prior_strength=1.0)
    _run(signals, counts, until=160)
    assert _feature(signals, "hour_lag") == 1.0
    _run(signals, counts, until=161)
    assert _feature(signals, "hour_lag") == 0.0


def test_online_logistic_recovers_a_known_relation_from_batches():
    rng = np.random.default_rng(5)
    model = OnlineLogistic(np.zeros(2), capacity=20_000, window=100)
    truth = np.array([2.0, -1.0, 0.5])  # two weights and the bias
    for _ in range(100):
        x = rng.normal(size=(300, 2))
        y = rng.random(300) < 1 / (1 + np.exp(-(x @ truth[:2] + truth[2])))
        model.add(x, y)
    model.newton_steps = 20
    model.refit()
    np.testing.assert_allclose(model.weights, truth, atol=0.15)
    assert model.n_rows == 20_000  # each batch thinned to capacity / window rows


def test_online_logistic_stays_at_its_prior_when_all_labels_agree_and_never_diverges_on_separable_data():
    prior = np.array([1.0, 0.0])
    model = OnlineLogistic(prior, capacity=1000, window=10)
    model.add(np.ones((50, 2)), np.zeros(50, dtype=bool))
    model.refit()
    np.testing.assert_array_equal(model.weights, [1.0, 0.0, 0.0])
    x = np.array([[-1.0, 0.0], [1.0, 0.0]] * 50)
    model.add(x, x[:, 0] > 0)  # perfectly separable
    model.refit()
    assert np.isfinite(model.weights).all() and np.abs(model.weights).max() < 50


def test_online_logistic_rejects_a_window_larger_than_its_capacity():
    with pytest.raises(ValueError, match="capacity"):
        OnlineLogistic(np.zeros(1), capacity=10, window=20)


def test_calibrating_every_signal_catches_cron_jobs_the_hazard_alone_misses():
    counts = np.concatenate([_cron_skipping_hours(hours=24, seed=s) for s in range(20)])
    profile = AppProfile(memory_mb=np.full(20, 128.0), duration_ms=np.full(20, 100.0))
    outcomes = {}
    for model in ProbabilityModel:
        config = PredictiveConfig(
            cold_start_usd=2_000 * MB_MINUTE_USD,
            memory_gb_second_usd=0.0000166667,
            probability_model=model,
        )
        loaded = replay(counts, profile, PredictiveWarming(config))
        outcomes[model] = score(counts, loaded, profile.memory_mb)
    hazard, calibrated = outcomes[ProbabilityModel.HAZARD], outcomes[ProbabilityModel.CALIBRATED]
    first_invocations = 20
    assert calibrated.cold_starts.sum() - first_invocations < 0.5 * (
        hazard.cold_starts.sum() - first_invocations
    )
    assert calibrated.wasted_minutes.sum() < 0.5 * hazard.wasted_minutes.sum()
