"""Instance-level warm pools that follow, per app, the sizing rule with the lowest trailing cost.

Rules (all causal, one warm count per app for the coming minute):

- `hold-10`: the instances the last invocation minute needed, for 10 minutes after it: exactly what
  fixed-10 keeps warm at instance level (`runtime.sim.instances.warm_from_loaded`);
- `max-K`: the peak of needed instances over the last K minutes (a keep-alive of K minutes that holds
  the burst's peak, not its last minute);
- `qQ-K`: the Q-quantile of needed instances over the last K minutes (at least 1 while the app was
  invoked in the last 10 minutes): a level for steady apps that does not chase every wiggle;
- `forecast`: the predictive gate with a count forecast sizing the pool (`pool.PredictivePool`).

Every rule's decisions are scored every minute: instances started cold and idle instance-minutes,
both exponentially discounted. Each app follows, among the rules that lately did no worse than
`hold-10` on either count, the one with the lowest `cold_start_weight` x cold + idle (ties and apps
without evidence stay on `hold-10`). Bursty apps end up on a peak rule,
steady ones on a quantile, sparse ones on the gate or hold-10.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from runtime.settings import PoolSettings
from runtime.warming.policy import AppProfile, Counts, PoolPolicy, needed_instances

Ints = npt.NDArray[np.int64]

HOLD_MINUTES = 10
PEAK_WINDOWS = (2, 3, 5, 10)
QUANTILE_WINDOWS = (5, 10, 30)
QUANTILES = (0.5, 0.8, 0.9)
_NEVER = -(10**9)


class TrailingCostPool(PoolPolicy):
    """Per-app online choice among pool sizing rules by discounted cold-start + idle cost."""

    def __init__(self, forecast_pool: PoolPolicy, settings: PoolSettings | None = None, *, name: str = "predictive-pool"):
        self.forecast_pool = forecast_pool
        self.settings = settings or PoolSettings()
        self.name = name
        self.rule_names: tuple[str, ...] = (
            f"hold-{HOLD_MINUTES}",
            *(f"max-{k}" for k in PEAK_WINDOWS),
            *(f"q{q}-{k}" for k in QUANTILE_WINDOWS for q in QUANTILES),
            "forecast",
        )
        self._discount = 0.5 ** (1.0 / self.settings.half_life_minutes)

    def reset(self, profile: AppProfile, future: Counts | None = None) -> None:
        del future  # causal
        self.forecast_pool.reset(profile)
        n = profile.n_apps
        self._duration_ms = profile.duration_ms
        self._t = 0
        self._recent = np.zeros((n, max(*PEAK_WINDOWS, *QUANTILE_WINDOWS)), dtype=np.int64)
        self._last_invoked = np.full(n, _NEVER, dtype=np.int64)
        self._held = np.zeros(n, dtype=np.int64)
        self._cold = np.zeros((n, len(self.rule_names)))
        self._idle = np.zeros((n, len(self.rule_names)))
        self._asked: Ints | None = None

    def rules_next(self) -> Ints:
        """Every rule's warm instances for the coming minute: apps x rules, in `rule_names` order."""
        recent = self._recent
        held = np.where(self._t - self._last_invoked <= HOLD_MINUTES, self._held, 0)
        present = held > 0
        columns = [held]
        columns += [recent[:, -k:].max(axis=1) for k in PEAK_WINDOWS]
        for k in QUANTILE_WINDOWS:
            levels = np.ceil(np.quantile(recent[:, -k:], QUANTILES, axis=1)).astype(np.int64)  # quantiles x apps
            columns += [np.where(present, np.maximum(level, 1), 0) for level in levels]
        columns.append(np.asarray(self.forecast_pool.warm_next(), dtype=np.int64))
        return np.stack(columns, axis=1)

    def chosen(self) -> Ints:
        """Index (into `rule_names`) of the rule each app follows now.

        Only rules whose discounted cold starts and idle minutes are both at most hold-10's are
        eligible, so an app leaves fixed-10's behaviour only for a rule that beat it on both axes lately.
        """
        eligible = (self._cold <= self._cold[:, :1]) & (self._idle <= self._idle[:, :1])
        cost = self.settings.cold_start_weight * self._cold + self._idle
        return np.where(eligible, cost, np.inf).argmin(axis=1)

    def warm_next(self) -> Counts:
        rules = self.rules_next()
        self._asked = rules
        return rules[np.arange(rules.shape[0]), self.chosen()]

    def add_apps(self, duration_ms: npt.NDArray[np.float64]) -> None:
        """More apps, never invoked so far: every rule holds 0 for them and their costs start at 0."""
        n = len(duration_ms)
        self._duration_ms = np.concatenate([self._duration_ms, duration_ms])
        self._recent = np.vstack([self._recent, np.zeros((n, self._recent.shape[1]), dtype=np.int64)])
        self._last_invoked = np.concatenate([self._last_invoked, np.full(n, _NEVER, dtype=np.int64)])
        self._held = np.concatenate([self._held, np.zeros(n, dtype=np.int64)])
        self._cold = np.vstack([self._cold, np.zeros((n, len(self.rule_names)))])
        self._idle = np.vstack([self._idle, np.zeros((n, len(self.rule_names)))])
        self._asked = None
        self.forecast_pool.add_apps(duration_ms)

    def set_durations(self, duration_ms: npt.NDArray[np.float64]) -> None:
        self._duration_ms = np.asarray(duration_ms, dtype=np.float64)
        self.forecast_pool.set_durations(self._duration_ms)

    def observe(self, counts: Counts) -> None:
        needed = needed_instances(np.asarray(counts)[:, None], self._duration_ms)[:, 0]
        if self._asked is not None:
            cold = np.maximum(needed[:, None] - self._asked, 0)
            idle = np.maximum(self._asked - needed[:, None], 0)
            self._cold = self._discount * self._cold + cold
            self._idle = self._discount * self._idle + idle
            self._asked = None
        self.forecast_pool.observe(counts)
        self._recent = np.concatenate([self._recent[:, 1:], needed[:, None]], axis=1)
        invoked = needed > 0
        self._held[invoked] = needed[invoked]
        self._last_invoked[invoked] = self._t
        self._t += 1
