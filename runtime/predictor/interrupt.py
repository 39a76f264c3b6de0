"""Cooperative interruption of a long fit: the caller sets a stop event, the fitting code checks it.

Training the hybrid on thousands of functions takes minutes; a SIGTERM must not wait for it (Kubernetes
kills the pod after terminationGracePeriodSeconds). `interruptible(stop)` makes `check_interrupted()`,
called between functions, chunks, members and LSTM batches, raise `TrainingInterrupted` once `stop` is set.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_stop: ContextVar[threading.Event | None] = ContextVar("isf_training_stop", default=None)


class TrainingInterrupted(Exception):
    """The fit was abandoned because its stop event was set; nothing was registered."""


@contextmanager
def interruptible(stop: threading.Event | None) -> Iterator[None]:
    """Within this block (this thread), `check_interrupted` raises once `stop` is set."""
    token = _stop.set(stop)
    try:
        yield
    finally:
        _stop.reset(token)


def check_interrupted() -> None:
    stop = _stop.get()
    if stop is not None and stop.is_set():
        raise TrainingInterrupted("training interrupted: the service is stopping")
