"""Loader for the Azure Functions 2019 trace (Shahrad et al., ATC'20) and its vHive/invitro samples.

A trace directory holds three CSVs, either as sampled by invitro (`invocations.csv`, `durations.csv`,
`memory.csv`) or as Microsoft released them (`invocations_per_function_md.anon.d01.csv`,
`function_durations_percentiles.anon.d01.csv`, `app_memory_percentiles.anon.d01.csv`). Minute
headers are `1..1440`, a window such as `480..959`, or `minute_1..minute_1440`; the id columns
(`HashOwner,HashApp,HashFunction`, optionally `Trigger`) may come in any order.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from runtime.traces.errors import TraceFormatError
from runtime.traces.tables import numeric_block, read_table, require_columns, text_column
from runtime.traces.trace import PERCENTILES, Trace, Trigger

ID_COLUMNS = ("HashOwner", "HashApp", "HashFunction")
TRIGGER_COLUMN = "Trigger"
_MINUTE_HEADER = re.compile(r"^(?:minute_)?(\d+)$")
_FILE_NAMES = {
    "invocations": ("invocations.csv", "invocations_per_function_md.anon.d*.csv"),
    "durations": ("durations.csv", "function_durations_percentiles.anon.d*.csv"),
    "memory": ("memory.csv", "app_memory_percentiles.anon.d*.csv"),
}


def load_azure2019(directory: str | Path, *, missing_memory_mb: float | None = None) -> Trace:
    """Load one day of a trace directory; `missing_memory_mb` fills functions absent from memory."""
    root = Path(directory)
    if not root.is_dir():
        raise TraceFormatError(root, "trace directory not found")
    trace = read_invocations(_find(root, "invocations"))
    trace = _with_durations(trace, _find(root, "durations"))
    return _with_memory(trace, _find(root, "memory"), missing_memory_mb)


def read_invocations(path: Path) -> Trace:
    """Parse an invocations file into counts (durations and memory left at zero)."""
    frame = read_table(path, text_columns=(*ID_COLUMNS, TRIGGER_COLUMN))
    require_columns(frame, path, ID_COLUMNS)
    id_columns = {*ID_COLUMNS, TRIGGER_COLUMN}
    minute_of: dict[str, int] = {}
    for column in frame.columns:
        if column in id_columns:
            continue
        match = _MINUTE_HEADER.match(column)
        if match is None:
            raise TraceFormatError(path, "header is neither an id column nor a minute (N or minute_N)",
                                   line=1, column=column)  # fmt: skip
        minute_of[column] = int(match.group(1))
    if not minute_of:
        raise TraceFormatError(path, "no minute columns (expected 1..1440 or minute_1..minute_1440)", line=1)
    ordered = sorted(minute_of, key=minute_of.__getitem__)
    minutes = np.array([minute_of[c] for c in ordered])
    gaps = np.flatnonzero(np.diff(minutes) != 1)
    if gaps.size:
        after = ordered[gaps[0]]
        raise TraceFormatError(path, f"minute columns are not consecutive after {after!r}", line=1,
                               column=ordered[gaps[0] + 1])  # fmt: skip
    counts = numeric_block(frame, path, ordered, integer=True).astype(np.int64)
    owners, apps, functions = (text_column(frame, path, c) for c in ID_COLUMNS)
    keys = pd.Series(list(zip(owners, apps, functions, strict=True)))
    duplicated = keys.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise TraceFormatError(path, "function appears twice", line=row + 2, column="HashFunction")
    triggers: tuple[Trigger, ...] = ()
    if TRIGGER_COLUMN in frame.columns:
        triggers = _triggers(frame, path)
    return Trace(owners, apps, functions, counts, first_minute=int(minutes[0]), triggers=triggers)


def _triggers(frame: pd.DataFrame, path: Path) -> tuple[Trigger, ...]:
    names = text_column(frame, path, TRIGGER_COLUMN)
    known = {t.value for t in Trigger}
    for row, name in enumerate(names):
        if name.lower() not in known:
            raise TraceFormatError(path, f"unknown trigger {name!r} (one of {sorted(known)})",
                                   line=row + 2, column=TRIGGER_COLUMN)  # fmt: skip
    return tuple(Trigger(n.lower()) for n in names)


def _with_durations(trace: Trace, path: Path) -> Trace:
    frame = read_table(path, text_columns=ID_COLUMNS)
    percentile_columns = [f"percentile_Average_{p}" for p in PERCENTILES]
    require_columns(frame, path, (*ID_COLUMNS, "Average", *percentile_columns))
    values = numeric_block(frame, path, ["Average", *percentile_columns], integer=False)
    rows = _rows_for(trace, frame, path, ID_COLUMNS)
    missing = np.flatnonzero(rows < 0)
    if missing.size:
        raise TraceFormatError(path, f"no durations for function {trace.functions[missing[0]]!r} "
                               f"(app {trace.apps[missing[0]]!r})")  # fmt: skip
    return Trace(
        trace.owners, trace.apps, trace.functions, trace.counts, trace.first_minute,
        duration_ms=values[rows, 0], duration_percentiles_ms=values[rows, 1:], triggers=trace.triggers,
    )  # fmt: skip


def _with_memory(trace: Trace, path: Path, missing_memory_mb: float | None) -> Trace:
    frame = read_table(path, text_columns=ID_COLUMNS)
    # The sampled trace gives memory per app; real-500fn-8h per function (the app's split evenly).
    keys = ID_COLUMNS if "HashFunction" in frame.columns else ID_COLUMNS[:2]
    require_columns(frame, path, (*keys, "AverageAllocatedMb"))
    memory = numeric_block(frame, path, ["AverageAllocatedMb"], integer=False)[:, 0]
    rows = _rows_for(trace, frame, path, keys)
    found = rows >= 0
    if not found.all() and missing_memory_mb is None:
        first = int(np.flatnonzero(~found)[0])
        raise TraceFormatError(path, f"no AverageAllocatedMb for app {trace.apps[first]!r} "
                               f"({int((~found).sum())} functions missing; pass missing_memory_mb to fill)")  # fmt: skip
    memory_mb = np.where(found, memory[np.maximum(rows, 0)], missing_memory_mb or 0.0)
    return Trace(
        trace.owners, trace.apps, trace.functions, trace.counts, trace.first_minute,
        trace.duration_ms, trace.duration_percentiles_ms, memory_mb, trace.triggers,
    )  # fmt: skip


def _rows_for(trace: Trace, frame: pd.DataFrame, path: Path, keys: tuple[str, ...]) -> npt.NDArray[np.int64]:
    """For each trace function, the row of `frame` with the same ids (the first, if repeated), or -1."""
    wanted = {"HashOwner": trace.owners, "HashApp": trace.apps, "HashFunction": trace.functions}
    index = pd.Index(_joined([text_column(frame, path, k) for k in keys]))
    first = ~index.duplicated()
    found = np.asarray(index[first].get_indexer(pd.Index(_joined([wanted[k] for k in keys]))), dtype=np.int64)
    return np.where(found >= 0, np.flatnonzero(first)[found], -1)


def _joined(columns: list[tuple[str, ...]]) -> list[str]:
    return ["\x1f".join(ids) for ids in zip(*columns, strict=True)]


def _find(root: Path, kind: str) -> Path:
    exact, pattern = _FILE_NAMES[kind]
    if (root / exact).is_file():
        return root / exact
    matches = sorted(root.glob(pattern))
    if not matches:
        raise TraceFormatError(root / exact, f"no {kind} file (expected {exact} or {pattern})")
    return matches[0]
