"""Reading CSV tables so that every malformed cell is reported by file, line and column."""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from runtime.traces.errors import TraceFormatError

_PANDAS_LINE = re.compile(r"line (\d+)")
MAX_INTEGER = 2**53
"""The largest integer cell accepted: counts are read as float64, which holds integers exactly up to 2**53."""


def read_table(path: Path, *, text_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Read a headed CSV; `text_columns` stay strings, the rest are inferred (checked later)."""
    if not path.is_file():
        raise TraceFormatError(path, "file not found")
    try:
        with warnings.catch_warnings():
            # pandas only warns when every data row is longer than the header; treat it as the error it is.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            # Blank lines are kept (as empty rows) so that data row i is always file line i + 2.
            frame = pd.read_csv(
                path, dtype=dict.fromkeys(text_columns, str), skip_blank_lines=False, index_col=False, engine="c"
            )
    except pd.errors.ParserWarning:
        raise TraceFormatError(path, "row has more fields than the header", line=_first_ragged_line(path)) from None
    except pd.errors.EmptyDataError:
        raise TraceFormatError(path, "file is empty (a header row is required)") from None
    except pd.errors.ParserError as error:
        found = _PANDAS_LINE.search(str(error))
        raise TraceFormatError(
            path, f"row has the wrong number of fields ({error})", line=int(found.group(1)) if found else None
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise TraceFormatError(path, f"duplicate header column(s) {duplicated}", line=1)
    return frame


def require_columns(frame: pd.DataFrame, path: Path, columns: Iterable[str]) -> None:
    """Fail naming every required header column that is absent."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TraceFormatError(path, f"missing header column(s) {missing}; found {list(frame.columns)[:8]}…", line=1)


def text_column(frame: pd.DataFrame, path: Path, column: str) -> tuple[str, ...]:
    """A column of non-empty identifiers."""
    values = frame[column]
    empty = values.isna() | (values.astype(str).str.strip() == "")
    if empty.any():
        raise TraceFormatError(path, "empty identifier", line=_line(empty), column=column)
    return tuple(values.astype(str).str.strip())


def numeric_block(
    frame: pd.DataFrame,
    path: Path,
    columns: list[str],
    *,
    integer: bool,
    minimum: float = 0.0,
    maximum: float | None = None,
) -> npt.NDArray[np.float64]:
    """Rows x columns of finite numbers in [`minimum`, `maximum`] (integers <= `MAX_INTEGER` when `integer`)."""
    if maximum is None and integer:
        maximum = MAX_INTEGER
    block = frame[columns]
    if not all(pd.api.types.is_numeric_dtype(block[c]) for c in columns):
        block = block.apply(pd.to_numeric, errors="coerce")
    values = block.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    reason = "is empty or not a number"
    if not bad.any() and integer:
        bad = values != np.round(values)
        reason = "is not an integer"
    if not bad.any():
        bad = values < minimum
        reason = f"is below {minimum:g}"
    if not bad.any() and maximum is not None:
        bad = values > maximum
        reason = f"is above {maximum:.0f}" if integer else f"is above {maximum:g}"
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raw = frame[columns[col]].iloc[row]
        raise TraceFormatError(path, f"value {_cell(raw)} {reason}", line=int(row) + 2, column=columns[col])
    return values


def _cell(raw: object) -> str:
    """A cell as its file spelled it: `-5`, `'x'`, `''`; never numpy's `np.int64(-5)`."""
    if isinstance(raw, np.generic):
        raw = raw.item()
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return "''"
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < MAX_INTEGER:
        return str(int(raw))
    return repr(raw) if isinstance(raw, str) else str(raw)


def _line(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0]) + 2


def _first_ragged_line(path: Path) -> int | None:
    with path.open(newline="") as handle:
        rows = csv.reader(handle)
        width = len(next(rows, []))
        for number, row in enumerate(rows, start=2):
            if row and len(row) != width:
                return number
    return None
