"""Cheap forecasters the ensemble chooses among, all computed at once for every function.

Each reads a newest-last buffer of recent minutes (functions x minutes) and returns functions x
members x horizon. Flat members (last value, moving means and medians, EWMA) repeat one value over
the horizon; a seasonal member of period P forecasts minute t + h by the median of the last `cycles`
observed minutes at the same phase (t + h - jP, j >= 1 with t + h - jP <= t). Timer-triggered
functions repeat every 5 to 60 minutes, so those periods are covered.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

MEAN_WINDOWS = (3, 5, 15, 60)
MEDIAN_WINDOWS = (3, 5, 10, 15, 30, 60)
EWMA_ALPHAS = (0.5, 0.2)
SEASONAL_PERIODS = (5, 10, 15, 30, 60)
SEASONAL_CYCLES = (1, 3, 5)

NAMES: tuple[str, ...] = (
    "last",
    *(f"mean-{k}" for k in MEAN_WINDOWS),
    *(f"median-{k}" for k in MEDIAN_WINDOWS),
    *(f"ewma-{a}" for a in EWMA_ALPHAS),
    *(f"seasonal-{p}x{c}" for p in SEASONAL_PERIODS for c in SEASONAL_CYCLES),
)
"""Member names, in the order `forecasts` stacks them."""

UNBIASED: tuple[bool, ...] = tuple(
    not name.startswith("median-") and not (name.startswith("seasonal-") and not name.endswith("x1")) for name in NAMES
)
"""Which members estimate the mean (last value, means, EWMAs, a single seasonal lag), not a median."""

def buffer_minutes(horizon: int) -> int:
    """Minutes of history `forecasts` reads for the given horizon."""
    longest_seasonal = max(p * (c + (horizon - 1) // p + 1) for p in SEASONAL_PERIODS for c in SEASONAL_CYCLES)
    return max(max(MEAN_WINDOWS), max(MEDIAN_WINDOWS), longest_seasonal)


def ewma_step(state: Floats, minute: Floats) -> Floats:
    """Advance every EWMA (functions x alphas) by one observed minute (functions)."""
    alphas = np.asarray(EWMA_ALPHAS)
    return state + alphas * (minute[:, None] - state)


def forecasts(recent: Floats, ewma: Floats, horizon: int) -> Floats:
    """Every cheap member's forecast: functions x len(NAMES) x horizon.

    `recent` must hold at least `buffer_minutes(horizon)` minutes (callers edge-pad short histories).
    """
    n = recent.shape[0]
    flat = [recent[:, -1]]
    flat += [recent[:, -k:].mean(axis=1) for k in MEAN_WINDOWS]
    flat += [np.median(recent[:, -k:], axis=1) for k in MEDIAN_WINDOWS]
    flat += list(ewma.T)
    out = np.empty((n, len(NAMES), horizon))
    out[:, : len(flat), :] = np.stack(flat, axis=1)[:, :, None]
    column = len(flat)
    width = recent.shape[1]
    for period in SEASONAL_PERIODS:
        for h in range(1, horizon + 1):
            first = -(-h // period)  # the nearest whole cycle back that is already observed
            # Minute t + h - jP sits (jP - h) minutes before the newest, i.e. at column width - 1 - (jP - h).
            offsets = np.array([period * j - h for j in range(first, first + max(SEASONAL_CYCLES))])
            same_phase = recent[:, width - 1 - offsets]  # functions x cycles, nearest first
            for c_index, cycles in enumerate(SEASONAL_CYCLES):
                values = same_phase[:, :cycles]
                out[:, column + c_index, h - 1] = values[:, 0] if cycles == 1 else np.median(values, axis=1)
        column += len(SEASONAL_CYCLES)
    return out
