"""The one error every trace loader raises for malformed input."""

from __future__ import annotations

from pathlib import Path


class TraceFormatError(ValueError):
    """A trace file is malformed; says which file, line (1-based, header = 1) and column."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None, column: str | None = None):
        self.path = Path(path)
        self.line = line
        self.column = column
        where = str(self.path)
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")
