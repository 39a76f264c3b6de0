"""Loader for the Azure Functions 2021 per-invocation trace (`app,func,end_timestamp,duration`).

Each row is one invocation: its end time and duration in seconds from the start of the trace. An
invocation is counted in the minute it started, giving the same per-minute `Trace` as the 2019 data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from runtime.traces.errors import TraceFormatError
from runtime.traces.tables import numeric_block, read_table, require_columns, text_column
from runtime.traces.trace import PERCENTILES, Trace

COLUMNS = ("app", "func", "end_timestamp", "duration")
MAX_TRACE_SECONDS = 31 * 24 * 3600
"""The longest trace binned (the 2021 trace spans 14 days); a later timestamp is a malformed cell."""
MEDIAN_APP_MEMORY_MB = 150.0
"""ATC'20 reports a median app allocation of about 150 MB; the 2021 trace records no memory."""


def load_azure2021(path: str | Path, *, memory_mb: float = MEDIAN_APP_MEMORY_MB) -> Trace:
    """Bin invocations into per-minute counts per (app, func); every app is given `memory_mb`."""
    file = Path(path)
    frame = read_table(file, text_columns=("app", "func"))
    require_columns(frame, file, COLUMNS)
    if frame.empty:
        raise TraceFormatError(file, "no invocation rows")
    apps = np.array(text_column(frame, file, "app"), dtype=object)
    funcs = np.array(text_column(frame, file, "func"), dtype=object)
    end, duration = numeric_block(
        frame, file, ["end_timestamp", "duration"], integer=False, maximum=MAX_TRACE_SECONDS
    ).T
    started = end - duration
    if (started < 0).any():
        row = int(np.flatnonzero(started < 0)[0])
        raise TraceFormatError(file, "duration is longer than end_timestamp (started before the trace)",
                               line=row + 2, column="duration")  # fmt: skip
    minute = (started // 60).astype(np.int64)
    keys = pd.MultiIndex.from_arrays([apps, funcs])
    codes, uniques = pd.factorize(keys)
    n_functions, n_minutes = len(uniques), int(minute.max()) + 1
    counts = np.bincount(codes * n_minutes + minute, minlength=n_functions * n_minutes)
    per_function = pd.Series(duration * 1000.0).groupby(codes)
    quantiles = per_function.quantile(np.array(PERCENTILES) / 100).unstack()
    percentiles = np.asarray(quantiles, dtype=np.float64)
    app_ids = tuple(str(a) for a, _ in uniques)
    return Trace(
        owners=app_ids,
        apps=app_ids,
        functions=tuple(str(f) for _, f in uniques),
        counts=counts.reshape(n_functions, n_minutes).astype(np.int64),
        first_minute=1,
        duration_ms=np.asarray(per_function.mean(), dtype=np.float64),
        duration_percentiles_ms=percentiles,
        memory_mb=np.full(n_functions, memory_mb),
    )
