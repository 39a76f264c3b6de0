"""Warming by budget: the typed setting, fixed-10's counterfactual spend, and the price controller."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.settings import BudgetKind, RuntimeSettings, WarmingBudget
from runtime.sim.replay import app_profile, replay, score
from runtime.traces import load_trace
from runtime.traces.bundled import BUNDLED_TRACES
from runtime.warming.baselines import FixedKeepAlive
from runtime.warming.budget import BudgetController
from runtime.warming.deployed import IngestLagged
from runtime.warming.policy import AppProfile
from runtime.warming.predictive import PredictiveConfig, PredictiveWarming, make_predictive_policy

MEMORY_GB_SECOND_USD = 0.0000166667


def _workload(apps: int = 80, minutes: int = 2880, seed: int = 5) -> np.ndarray:
    """Poisson apps of spread rates plus a few timers with jitter: something to spend memory on."""
    rng = np.random.default_rng(seed)
    rates = np.exp(rng.uniform(np.log(0.005), np.log(0.3), size=(apps, 1)))
    counts = (rng.random((apps, minutes)) < rates).astype(np.int64)
    for app in range(0, apps, 8):
        counts[app] = 0
        ticks = np.arange(rng.integers(0, 30), minutes, rng.choice([15, 30, 45]))
        counts[app, np.clip(ticks + rng.integers(-1, 2, ticks.size), 0, minutes - 1)] = 1
    return counts


def _run(
    counts: np.ndarray, budget: WarmingBudget, cold_start_usd: float = 0.02
) -> tuple[PredictiveWarming, np.ndarray, np.ndarray]:
    memory = np.linspace(64.0, 1024.0, counts.shape[0])
    config = PredictiveConfig(cold_start_usd=cold_start_usd, memory_gb_second_usd=MEMORY_GB_SECOND_USD, budget=budget)
    policy = PredictiveWarming(config)
    loaded = replay(counts, AppProfile(memory_mb=memory, duration_ms=np.full(counts.shape[0], 100.0)), policy)
    return policy, loaded, memory


def test_the_setting_validates_its_kind_and_value_and_converts_units():
    assert RuntimeSettings().warming.budget == WarmingBudget(kind=BudgetKind.RELATIVE_TO_FIXED10, value=1.0)
    with pytest.raises(ValueError, match="value"):
        WarmingBudget(value=0)
    with pytest.raises(ValueError, match="kind"):
        RuntimeSettings.model_validate({"warming": {"budget": {"kind": "euros", "value": 1}}})
    assert WarmingBudget(kind=BudgetKind.MB_MINUTES_PER_DAY, value=1440).mb_minutes_per_minute(1e-5) == 1.0
    assert WarmingBudget(kind=BudgetKind.GB_HOURS_PER_DAY, value=1).mb_minutes_per_minute(1e-5) == pytest.approx(
        1024 * 60 / 1440
    )
    # 1 USD a day buys 1 / (price per MB-minute) MB-minutes a day.
    per_minute = WarmingBudget(kind=BudgetKind.USD_PER_DAY, value=1.0).mb_minutes_per_minute(MEMORY_GB_SECOND_USD)
    assert per_minute == pytest.approx(1 / (MEMORY_GB_SECOND_USD * 60 / 1024) / 1440)
    assert WarmingBudget().mb_minutes_per_minute(MEMORY_GB_SECOND_USD) is None


def test_fixed10s_counterfactual_spend_is_what_the_simulator_charges_fixed10():
    trace = load_trace("sampled-500fn-1day").by_app()
    counts, profile = trace.counts, app_profile(trace)
    controller = BudgetController(
        WarmingBudget(), cold_start_usd=0.02, memory_gb_second_usd=MEMORY_GB_SECOND_USD, n_apps=counts.shape[0]
    )
    nothing = np.zeros(counts.shape[0], dtype=np.bool_)
    for t in range(counts.shape[1]):
        controller.record(nothing, counts[:, t], profile.memory_mb)
    fixed10 = score(counts, replay(counts, profile, FixedKeepAlive(10)), profile.memory_mb)
    assert controller.budget_mb_minutes == pytest.approx(fixed10.wasted_memory_mb_minutes.sum())
    assert controller.spend_mb_minutes == 0.0
    assert controller.cold_start_usd > 0.02  # spending nothing of the budget makes cold starts dearer


def test_the_controller_converges_to_an_absolute_budget_on_a_synthetic_workload():
    counts = _workload()
    pace = 3000.0  # MB-minutes a minute: well inside what a 240-minute keep-alive would spend
    policy, loaded, memory = _run(counts, WarmingBudget(kind=BudgetKind.MB_MINUTES_PER_DAY, value=pace * 1440))
    wasted = ((loaded & (counts == 0)) * memory[:, None]).sum(axis=0)
    assert policy.budget is not None
    assert policy.budget.spend_mb_minutes == pytest.approx(wasted.sum())
    second_half = wasted[counts.shape[1] // 2 :].mean()
    assert second_half == pytest.approx(pace, rel=0.10)
    assert wasted.sum() == pytest.approx(pace * counts.shape[1], rel=0.10)


def test_a_lower_budget_spends_less_and_buys_fewer_warm_minutes():
    counts = _workload()
    spent, cold = [], []
    for value in (0.5, 1.0, 2.0):
        _, loaded, memory = _run(counts, WarmingBudget(value=value))
        spent.append(float(((loaded & (counts == 0)) * memory[:, None]).sum()))
        cold.append(int((~loaded & (counts > 0)).sum()))
    assert spent[0] < spent[1] < spent[2]
    assert cold[0] > cold[1] > cold[2]
    fixed10 = score(counts, replay(counts, _profile(counts), FixedKeepAlive(10)), _memory(counts))
    reference = float(fixed10.wasted_memory_mb_minutes.sum())
    for value, spend in zip((0.5, 1.0, 2.0), spent, strict=True):
        assert spend == pytest.approx(value * reference, rel=0.10)


def _cumulative_ratio(counts: np.ndarray, loaded: np.ndarray, profile: AppProfile) -> np.ndarray:
    """Per minute: the policy's wasted memory so far / fixed-10's so far."""
    fixed10 = replay(counts, profile, FixedKeepAlive(10))
    spent, reference = (np.cumsum(((s & (counts == 0)) * profile.memory_mb[:, None]).sum(axis=0)) for s in (loaded, fixed10))
    return spent / np.maximum(reference, 1e-9)


@pytest.mark.parametrize("cold_start_usd", [0.0067, 0.06])
def test_the_budget_holds_from_the_second_hour_when_the_starting_price_is_three_times_off(cold_start_usd):
    # The proportional term moves the price at once: with the integral alone (the previous controller)
    # the starting price 3x too high had spent 143 % of the budget by hour 2 (0.02 spends about 100 %).
    counts = _workload()
    _, loaded, _ = _run(counts, WarmingBudget(), cold_start_usd=cold_start_usd)
    ratio = _cumulative_ratio(counts, loaded, _profile(counts))
    assert 0.9 <= ratio[119:].min() and ratio[119:].max() <= 1.15
    assert ratio[-1] <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("trace", BUNDLED_TRACES)
@pytest.mark.parametrize("deployed", [False, True], ids=["predictive", "predictive-deployed"])
def test_at_default_settings_the_budget_holds_at_every_minute_from_the_second_hour(trace, deployed):
    # docs/warming.md, budget pacing: the cumulative spend / fixed-10's cumulative waste, measured at
    # most 103 % from hour 2 on and 101 % from hour 3 on (both policies, the three traces; 105 % and
    # 103 % with the two-term error); the integral-only controller spent 140 % by hour 2 on the
    # bundled day (predictive-deployed).
    apps = load_trace(trace).by_app()
    counts, profile = apps.counts, app_profile(apps)
    policy = make_predictive_policy()
    loaded = replay(counts, profile, IngestLagged(policy) if deployed else policy)
    ratio = _cumulative_ratio(counts, loaded, profile)
    assert ratio[119:].max() <= 1.10
    assert ratio[179:].max() <= 1.05
    assert ratio[-1] <= 1.0


def _memory(counts: np.ndarray) -> np.ndarray:
    return np.linspace(64.0, 1024.0, counts.shape[0])


def _profile(counts: np.ndarray) -> AppProfile:
    return AppProfile(memory_mb=_memory(counts), duration_ms=np.full(counts.shape[0], 100.0))
