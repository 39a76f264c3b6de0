"""Per-app probability of an invocation in the next minute, given the minutes since the last one.

This is the discrete hazard of each app's idle-time distribution, estimated Kaplan-Meier style:
every minute an app spends s minutes after its last invocation it is "at risk" at s, and an
invocation then is an "event" at s. Open (censored) idle periods count, so long silences lower the
estimate instead of being ignored. Sparse apps borrow strength from a prior pooled over all apps
with similar experience (how many idle times they have completed), so a second invocation is
predicted from how other apps' second invocations arrived. A periodic timer's hazard becomes 1 at
its period and 0 elsewhere after a few periods: that is the phase detection.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
_Array = TypeVar("_Array", bound=npt.NDArray[Any])

_EXPERIENCE_EDGES = (1, 2, 3, 5, 10, 20)
"""Completed idle times at which an app moves to the next prior stratum (0, 1, 2, 3-4, ... 20+)."""
_EXACT_PRIOR_MINUTES = 60
"""The pooled prior keeps 1-minute bins this far; beyond, bins grow geometrically to share data."""
_PRIOR_PSEUDO_EVENTS = 0.005
"""A faint prior on the prior itself, so an empty pooled bin reads as 'rare', not 0/0."""


def grow_rows(array: _Array, count: int, fill: float) -> _Array:
    """`array` with `count` rows of `fill` appended (per-app state for apps that start being tracked)."""
    return cast(_Array, np.concatenate([array, np.full((count, *array.shape[1:]), fill, dtype=array.dtype)]))


def _prior_bins(horizon: int) -> Ints:
    """Map minutes-since-last (0..horizon+1) to pooled-prior bins: exact, then geometric."""
    exact = min(_EXACT_PRIOR_MINUTES, horizon + 1)
    edges = np.unique(
        np.concatenate([np.arange(1, exact + 1), np.geomspace(exact + 1, horizon + 2, 24).astype(np.int64)])
    )
    return np.searchsorted(edges, np.arange(horizon + 2), side="right").astype(np.int64)


class IdleTimeHazard:
    """Vectorised hazard estimates for `n_apps` apps over idle times 1..`horizon` minutes."""

    def __init__(self, n_apps: int, horizon: int, prior_strength: float):
        if horizon < 1:
            raise ValueError(f"hazard horizon must be at least 1 minute, got {horizon}")
        if prior_strength <= 0:
            raise ValueError(f"prior_strength must be positive, got {prior_strength}")
        self.horizon = horizon
        self.prior_strength = prior_strength
        # Column s counts minutes spent s minutes after the last invocation; horizon+1 pools the rest.
        self._at_risk = np.zeros((n_apps, horizon + 2))
        self._events = np.zeros((n_apps, horizon + 2))
        self._completed = np.zeros(n_apps, dtype=np.int64)
        self._bins = _prior_bins(horizon)
        n_bins = int(self._bins.max()) + 1
        n_strata = len(_EXPERIENCE_EDGES) + 1
        self._prior_at_risk = np.zeros((n_strata, n_bins))
        self._prior_events = np.zeros((n_strata, n_bins))

    def add_apps(self, count: int) -> None:
        """Start tracking `count` more apps (appended rows, no experience yet)."""
        self._at_risk, self._events = grow_rows(self._at_risk, count, 0), grow_rows(self._events, count, 0)
        self._completed = grow_rows(self._completed, count, 0)

    def _column(self, since: Ints) -> Ints:
        return np.minimum(since, self.horizon + 1)

    def _strata(self, apps: Ints) -> Ints:
        return np.searchsorted(_EXPERIENCE_EDGES, self._completed[apps], side="right").astype(np.int64)

    def _pooled(self, apps: Ints, since: Ints) -> tuple[Ints, Ints]:
        """Where `apps`, `since` minutes idle, sit in the pooled prior: (experience stratum, idle-time bin)."""
        return self._strata(apps), self._bins[self._column(since)]

    def probability(self, apps: Ints, since: Ints, prior_at_risk: Floats | None = None) -> Floats:
        """P(invocation in the next minute) for `apps`, `since` minutes (>= 1) after their last one;
        `prior_at_risk`: the pooled at-risk minutes to use instead of the recorded ones (`at_risk_after_silence`)."""
        column = self._column(since)
        strata, bins = self._pooled(apps, since)
        pooled_at_risk = self._prior_at_risk if prior_at_risk is None else prior_at_risk
        prior = (self._prior_events[strata, bins] + _PRIOR_PSEUDO_EVENTS) / (pooled_at_risk[strata, bins] + 1.0)
        beta = self.prior_strength
        return (self._events[apps, column] + beta * prior) / (self._at_risk[apps, column] + beta)

    def at_risk(self, apps: Ints, since: Ints) -> Floats:
        """How many minutes each app has already spent `since` minutes idle: the evidence behind its estimate."""
        return self._at_risk[apps, self._column(since)]

    def at_risk_after_silence(self, apps: Ints, since: Ints) -> Floats:
        """The pooled at-risk minutes once `record` has booked a minute in which `apps`, `since` minutes idle, were
        not invoked (this estimator unchanged). A silent minute changes nothing else an app's next estimate reads:
        it books the app's own at-risk minute at `since`, and the next minute asks at `since` + 1."""
        pooled = self._prior_at_risk.copy()
        np.add.at(pooled, self._pooled(apps, since), 1.0)
        return pooled

    def record(self, apps: Ints, since: Ints, invoked: npt.NDArray[np.bool_]) -> None:
        """Add one minute of experience: `apps` were `since` minutes idle and `invoked` or not."""
        column = self._column(since)
        hit = invoked.astype(np.float64)
        self._at_risk[apps, column] += 1.0
        self._events[apps, column] += hit
        strata, bins = self._pooled(apps, since)
        np.add.at(self._prior_at_risk, (strata, bins), 1.0)
        np.add.at(self._prior_events, (strata, bins), hit)
        self._completed[apps[invoked]] += 1
