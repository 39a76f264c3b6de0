"""Synthetic traces with known structure, for tests and scale benchmarks.

Rows cycle through the requested patterns (row i has `patterns[i % len(patterns)]`), so a test knows
which functions are timers; parameters (period, rate, burstiness) are drawn from `seed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from runtime.traces.trace import PERCENTILES, Trace, Trigger


class Pattern(StrEnum):
    """The arrival processes the generator mixes."""

    TIMER = "timer"  # fires every `period` minutes, like a cron trigger
    POISSON = "poisson"  # memoryless arrivals at a constant rate
    BURSTY = "bursty"  # on/off: Poisson bursts separated by long silences
    DIURNAL = "diurnal"  # Poisson whose rate follows the time of day


def synthetic_trace(
    n_functions: int,
    minutes: int,
    *,
    seed: int = 0,
    patterns: Sequence[Pattern] = tuple(Pattern),
    first_minute: int = 1,
) -> Trace:
    """A trace of `n_functions` rows x `minutes` generated from the given arrival patterns."""
    if n_functions < 1 or minutes < 1:
        raise ValueError(f"n_functions and minutes must be >= 1, got {n_functions} and {minutes}")
    if not patterns:
        raise ValueError("patterns must name at least one Pattern")
    rng = np.random.default_rng(seed)
    kinds = [Pattern(patterns[i % len(patterns)]) for i in range(n_functions)]
    counts = np.zeros((n_functions, minutes), dtype=np.int64)
    t = np.arange(minutes) + first_minute - 1  # minute of the day, 0-based
    for kind, generate in _GENERATORS.items():
        rows = np.array([i for i, k in enumerate(kinds) if k is kind], dtype=np.int64)
        if rows.size:
            counts[rows] = generate(rng, rows.size, t)
    duration_ms = rng.lognormal(mean=np.log(800.0), sigma=1.0, size=n_functions)
    spread = np.array([0.2, 0.3, 0.7, 1.0, 1.4, 4.0, 8.0])[None, :]  # percentile / average, as in Azure
    ids = tuple(f"synthetic-{kinds[i].value}-{i:06d}" for i in range(n_functions))
    return Trace(
        owners=ids,
        apps=ids,
        functions=ids,
        counts=counts,
        first_minute=first_minute,
        duration_ms=duration_ms,
        duration_percentiles_ms=duration_ms[:, None] * spread[:, : len(PERCENTILES)],
        memory_mb=np.round(rng.lognormal(mean=np.log(150.0), sigma=0.6, size=n_functions)),
        triggers=tuple(Trigger.TIMER if k is Pattern.TIMER else Trigger.HTTP for k in kinds),
    )


Matrix = npt.NDArray[np.int64]


def _timer(rng: np.random.Generator, n: int, t: npt.NDArray[np.int64]) -> Matrix:
    period = rng.choice([1, 2, 5, 10, 15, 30, 60], size=n)
    phase = rng.integers(0, period)
    fires = (t[None, :] - phase[:, None]) % period[:, None] == 0
    return fires.astype(np.int64) * rng.integers(1, 4, size=n)[:, None]


def _poisson(rng: np.random.Generator, n: int, t: npt.NDArray[np.int64]) -> Matrix:
    rate = rng.lognormal(mean=np.log(0.5), sigma=1.5, size=n)
    return rng.poisson(rate[:, None], size=(n, t.size)).astype(np.int64)


def _bursty(rng: np.random.Generator, n: int, t: npt.NDArray[np.int64]) -> Matrix:
    # Two-state Markov chain per function: bursts last ~5 minutes, silences ~2 hours.
    p_start, p_stop = 1 / rng.uniform(30, 240, size=n), 1 / rng.uniform(2, 10, size=n)
    on = np.zeros(n, dtype=bool)
    state = np.empty((n, t.size), dtype=bool)
    switch = rng.random((n, t.size))
    for minute in range(t.size):
        on = np.where(on, switch[:, minute] >= p_stop, switch[:, minute] < p_start)
        state[:, minute] = on
    rate = rng.uniform(2, 30, size=n)
    return (rng.poisson(rate[:, None], size=(n, t.size)) * state).astype(np.int64)


def _diurnal(rng: np.random.Generator, n: int, t: npt.NDArray[np.int64]) -> Matrix:
    base = rng.lognormal(mean=np.log(2.0), sigma=1.0, size=n)
    peak = rng.uniform(0, 1440, size=n)
    shape = 1 + 0.9 * np.cos(2 * np.pi * (t[None, :] - peak[:, None]) / 1440)
    return rng.poisson(base[:, None] * shape).astype(np.int64)


_GENERATORS = {
    Pattern.TIMER: _timer,
    Pattern.POISSON: _poisson,
    Pattern.BURSTY: _bursty,
    Pattern.DIURNAL: _diurnal,
}
