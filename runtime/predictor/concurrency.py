"""Expected concurrency from forecast counts: Little's law at minute granularity."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from runtime.predictor.base import Counts


def expected_concurrency(counts: npt.ArrayLike, duration_ms: npt.ArrayLike) -> Counts:
    """Mean instances busy per minute = count x average duration / 60 s (functions x minutes)."""
    per_minute = np.asarray(counts, dtype=np.float64)
    durations = np.asarray(duration_ms, dtype=np.float64)
    if per_minute.ndim != 2:
        raise ValueError(f"counts must be 2-D (functions x minutes), got shape {per_minute.shape}")
    if durations.shape != (per_minute.shape[0],):
        raise ValueError(
            f"duration_ms must hold one average per function ({per_minute.shape[0]}), got shape {durations.shape}"
        )
    if (durations < 0).any() or not np.isfinite(durations).all():
        raise ValueError("duration_ms must be finite and non-negative")
    return per_minute * durations[:, None] / 60_000.0
