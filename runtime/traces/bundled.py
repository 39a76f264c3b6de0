"""The traces shipped inside the package, so demos and tests need nothing outside the repository."""

from __future__ import annotations

from pathlib import Path

from runtime.traces.azure2019 import load_azure2019
from runtime.traces.azure2021 import load_azure2021
from runtime.traces.errors import TraceFormatError
from runtime.traces.trace import Trace

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "traces"
BUNDLED_TRACES = ("sampled-500fn-1day", "real-500fn-8h", "invitro-busy-1306fn-1day")
DEFAULT_TRACE = BUNDLED_TRACES[0]


def bundled_trace_dir(name: str = DEFAULT_TRACE) -> Path:
    """Directory of a bundled Azure 2019 sample (one of `BUNDLED_TRACES`)."""
    if name not in BUNDLED_TRACES:
        raise ValueError(f"unknown bundled trace {name!r}; one of {list(BUNDLED_TRACES)}")
    return DATA_DIR / "azure-functions-2019" / name


def load_trace(source: str | Path = DEFAULT_TRACE) -> Trace:
    """Load a bundled trace by name, an Azure 2019 directory, or an Azure 2021 per-invocation file."""
    if str(source) in BUNDLED_TRACES:
        return load_azure2019(bundled_trace_dir(str(source)))
    path = Path(source)
    if path.is_dir():
        return load_azure2019(path)
    if path.is_file():
        return load_azure2021(path)
    raise TraceFormatError(path, f"no such trace directory or file (bundled traces: {list(BUNDLED_TRACES)})")
