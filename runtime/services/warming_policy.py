"""The predictive warming policy kept live from the store, so the service runs what `isf simulate` measures.

The policy (`runtime.warming.predictive`) is an online model over every function's per-minute
invocation counts. On its first pass the warming service replays the last `warming.replay_minutes`
stored minutes through it, starting on an hour boundary so that minute t of the replay has the
wall-clock phase the policy's timer signals expect; every later pass feeds it the minutes completed
since, then asks which functions to load in the current minute. A function that appears is added
with no history, exactly as if it had been tracked all along and never invoked. When no invocation
has been stored for `warming.stale_after_minutes`, an ingest outage cannot be told from silence,
so the policy is not asked (the caller falls back to the forecast) until minutes arrive again.
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
from runtime.warming.policy import AppProfile
from runtime.warming.predictive import PredictiveWarming, make_predictive_policy

_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The policy's decision for one function in the current minute."""

    loaded: bool
    probability: float


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class LivePredictiveGate:
    """Advances the predictive policy minute by minute from the stored invocations."""

    def __init__(self, settings: RuntimeSettings) -> None:
        self._settings = settings
        self._policy: PredictiveWarming | None = None
        self._index: dict[str, int] = {}
        self._next: datetime | None = None  # the first minute the policy has not yet observed

    @property
    def observed_until(self) -> datetime | None:
        """The first minute not yet fed to the policy (None before the first replay)."""
        return self._next

    def decide(
        self, engine: Engine, now: datetime, memory_mb: Callable[[str], float]
    ) -> dict[str, GateDecision] | None:
        """Each known function's decision for the minute `now` falls in; None while ingest is stale."""
        current = _floor_minute(now)
        warming = self._settings.warming
        with engine.connect() as connection:
            newest = connection.execute(select(func.max(Invocation.minute))).scalar_one_or_none()
        if newest is None or newest < current - warming.stale_after_minutes * _MINUTE:
            return None
        if self._next is None or current - self._next > warming.replay_minutes * _MINUTE:
            self._restart(current - warming.replay_minutes * _MINUTE)
        assert self._policy is not None and self._next is not None
        minutes = int((current - self._next) / _MINUTE)
        if minutes > 0:
            ids, counts = invocation_matrix(engine, self._next, minutes)
            self._add([i for i in ids if i not in self._index], memory_mb)
            rows = np.array([self._index[i] for i in ids], dtype=np.int64)
            for column in range(minutes):
                minute = np.zeros(len(self._index), dtype=np.int64)
                minute[rows] = counts[:, column]
                self._policy.loaded_next()  # what it would have decided becomes its calibration data
                self._policy.observe(minute)
            self._next = current
        self._policy.set_memory(np.array([memory_mb(i) for i in self._index]))
        loaded, probability = self._policy.decide_next()
        return {
            function_id: GateDecision(bool(loaded[row]), float(probability[row]))
            for function_id, row in self._index.items()
        }

    def _restart(self, start: datetime) -> None:
        self._policy = make_predictive_policy(self._settings)
        self._policy.reset(AppProfile(memory_mb=np.zeros(0), duration_ms=np.zeros(0)))
        self._index = {}
        self._next = start.replace(minute=0)  # minute t of the replay is minute t % 60 of the hour

    def _add(self, new_ids: list[str], memory_mb: Callable[[str], float]) -> None:
        if not new_ids:
            return
        assert self._policy is not None
        self._policy.add_apps(np.array([memory_mb(i) for i in new_ids], dtype=np.float64))
        self._index.update({function_id: len(self._index) + k for k, function_id in enumerate(new_ids)})

