"""Run a pass every interval in a background thread; stopping waits for the pass in progress."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from opentelemetry import trace
from opentelemetry.trace import StatusCode, Tracer
from prometheus_client import CollectorRegistry

from runtime.contract import metrics

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
"""Returns the current time (timezone-aware); tests pass a fixed or stepping clock."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class LoopMetrics:
    """Pass timings, failures, last success and leadership per loop, registered once per registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.seconds = metrics.CONTROL_PASS_SECONDS.histogram(registry)
        self.failures = metrics.CONTROL_PASS_FAILURES.counter(registry)
        self.last_success = metrics.CONTROL_LAST_SUCCESS.gauge(registry)
        self.leading = metrics.CONTROL_LEADER.gauge(registry)


class PeriodicLoop:
    """Calls `action` now and then every `interval_s` seconds while `may_act()` holds.

    A pass that raises is logged and counted, and the loop goes on: a database or API outage must
    not end the service, and the next pass retries. Each pass is a trace span (a no-op unless the
    service turned tracing on), so its SQL and Kubernetes calls show up under it in Jaeger.
    """

    def __init__(
        self,
        name: str,
        interval_s: float,
        action: Callable[[], object],
        metrics: LoopMetrics,
        *,
        may_act: Callable[[], bool] | None = None,
        tracer: Tracer | None = None,
        first_pass_after_s: float = 0.0,
        stop_event: threading.Event | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        """`first_pass_after_s`: wait that long before the first pass; `stop_event`: set by `stop` (share it with
        a long action that checks it, e.g. training); `on_stop`: runs after the last pass (release a Lease)."""
        if interval_s <= 0:
            raise ValueError(f"loop {name!r}: interval_s must be positive, got {interval_s}")
        self.name = name
        self.interval_s = interval_s
        self._action = action
        self._metrics = metrics
        self._may_act = may_act or (lambda: True)
        self._tracer = tracer or trace.get_tracer(__name__)
        self._first_pass_after_s = first_pass_after_s
        self._stop = stop_event or threading.Event()
        self._on_stop = on_stop
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """One pass if allowed; True when it ran and succeeded."""
        leading = self._may_act()
        self._metrics.leading.labels(self.name).set(1 if leading else 0)
        if not leading:
            return False
        started = time.perf_counter()
        with self._tracer.start_as_current_span(f"{self.name} pass", attributes={"isf.loop": self.name}) as span:
            try:
                self._action()
            except Exception as error:
                # Caught here, so the span would not see it: record it for the trace view as well.
                span.record_exception(error)
                span.set_status(StatusCode.ERROR, f"{type(error).__name__}: {error}")
                self._metrics.failures.labels(self.name).inc()
                log.exception("control pass failed; retrying next interval", extra={"loop": self.name})
                return False
            finally:
                self._metrics.seconds.labels(self.name).observe(time.perf_counter() - started)
        self._metrics.last_success.labels(self.name).set(time.time())
        return True

    def _run(self) -> None:
        if self._first_pass_after_s:
            self._stop.wait(self._first_pass_after_s)
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"loop-{self.name}", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Ask the loop to stop and wait for the pass in progress to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("control pass still running at shutdown", extra={"loop": self.name})
        if self._on_stop is not None:
            self._on_stop()
