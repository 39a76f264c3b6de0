"""The simulated clock `isf loop` drives, with a barrier so the run is deterministic.

Services reach it over HTTP (`runtime.api.clock.SimulatedClock`, through $ISF_CLOCK): they read the
time from it, and each background loop, after a pass, waits until its next pass is due. The loops
named `barrier` hold the clock: it advances only while every one of them is waiting, so a pass never
overlaps a clock step and every pass due at time T runs (and finishes) at T. Other loops (the
predictor's, whose retraining takes seconds of CPU) follow the clock without holding it.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime


class BarrierClock:
    """Simulated UTC time; `advance_to` wakes the loops due, `wait_idle` waits for their passes to end."""

    def __init__(self, start: datetime, barrier: frozenset[str]) -> None:
        self._now = start
        self.barrier = barrier
        self._waiting: dict[str, datetime] = {}  # barrier loops blocked in wait(), by their due time
        self._condition = threading.Condition()

    @property
    def now(self) -> datetime:
        with self._condition:
            return self._now

    def wait(self, loop: str, until: datetime, timeout_s: float) -> tuple[datetime, bool]:
        """Block until the clock reaches `until` (at most `timeout_s`); returns (now, due)."""
        deadline = time.monotonic() + timeout_s
        with self._condition:
            if loop in self.barrier:
                self._waiting[loop] = until
                self._condition.notify_all()
            while self._now < until:
                left = deadline - time.monotonic()
                if left <= 0:
                    return self._now, False
                self._condition.wait(left)
            self._waiting.pop(loop, None)  # advance_to already did, unless it was due on arrival
            self._condition.notify_all()
            return self._now, True

    def next_due(self) -> datetime | None:
        """The earliest time a waiting barrier loop is due (None while none waits)."""
        with self._condition:
            return min(self._waiting.values(), default=None)

    def advance_to(self, when: datetime) -> None:
        """Move the clock to `when` (never back); the barrier loops due then count as running."""
        with self._condition:
            self._now = max(self._now, when)
            for loop, until in list(self._waiting.items()):
                if until <= self._now:
                    del self._waiting[loop]
            self._condition.notify_all()

    def wait_idle(self, timeout_s: float, alive: threading.Event | None = None) -> bool:
        """Wait until every barrier loop is waiting for a time after now (its passes due now are done)."""
        deadline = time.monotonic() + timeout_s
        with self._condition:
            while not (set(self._waiting) >= self.barrier and all(u > self._now for u in self._waiting.values())):
                left = deadline - time.monotonic()
                if left <= 0 or (alive is not None and not alive.is_set()):
                    return False
                self._condition.wait(min(left, 0.5))
            return True

    def advance_through(self, target: datetime, timeout_s: float, alive: threading.Event | None = None) -> bool:
        """Advance to `target`, stopping at every barrier loop's due time before it, each pass finished."""
        while True:
            due = self.next_due()
            step = target if due is None or due >= target else due
            self.advance_to(step)
            if not self.wait_idle(timeout_s, alive):
                return False
            if step >= target:
                return True
