"""The predictive policy as the warming service can run it: one minute behind its data.

In the simulator the decision for minute t sees every minute before t. The deployed service cannot:
the collector stores minute t-1 about 90 s after it began, so the decision that has an instance up
when minute t starts was made from minutes before t-1, as if t-1 were silent. A function invoked in
t-1 is warm anyway: Knative keeps its pod through the autoscaler's stable window, which counts as one
loaded (and, if idle, wasted) minute after every invocation minute.

`LaggedFeed` feeds the policy one stored minute at a time and books to its budget what was warm in
it so: the decision made a minute behind (`PredictiveWarming.decide_after_silence`, which changes
nothing, so it costs one decision, not a copy of the policy), or the pod kept after an invoked
minute. `IngestLagged`, what `isf simulate` scores as `predictive-deployed`, and the warming service's
gate (`runtime.services.warming_policy`) both run it, so the figures show what the deployed policy
costs, not only the ideal. `decide_ahead` is how the gate decides the minutes it has no data for yet:
on a throw-away copy of the policy, advanced over them as if they were silent.
"""

from __future__ import annotations

import copy

import numpy as np

from runtime.warming.policy import AppProfile, Counts, Mask, WarmingPolicy
from runtime.warming.predictive import PredictiveWarming
from runtime.warming.signals import Floats


def decide_ahead(policy: PredictiveWarming, unseen_minutes: int, minutes: int) -> list[tuple[Mask, Floats]]:
    """Decisions (loaded, P) for the `minutes` after `unseen_minutes` not yet observed, assumed silent.

    The policy learns nothing from it. With no unseen minute and at most two to decide it is asked directly
    (`decide_next`, then `decide_after_silence`), as a pass of the warming service does once caught up;
    otherwise a throw-away copy is advanced over the silent minutes."""
    if unseen_minutes == 0 and minutes in (1, 2):
        coming = policy.decide_next()
        return [coming] if minutes == 1 else [coming, policy.decide_after_silence()]
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


class LaggedFeed:
    """Feeds `policy` (reset) the stored minutes in order, booking what was warm in each as the deployed service has
    it: the decision made a minute behind its data, or the pod Knative keeps after an invoked minute."""

    def __init__(self, policy: PredictiveWarming):
        self.policy = policy
        # What is warm in the next minute fed; a policy that has seen nothing loads nothing.
        self.warm_next: Mask = np.zeros(policy.signals.last.shape[0], dtype=np.bool_)

    def add_apps(self, memory_mb: Floats) -> None:
        """Start deciding for more apps (`PredictiveWarming.add_apps`), not warm in the next minute fed."""
        self.policy.add_apps(memory_mb)
        self.warm_next = np.concatenate([self.warm_next, np.zeros(len(memory_mb), dtype=np.bool_)])

    def observe(self, counts: Counts) -> Mask:
        """Feed the next minute's counts; returns the policy's decision for it, made from every minute before it."""
        decided, _ = self.policy.decide_next()  # also its calibration row, if the policy learns
        ahead, _ = self.policy.decide_after_silence()  # the next minute, decided while this one is not stored yet
        self.policy.observe(counts, loaded=self.warm_next)
        self.warm_next = ahead | (counts > 0)  # the pod of an app invoked in this minute is still up in the next
        return decided


class IngestLagged(WarmingPolicy):
    """`policy` deciding each minute without the minute just before it, as the warming service does."""

    def __init__(self, policy: PredictiveWarming, name: str = "predictive-deployed"):
        self.policy = policy
        self.name = name

    def reset(self, profile: AppProfile, future: Counts | None = None) -> None:
        del future  # causal
        self.policy.reset(profile)
        self._feed = LaggedFeed(self.policy)

    def loaded_next(self) -> Mask:
        return self._feed.warm_next

    def observe(self, counts: Counts) -> None:
        self._feed.observe(counts)
