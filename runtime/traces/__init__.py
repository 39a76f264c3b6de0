"""Invocation traces: the Azure 2019 and 2021 loaders and the `Trace` they share."""

from runtime.traces.azure2019 import load_azure2019
from runtime.traces.azure2021 import load_azure2021
from runtime.traces.bundled import BUNDLED_TRACES, bundled_trace_dir, load_trace
from runtime.traces.errors import TraceFormatError
from runtime.traces.trace import PERCENTILES, Trace, Trigger

__all__ = [
    "BUNDLED_TRACES",
    "PERCENTILES",
    "Trace",
    "TraceFormatError",
    "Trigger",
    "bundled_trace_dir",
    "load_azure2019",
    "load_azure2021",
    "load_trace",
]
