"""Instance-level pool sizing by trailing cost: never worse than fixed-10 on a bursty series."""

from __future__ import annotations

import numpy as np

from runtime.settings import RuntimeSettings
from runtime.sim.instances import account, replay_pool, warm_from_loaded
from runtime.sim.replay import replay
from runtime.traces import load_trace
from runtime.warming.baselines import FixedKeepAlive
from runtime.warming.instance_pool import TrailingCostPool
from runtime.warming.policy import AppProfile, needed_instances
from runtime.warming.pool import make_predictive_pool


def _bursty(apps: int = 12, minutes: int = 720, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    in_burst = rng.random((apps, minutes)) < 0.08
    in_burst |= np.roll(in_burst, 1, axis=1) | np.roll(in_burst, 2, axis=1)  # bursts last ~3 minutes
    return rng.poisson(np.where(in_burst, 80.0, 0.3)).astype(np.int64)


def _profile(apps: int) -> AppProfile:
    return AppProfile(memory_mb=np.full(apps, 256.0), duration_ms=np.linspace(2_000.0, 30_000.0, apps))


def test_hold_rule_keeps_exactly_what_fixed10_keeps_warm() -> None:
    counts, profile = _bursty(), _profile(12)
    pool = make_predictive_pool()
    pool.reset(profile)
    hold = np.empty_like(counts)
    for t in range(counts.shape[1]):
        hold[:, t] = pool.rules_next()[:, 0]
        pool.warm_next()
        pool.observe(counts[:, t])
    needed = needed_instances(counts, profile.duration_ms)
    np.testing.assert_array_equal(hold, warm_from_loaded(replay(counts, profile, FixedKeepAlive(10)), needed))


def test_on_bursty_validation_apps_it_starts_fewer_instances_cold_and_idles_less_than_fixed10() -> None:
    apps = load_trace("invitro-busy-1306fn-1day").by_app()
    sample = slice(0, apps.n_functions, 10)  # 131 bursty apps, first 12 hours
    counts = apps.counts[sample, :720]
    profile = AppProfile(memory_mb=apps.memory_mb[sample], duration_ms=apps.duration_ms[sample])
    needed = needed_instances(counts, profile.duration_ms)
    fixed10 = account(needed, warm_from_loaded(replay(counts, profile, FixedKeepAlive(10)), needed))
    pool = make_predictive_pool(RuntimeSettings())
    assert isinstance(pool, TrailingCostPool) and pool.name == "predictive-pool"
    ours = account(needed, replay_pool(counts, profile, pool))
    assert ours.cold_starts.sum() <= fixed10.cold_starts.sum()
    assert ours.idle_instance_minutes.sum() <= fixed10.idle_instance_minutes.sum()
    chosen = {pool.rule_names[i] for i in pool.chosen()}
    assert chosen - {"hold-10"}, "bursty apps should leave the fixed-10 rule for a better one"
