"""Specification of the predictive warming policy: cost rule, learning timers, causality, headline."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.settings import RuntimeSettings
from runtime.sim import simulate
from runtime.sim.replay import app_profile, replay, score
from runtime.traces import load_trace
from runtime.traces.bundled import BUNDLED_TRACES
from runtime.warming.baselines import FixedKeepAlive
from runtime.warming.hazard import IdleTimeHazard
from runtime.warming.policy import AppProfile
from runtime.warming.predictive import (
    PredictiveConfig,
    PredictiveWarming,
    ProbabilityModel,
    make_predictive_policy,
)

MB_MINUTE_USD = 0.0000166667 * 60 / 1024


def _policy(cold_start_mb_minutes: float = 10_000.0, **knobs: float) -> PredictiveWarming:
    """A policy whose cold start is worth `cold_start_mb_minutes` of idle memory."""
    config = PredictiveConfig.model_validate(
        {
            "cold_start_usd": cold_start_mb_minutes * MB_MINUTE_USD,
            "memory_gb_second_usd": 0.0000166667,
            **knobs,
        }
    )
    return PredictiveWarming(config)


def _profile(n: int, memory_mb: float = 128.0) -> AppProfile:
    return AppProfile(memory_mb=np.full(n, memory_mb), duration_ms=np.full(n, 100.0))


def _timer(period: int, minutes: int, phase: int = 0) -> np.ndarray:
    counts = np.zeros((1, minutes), dtype=np.int64)
    counts[0, phase::period] = 1
    return counts


def test_a_periodic_timer_gets_zero_cold_starts_after_learning_and_is_warm_only_around_its_tick():
    counts = _timer(period=15, minutes=600, phase=3)
    loaded = replay(counts, _profile(1), _policy())
    late = slice(300, 600)  # after 20 periods of learning
    outcome = score(counts[:, late], loaded[:, late], np.array([128.0]))
    assert outcome.cold_starts.sum() == 0
    assert outcome.wasted_minutes.sum() == 0  # pre-warmed exactly for the tick, not kept alive


def test_a_timer_costs_far_less_memory_than_a_fixed_keep_alive_that_covers_it():
    counts = _timer(period=20, minutes=1440)
    profile = _profile(1)
    predictive = score(counts, replay(counts, profile, _policy()), profile.memory_mb)
    fixed = score(counts, replay(counts, profile, FixedKeepAlive(20)), profile.memory_mb)
    assert predictive.cold_starts.sum() <= 3
    assert predictive.wasted_minutes.sum() < fixed.wasted_minutes.sum() / 5


def test_loading_follows_the_expected_cost_rule_with_the_threshold():
    rng = np.random.default_rng(7)
    counts = (rng.random((40, 300)) < rng.uniform(0.01, 0.5, size=(40, 1))).astype(np.int64)
    memory = rng.uniform(50, 500, size=40)
    policy = _policy(rarity_weight=0.0, cost_threshold_usd_per_hour=0.002)
    policy.reset(AppProfile(memory_mb=memory, duration_ms=np.full(40, 100.0)))
    for t in range(300):
        p = policy.probability_next()
        loaded = policy.loaded_next()
        seen = p > 0  # the rule applies after an app's first invocation, within the horizon
        saving = p * policy.config.cold_start_usd - (1 - p) * memory * MB_MINUTE_USD
        np.testing.assert_array_equal(loaded, seen & (saving > 0.002 / 60))
        policy.observe(counts[:, t])


def test_cheap_apps_are_kept_warm_longer_than_memory_hungry_ones_with_the_same_history():
    rng = np.random.default_rng(3)
    row = (rng.random(720) < 0.08).astype(np.int64)
    counts = np.stack([row, row])
    profile = AppProfile(memory_mb=np.array([32.0, 2048.0]), duration_ms=np.array([100.0, 100.0]))
    loaded = replay(counts, profile, _policy(2_000.0))
    assert loaded[0].sum() > 2 * loaded[1].sum()
    assert (loaded[1] <= loaded[0]).all()  # same P, higher idle cost: loaded only where the cheap one is


def test_an_overwhelming_threshold_turns_warming_off():
    counts = _timer(period=5, minutes=200)
    loaded = replay(counts, _profile(1), _policy(cost_threshold_usd_per_hour=1e6))
    assert not loaded.any()


def test_nothing_is_loaded_beyond_the_horizon_after_the_last_invocation():
    counts = np.zeros((1, 400), dtype=np.int64)
    counts[0, [0, 1, 2, 3]] = 1
    loaded = replay(counts, _profile(1, memory_mb=1.0), _policy(1e9, horizon_minutes=30))
    assert loaded[0, 4:34].all()
    assert not loaded[0, 34:].any()


def test_decisions_never_depend_on_future_minutes():
    rng = np.random.default_rng(11)
    counts = (rng.random((30, 400)) < 0.1).astype(np.int64) * rng.integers(1, 5, size=(30, 400))
    altered = counts.copy()
    altered[:, 250:] = 0  # silence: after the horizon nothing stays loaded
    profile = _profile(30)
    first = replay(counts, profile, _policy(horizon_minutes=30))
    second = replay(altered, profile, _policy(horizon_minutes=30))
    np.testing.assert_array_equal(first[:, :251], second[:, :251])  # minute 250 is decided before it is seen
    assert not np.array_equal(first, second)


def test_budgeted_decisions_never_depend_on_future_minutes():
    # The budget's price and the population features move with every minute seen, never with later ones.
    counts = load_trace("sampled-500fn-1day").by_app().counts[:80, :500]
    altered = counts.copy()
    altered[:, 300:] = np.random.default_rng(4).integers(0, 2, size=(80, 200))
    profile = _profile(80)
    first = replay(counts, profile, make_predictive_policy())
    second = replay(altered, profile, make_predictive_policy())
    np.testing.assert_array_equal(first[:, :301], second[:, :301])
    assert not np.array_equal(first, second)


def test_apps_added_when_first_seen_get_the_decisions_they_would_have_had_all_along():
    # The warming service adds functions as they appear; that must not change any decision.
    counts = load_trace("sampled-500fn-1day").counts[:40, :300].astype(np.int64)
    memory = np.linspace(64.0, 1024.0, 40)
    tracked = make_predictive_policy()
    tracked.reset(AppProfile(memory_mb=memory, duration_ms=np.full(40, 100.0)))
    growing = make_predictive_policy()
    growing.reset(AppProfile(memory_mb=np.zeros(0), duration_ms=np.zeros(0)))
    order: list[int] = []  # growing's row r is app order[r]
    for t in range(counts.shape[1]):
        loaded, p = tracked.decide_next()
        grown_loaded, grown_p = growing.decide_next()
        np.testing.assert_array_equal(grown_loaded, loaded[order])
        np.testing.assert_allclose(grown_p, p[order])
        new = [int(a) for a in np.flatnonzero(counts[:, t]) if a not in order]
        if new:
            growing.add_apps(memory[new])
            order += new
        tracked.observe(counts[:, t])
        growing.observe(counts[order, t])
    assert len(order) > 20 and tracked.loaded_next().sum() > 0


def test_hazard_counts_open_idle_periods_so_a_long_silence_lowers_the_estimate():
    hazard = IdleTimeHazard(n_apps=2, horizon=100, prior_strength=1.0)
    apps = np.array([0, 1])
    for _ in range(3):  # both apps: three idle times of exactly 4 minutes
        for s in range(1, 5):
            hazard.record(apps, np.array([s, s]), np.array([s == 4, s == 4]))
    for s in range(1, 8):  # app 1 then stays silent for 7 minutes
        hazard.record(np.array([1]), np.array([s]), np.array([False]))
    p = hazard.probability(apps, np.array([4, 4]))
    assert p[0] > 0.7
    assert p[1] < p[0]
    assert hazard.probability(np.array([0]), np.array([2]))[0] < 0.05


def test_config_rejects_bad_knobs_naming_the_field():
    with pytest.raises(ValueError, match="prior_strength"):
        PredictiveConfig(cold_start_usd=0.01, memory_gb_second_usd=1e-5, prior_strength=0)
    with pytest.raises(ValueError, match="horizon_minutes"):
        PredictiveConfig(cold_start_usd=0.01, memory_gb_second_usd=1e-5, horizon_minutes=0)


def test_the_factory_prices_the_policy_from_runtime_settings():
    settings = RuntimeSettings.model_validate(
        {
            "cost": {"cold_start_usd": 0.05},
            "warming": {"keep_alive": {"cost_threshold": 0.0, "max_minutes": 90}},
        }
    )
    policy = make_predictive_policy(settings)
    assert policy.name == "predictive"
    assert policy.config.cold_start_usd == 0.05
    assert policy.config.horizon_minutes == 90
    assert policy.config.cost_threshold_usd_per_hour == 0.0


# Reference figures of the baselines on the bundled day (runtime/data/traces/README.md).
HYBRID_HISTOGRAM_COLD_STARTS = 1554
HYBRID_HISTOGRAM_WASTE_PCT = 172.0


def _bundled_day(cold_start_mb_minutes: float) -> tuple[float, int, float]:
    trace = load_trace("sampled-500fn-1day").by_app()
    profile = app_profile(trace)
    fixed10 = score(trace.counts, replay(trace.counts, profile, FixedKeepAlive(10)), profile.memory_mb)
    ours = score(
        trace.counts, replay(trace.counts, profile, _policy(cold_start_mb_minutes)), profile.memory_mb
    )
    active = ours.invocations > 0
    p75 = float(np.percentile(100 * ours.cold_starts[active] / ours.invocations[active], 75))
    waste_pct = 100 * ours.wasted_memory_mb_minutes.sum() / fixed10.wasted_memory_mb_minutes.sum()
    return p75, int(ours.cold_starts.sum()), float(waste_pct)


def test_on_the_bundled_day_predictive_beats_hybrid_histogram_on_cold_starts_and_memory_at_once():
    _, cold_starts, waste_pct = _bundled_day(cold_start_mb_minutes=20_000.0)
    assert cold_starts < 0.90 * HYBRID_HISTOGRAM_COLD_STARTS  # measured 1200 (population model, fixed price)
    assert waste_pct < 0.80 * HYBRID_HISTOGRAM_WASTE_PCT  # measured 119 %


@pytest.mark.slow
@pytest.mark.parametrize("trace", BUNDLED_TRACES)
@pytest.mark.parametrize("policy", ["predictive", "predictive-deployed"])
def test_at_default_settings_predictive_stays_within_fixed10s_memory_with_no_more_cold_starts_than_hybrid(
    trace, policy
):
    # Issue 11's target, on each bundled trace, for the default policy and for the one-minute-behind
    # policy the warming service runs: the default budget (1.0 x fixed-10's waste) is kept and the cold
    # starts are no more than the ATC'20 hybrid histogram's (which spends 95-172 %). The shipped model
    # is trained on these three traces; docs/warming.md reports the held-out figures beside these.
    report = simulate(load_trace(trace), ["fixed-10", "hybrid-histogram", policy], label=trace)
    ours, hybrid = report.policies[policy], report.policies["hybrid-histogram"]
    assert ours.wasted_memory_vs_fixed10_pct <= 100.0
    assert ours.cold_starts <= hybrid.cold_starts


def test_the_deployed_policy_never_sees_the_minute_just_before_it_decides():
    # As the warming service: minute t-1 is not stored yet when minute t is decided. Changing it may
    # only keep the app invoked in it loaded (Knative keeps its pod), and must change nothing else.
    from runtime.warming.deployed import IngestLagged

    counts = load_trace("sampled-500fn-1day").counts[:40, :300].astype(np.int64)
    altered = counts.copy()
    altered[3, 200] = 0 if counts[3, 200] else 5
    profile = _profile(40)
    deployed = IngestLagged(make_predictive_policy()), IngestLagged(make_predictive_policy())
    first, second = replay(counts, profile, deployed[0]), replay(altered, profile, deployed[1])
    np.testing.assert_array_equal(first[:, :201], second[:, :201])
    others = np.arange(40) != 3
    np.testing.assert_array_equal(first[others, 201], second[others, 201])
    invoked_in_200 = second if altered[3, 200] else first
    assert invoked_in_200[3, 201]
    # From t+1 on the minute is learnt (app 3 is a 10-minute timer: its decisions may well not change).
    learnt = [policy.policy.signals.invocations[3] for policy in deployed]
    assert learnt[1] - learnt[0] == altered[3, 200] - counts[3, 200]


def test_the_deployed_policy_still_catches_a_timer_at_its_tick():
    from runtime.warming.deployed import IngestLagged

    counts = _timer(15, 600, phase=4)
    schedule = replay(counts, _profile(1), IngestLagged(make_predictive_policy()))
    ticks = np.flatnonzero(counts[0])
    assert schedule[0, ticks[ticks > 300]].all()


@pytest.mark.parametrize(
    "knobs",
    [
        {},  # the shipped population model under the default budget
        {"budget": None},
        {"probability_model": ProbabilityModel.HAZARD},
        {"probability_model": ProbabilityModel.CALIBRATED, "refit_every_minutes": 7, "calibration_rows": 1000,
         "calibration_window_minutes": 50},
        {"fine_tune": True, "refit_every_minutes": 5, "calibration_rows": 1000, "calibration_window_minutes": 50},
        {"horizon_minutes": 30},  # a horizon under the hour the rate features look back
    ],
)
def test_the_decision_after_a_silent_minute_is_what_the_policy_decides_after_observing_one(knobs: dict[str, object]):
    # `decide_after_silence` is how the deployed policy decides a minute behind; it must equal advancing a copy of
    # the policy over a silent minute (`decide_ahead`), bit for bit, refits and the budget's price included, and
    # leave the policy as it was (the copy's decision is compared after it, and the replay goes on from it).
    from runtime.warming.deployed import decide_ahead

    counts = load_trace("sampled-500fn-1day").counts[:60, :150].astype(np.int64)
    policy = PredictiveWarming(PredictiveConfig.from_settings(RuntimeSettings()).model_copy(update=knobs))
    rng = np.random.default_rng(0)
    policy.reset(AppProfile(memory_mb=rng.choice([128.0, 256.0, 1024.0], 60), duration_ms=np.full(60, 100.0)))
    loaded_ahead = 0
    for t in range(150):
        decided, _ = policy.decide_next()
        loaded, p = policy.decide_after_silence()
        [(expected_loaded, expected_p)] = decide_ahead(policy, 1, 1)
        np.testing.assert_array_equal(loaded, expected_loaded, err_msg=f"minute {t}")
        np.testing.assert_array_equal(p, expected_p, err_msg=f"minute {t}")
        loaded_ahead += int(loaded.sum())
        policy.observe(counts[:, t], loaded=decided | (rng.random(60) < 0.1))  # warm: not only what it decided
    assert loaded_ahead > 1000  # the comparison is not of empty decisions
