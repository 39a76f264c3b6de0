"""The predictive policy as the warming service can run it: one minute behind its data.

In the simulator the decision for minute t sees every minute before t. The deployed service cannot:
the collector stores minute t-1 about 90 s after it began, so the decision that has an instance up
when minute t starts was made from minutes before t-1. `decide_ahead` is how the service decides
(`runtime.services.warming_policy`): on a throw-away copy of the policy, advanced over the minutes
it has not seen as if they were silent. A function invoked in one of them is warm anyway: Knative
keeps its pod through the autoscaler's stable window, which `IngestLagged` counts as one loaded
(and, if idle, wasted) minute after every invocation minute. `isf simulate` runs it as
`predictive-deployed`, so the figures show what the deployed policy costs, not only the ideal.
"""

from __future__ import annotations

import copy

import numpy as np

from runtime.warming.policy import AppProfile, Counts, Mask, WarmingPolicy
from runtime.warming.predictive import PredictiveWarming
from runtime.warming.signals import Floats


def decide_ahead(policy: PredictiveWarming, unseen_minutes: int, minutes: int) -> list[tuple[Mask, Floats]]:
    """Decisions (loaded, P) for the `minutes` after `unseen_minutes` not yet observed, assumed silent."""
    ahead = copy.deepcopy(policy)
    silent = np.zeros(policy.signals.last.shape[0], dtype=np.int64)
    for _ in range(unseen_minutes):
        ahead.decide_next()  # observe books this decision (a bare observe would compute it again)
        ahead.observe(silent)
    decisions = []
    for k in range(minutes):
        decisions.append(ahead.decide_next())
        if k < minutes - 1:
            ahead.observe(silent)
    return decisions


class IngestLagged(WarmingPolicy):
    """`policy` deciding each minute without the minute just before it, as the warming service does."""

    def __init__(self, policy: PredictiveWarming, name: str = "predictive-deployed"):
        self.policy = policy
        self.name = name

    def reset(self, profile: AppProfile, future: Counts | None = None) -> None:
        del future  # causal
        self.policy.reset(profile)
        self._pending: Counts | None = None  # the minute just ended, not yet stored
        self._pending_loaded: Mask | None = None  # what was warm in it
        self._loaded: Mask = np.zeros(profile.n_apps, dtype=np.bool_)

    def loaded_next(self) -> Mask:
        [(loaded, _)] = decide_ahead(self.policy, 0 if self._pending is None else 1, 1)
        if self._pending is not None:
            loaded = loaded | (self._pending > 0)  # the pod of a just-invoked app is still up
        self._loaded = loaded
        return loaded

    def observe(self, counts: Counts) -> None:
        if self._pending is not None:  # the previous minute is stored now: the policy learns it
            if self.policy.learns:  # what it would have predicted becomes a training row
                self.policy.probability_next()
            self.policy.observe(self._pending, loaded=self._pending_loaded)  # its budget books what was warm
        self._pending = counts.copy()
        self._pending_loaded = self._loaded
