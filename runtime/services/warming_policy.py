"""The predictive warming policy kept live from the store, so the service runs what `isf simulate` measures.

The policy (`runtime.warming.predictive`) is an online model over every function's per-minute
invocation counts. On its first pass the warming service replays the stored minutes of the last
`warming.replay_minutes` (from the hour before, so its hourly refits fall on the same minutes as in
the simulator); every later pass feeds it the minutes stored since. Only minutes up to the newest
one stored are fed: ingest lags (the Prometheus collector writes minute m at about m + 1:30), and a
minute fed before it is stored would be learnt as silence for good.

A decision has to be in place before its minute starts, but the minutes since the newest stored one
are not known yet. Each pass therefore decides as if they were silent
(`runtime.warming.deployed.decide_ahead`: a function invoked in them is warm anyway, Knative keeps its
pod through the autoscaler's stable window): once caught up the policy itself decides the current
minute and, without changing, the next after a silent one (`decide_after_silence`); a minute behind,
a throw-away copy advanced over the silent minute does. A function is warm when the policy loads it
in the current minute, or in the next one when no later pass comes before that minute begins (the pass at :30 of a 30 s interval pre-warms the next minute; the one at
:00, with the same data, keeps it and leaves the minute after to the next pass). `isf simulate`
scores this one-minute-behind policy as `predictive-deployed`; `isf loop` measures it on the
simulated cluster. The stored minutes are fed through `LaggedFeed`, the code `predictive-deployed`
runs: the budget books, for each minute, what was warm in it (the decision made a minute behind,
plus the pod Knative keeps after an invoked minute), not the policy's own up-to-date decision, which
would under-count its spend and drift from `predictive-deployed` once the budget moves the price
(12 % over the bundled day).

Pools are sized by the same code `isf simulate` scores as `predictive-pool`
(`runtime.warming.instance_pool.TrailingCostPool`): fed the same stored minutes, it follows per
function whichever sizing rule (hold-10, trailing peaks and quantiles of needed instances, the
forecast) has cost least lately, with the live policy's decisions as its `forecast` rule's gate.
Which functions are warm stays the policy's alone: a function it leaves cold gets no instance, one
it warms gets the pool's size, at least one.

A function that appears is added with no history, as if it had been tracked all along and never
invoked. When no invocation has been stored for `warming.stale_after_minutes`, an ingest outage
cannot be told from silence, so the policy is not asked (the caller falls back to the forecast)
until minutes arrive again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Engine, func, select

from runtime.settings import RuntimeSettings
from runtime.store.invocations import invocation_matrix
from runtime.store.schema import Invocation
from runtime.warming.budget import BudgetController
from runtime.warming.deployed import LaggedFeed, decide_ahead
from runtime.warming.instance_pool import TrailingCostPool
from runtime.warming.policy import AppProfile, Counts, Mask, WarmingPolicy
from runtime.warming.pool import make_predictive_pool
from runtime.warming.predictive import PredictiveWarming, make_predictive_policy

_MINUTE = timedelta(minutes=1)
_READ_MINUTES = 60
"""Stored minutes read per query while catching up: bounds the rows held in memory at once."""
UNKNOWN_DURATION_MS = 1000.0
"""Used until a function's duration is reported: half of all functions average under 1 s (ATC'20)."""


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The policy's decision for one function, for the current minute and the next."""

    loaded_now: bool
    loaded_next: bool
    probability_now: float
    probability_next: float
    covers_next: bool = True
    """Whether this pass decides the next minute (no later pass comes before it begins)."""
    pool: int = 0
    """Warm instances the trailing-cost pool sizes (`TrailingCostPool`), from the minutes stored so far."""
    pool_rule: str = ""
    """The sizing rule it follows for this function now (e.g. `max-5`, `q0.8-30`, `forecast`)."""

    @property
    def loaded(self) -> bool:
        """Keep the function warm: loaded in the current minute, or in the next one this pass decides."""
        return self.loaded_now or (self.covers_next and self.loaded_next)


class _Decided(WarmingPolicy):
    """The live policy's latest decisions, as the gate of the pool's `forecast` rule (it only reads them)."""

    name = "live-predictive"

    def __init__(self) -> None:
        self.loaded: Mask = np.zeros(0, dtype=np.bool_)

    def reset(self, profile: AppProfile, future: Counts | None = None) -> None:
        del future
        self.loaded = np.zeros(profile.n_apps, dtype=np.bool_)

    def loaded_next(self) -> Mask:
        return self.loaded

    def observe(self, counts: Counts) -> None:
        del counts  # the policy observes the minutes itself


class LivePredictiveGate:
    """Advances the predictive policy and its pool sizing minute by minute from the stored invocations."""

    def __init__(self, settings: RuntimeSettings) -> None:
        self._settings = settings
        self._policy: PredictiveWarming | None = None
        self._decided = _Decided()
        self._pool: TrailingCostPool | None = None
        self._index: dict[str, int] = {}
        self._next: datetime | None = None  # the first minute the policy has not yet observed

    @property
    def budget(self) -> BudgetController | None:
        """The live policy's budget controller: its spend, accrued budget and current cold-start price."""
        return None if self._policy is None else self._policy.budget

    @property
    def observed_until(self) -> datetime | None:
        """The first minute not yet fed to the policy (None before the first replay)."""
        return self._next

    def decide(
        self, engine: Engine, now: datetime, memory_mb: Callable[[str], float],
        duration_ms: Callable[[str], float] = lambda _: UNKNOWN_DURATION_MS,
    ) -> dict[str, GateDecision] | None:
        """Each known function's decision for the minute `now` falls in and the next, and its pool size; None
        while ingest is stale."""
        current = now.replace(second=0, microsecond=0)
        warming = self._settings.warming
        with engine.connect() as connection:
            newest = connection.execute(select(func.max(Invocation.minute))).scalar_one_or_none()
        if newest is None or newest < current - warming.stale_after_minutes * _MINUTE:
            return None
        settled = min(newest + _MINUTE, current)  # minutes before this one are stored
        if self._next is None or settled - self._next > warming.replay_minutes * _MINUTE:
            self._restart(settled - warming.replay_minutes * _MINUTE)
        policy, pool = self._observe_until(engine, settled, memory_mb, duration_ms)
        policy.set_memory(np.array([memory_mb(i) for i in self._index]))

        assert self._next is not None
        unseen = max(0, int((current - self._next) / _MINUTE))
        (loaded_now, p_now), (loaded_next, p_next) = decide_ahead(policy, unseen, 2)
        # The next pass runs `interval` from now: if that is before the next minute, it decides that minute.
        covers_next = (now - current).total_seconds() + warming.interval >= 60
        # Sized from the minutes stored so far; its `forecast` rule is gated by this pass's decisions.
        pool.set_durations(np.array([duration_ms(i) for i in self._index], dtype=np.float64))
        self._decided.loaded = loaded_now | (loaded_next & covers_next)
        pools, rules = pool.warm_next(), pool.chosen()
        return {
            function_id: GateDecision(
                bool(loaded_now[row]), bool(loaded_next[row]), float(p_now[row]), float(p_next[row]), covers_next,
                int(pools[row]), pool.rule_names[rules[row]],
            )
            for function_id, row in self._index.items()
        }

    def _observe_until(
        self, engine: Engine, end: datetime, memory_mb: Callable[[str], float], duration_ms: Callable[[str], float]
    ) -> tuple[PredictiveWarming, TrailingCostPool]:
        """Feed the policy and the pool every stored minute from the first unobserved one up to `end` (exclusive),
        as `isf simulate` drives `predictive-pool`: the decision for a minute, then its counts."""
        assert self._policy is not None and self._pool is not None and self._next is not None
        while self._next < end:
            minutes = min(_READ_MINUTES, int((end - self._next) / _MINUTE))
            ids, counts = invocation_matrix(engine, self._next, minutes, invoked_only=True)
            self._add([i for i in ids if i not in self._index], memory_mb, duration_ms)
            rows = np.array([self._index[i] for i in ids], dtype=np.int64)
            for column in range(minutes):
                minute = np.zeros(len(self._index), dtype=np.int64)
                minute[rows] = counts[:, column]
                # The policy books what was warm in this minute as `predictive-deployed` does (`LaggedFeed`); its
                # decision from every minute before this one gates the pool's `forecast` rule for it.
                self._decided.loaded = self._feed.observe(minute)
                self._pool.warm_next()
                self._pool.observe(minute)
            self._next += minutes * _MINUTE
        return self._policy, self._pool

    def _restart(self, start: datetime) -> None:
        empty = AppProfile(memory_mb=np.zeros(0), duration_ms=np.zeros(0))
        self._policy = make_predictive_policy(self._settings)
        self._policy.reset(empty)
        self._feed = LaggedFeed(self._policy)
        self._pool = make_predictive_pool(self._settings, gate=self._decided)
        self._pool.reset(empty)
        self._index = {}
        self._next = start.replace(minute=0)  # refits every `refit_every_minutes` land where the simulator's do

    def _add(self, new_ids: list[str], memory_mb: Callable[[str], float], duration_ms: Callable[[str], float]) -> None:
        if not new_ids:
            return
        assert self._policy is not None and self._pool is not None
        self._feed.add_apps(np.array([memory_mb(i) for i in new_ids], dtype=np.float64))
        self._pool.add_apps(np.array([duration_ms(i) for i in new_ids], dtype=np.float64))
        self._decided.loaded = np.concatenate([self._decided.loaded, np.zeros(len(new_ids), dtype=np.bool_)])
        self._index.update({function_id: len(self._index) + k for k, function_id in enumerate(new_ids)})
