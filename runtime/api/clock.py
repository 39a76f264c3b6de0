"""The simulated clock a service follows when $ISF_CLOCK names one (`isf loop`), else none.

`SimulatedClock` is a `runtime.api.loop.Clock` (calling it returns the simulated time) and drives a
`PeriodicLoop` in stepped mode: after each pass the loop waits until its next pass is due on the
simulated clock, instead of sleeping wall time (`runtime.cluster_sim.clock.BarrierClock`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from runtime.api.loop import PeriodicLoop

POLL_S = 2.0
"""Longest a wait blocks on the server, so a stopping loop notices within about this long."""


class SimulatedClock:
    """The clock served at `url` (…/isf/v1/clock)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(timeout=POLL_S + 10.0)
        self._lock = threading.Lock()
        self._waiters = threading.local()  # one client per waiting thread, kept: a client costs an SSL context

    def __call__(self) -> datetime:
        with self._lock:
            response = self._client.get(self.url)
        response.raise_for_status()
        return datetime.fromisoformat(response.json()["now"])

    def wait_until(self, loop: str, until: datetime, stop: threading.Event) -> datetime | None:
        """Block until the simulated time reaches `until`; None once `stop` is set."""
        client: httpx.Client | None = getattr(self._waiters, "client", None)
        if client is None:  # waits block for seconds, so each waiting thread has its own connection
            client = self._waiters.client = httpx.Client(timeout=POLL_S + 10.0)
        while not stop.is_set():
            try:
                response = client.post(f"{self.url}/wait",
                                       json={"loop": loop, "until": until.isoformat(), "timeout_s": POLL_S})
                response.raise_for_status()
                body = response.json()
            except httpx.HTTPError:
                stop.wait(0.5)  # the loop's parent is stopping or restarting: retry until told to stop
                continue
            if body["due"]:
                return datetime.fromisoformat(body["now"])
        return None


def simulated_clock(url: str | None) -> SimulatedClock | None:
    """The clock at `url` ($ISF_CLOCK, `ServiceSettings.clock_url`), or None to follow the wall clock."""
    return None if not url else SimulatedClock(url)


def _wait_for(condition: Callable[[], bool], stop: threading.Event, poll_s: float = 0.2) -> bool:
    while not stop.is_set():
        if condition():
            return True
        time.sleep(poll_s)
    return False


class ClockedLoop(PeriodicLoop):
    """A `PeriodicLoop` whose passes fall due on `clock` (simulated seconds) when one is given.

    Stepped, it first waits (wall time) until `may_act()` holds, so no simulated minute goes by with
    the pass skipped for want of the Lease; then it runs a pass at each due time and, between passes,
    waits on the clock: a loop the clock's barrier names holds the clock while its pass runs. One that
    does not (the predictor's) skips the due times the clock passed during a long pass.
    """

    def __init__(self, *args: Any, clock: SimulatedClock | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock
        self._first_after_s = float(kwargs.get("first_pass_after_s", 0.0))

    def _run(self) -> None:
        if self.clock is None:
            super()._run()
            return
        clock = self.clock
        if not _wait_for(self._may_act, self._stop):
            return
        due = clock() + timedelta(seconds=self._first_after_s)
        if self._first_after_s and clock.wait_until(self.name, due, self._stop) is None:
            return
        interval = timedelta(seconds=self.interval_s)
        while not self._stop.is_set():
            self.run_once()
            due += interval
            now = clock.wait_until(self.name, due, self._stop)
            if now is None:
                return
            # A loop that does not hold the clock may find it several intervals on after a long pass: it
            # runs one pass now, not one per interval missed (as PeriodicLoop does on the wall clock).
            due += interval * ((now - due) // interval)
