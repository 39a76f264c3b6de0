"""Start-up failures a service cannot recover from, reported as one line on stderr and a non-zero exit.

A service that cannot start (database unreachable, an unusable DATABASE_URL, no Kubernetes cluster for
a controller, its port taken) must say so in one line an operator can act on, not a traceback, and
exit before it starts any loop (`kubectl logs` of a crash-looping pod shows the last lines only).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_STARTUP_FAILURE = 2


class StartupError(Exception):
    """The service cannot start; the message is the one line to print."""


@contextmanager
def exit_on_startup_failure(command: str) -> Iterator[None]:
    """Turn a `StartupError` raised inside into `<command>: <message>` on stderr and exit 2."""
    try:
        yield
    except StartupError as error:
        print(f"{command}: {error}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_STARTUP_FAILURE) from None
