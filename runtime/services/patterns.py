"""What a function's invocation history looks like: idle share, periodicity, inter-arrival times, trend."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

MAX_PERIOD_MINUTES = 720
PERIODIC_AUTOCORRELATION = 0.5
"""A lag whose autocorrelation clears this is reported as the period (a timer's is near 1)."""


@dataclass(frozen=True, slots=True)
class InvocationPatterns:
    """Summary of one function's per-minute counts."""

    minutes: int
    invocations: int
    zero_minutes_share: float
    period_minutes: int | None
    period_autocorrelation: float | None
    inter_arrival_mean_min: float | None
    inter_arrival_median_min: float | None
    inter_arrival_cv: float | None
    trend_per_hour: float
    trend_p_value: float | None


def _period(counts: npt.NDArray[np.float64]) -> tuple[int | None, float | None]:
    centred = counts - counts.mean()
    denominator = float((centred**2).sum())
    max_lag = min(MAX_PERIOD_MINUTES, counts.size // 2)
    if denominator == 0 or max_lag < 2:
        return None, None
    correlations = np.array([(centred[:-lag] * centred[lag:]).sum() / denominator for lag in range(2, max_lag + 1)])
    best = int(np.argmax(correlations))
    if correlations[best] < PERIODIC_AUTOCORRELATION:
        return None, float(correlations[best])
    return best + 2, float(correlations[best])


def analyze(counts: npt.ArrayLike) -> InvocationPatterns:
    """Patterns of one function's per-minute counts (oldest first)."""
    values = np.asarray(counts, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"need at least 2 minutes of counts as a 1-D series, got shape {values.shape}")
    busy = np.flatnonzero(values > 0)
    gaps = np.diff(busy).astype(np.float64)
    period, correlation = _period(values)
    slope = stats.linregress(np.arange(values.size), values) if np.ptp(values) > 0 else None
    return InvocationPatterns(
        minutes=int(values.size),
        invocations=int(values.sum()),
        zero_minutes_share=float(np.mean(values == 0)),
        period_minutes=period,
        period_autocorrelation=correlation,
        inter_arrival_mean_min=float(gaps.mean()) if gaps.size else None,
        inter_arrival_median_min=float(np.median(gaps)) if gaps.size else None,
        inter_arrival_cv=float(gaps.std() / gaps.mean()) if gaps.size else None,
        trend_per_hour=float(slope.slope * 60) if slope is not None else 0.0,  # type: ignore[attr-defined]
        trend_p_value=float(slope.pvalue) if slope is not None else None,  # type: ignore[attr-defined]
    )
