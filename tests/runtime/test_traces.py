"""The trace loaders: every Azure header variant, the 2021 format, the generator, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runtime.sim import app_profile
from runtime.traces import (
    TraceFormatError,
    Trigger,
    load_azure2019,
    load_azure2021,
    load_trace,
)
from tests.support.synthetic_trace import Pattern, synthetic_trace

DURATIONS_HEADER = (
    "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,percentile_Average_1,"
    "percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100"
)


def write_trace(root: Path, invocations: str, memory: str | None = None, durations: str | None = None) -> Path:
    """A trace directory with two functions (o/a/f1 and o/b/f2) unless the caller overrides a file."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "invocations.csv").write_text(invocations)
    (root / "durations.csv").write_text(
        durations
        or f"{DURATIONS_HEADER}\no,a,f1,100,5,1,2,10,20,30,40,50,60,70\no,b,f2,6000,5,1,2,1,2,3,4,5,6,7\n"
    )
    (root / "memory.csv").write_text(memory or "HashOwner,HashApp,AverageAllocatedMb\no,a,128\no,b,256\n")
    return root


def test_sampled_day_loads_500_functions_by_1440_minutes_with_durations_and_memory() -> None:
    trace = load_trace("sampled-500fn-1day")
    assert trace.counts.shape == (500, 1440)
    assert trace.counts.dtype == np.int64
    assert trace.first_minute == 1
    # First rows of durations.csv / memory.csv in the bundled files.
    assert trace.duration_ms[0] == 224
    assert trace.memory_mb[0] == 188
    assert trace.duration_percentiles_ms.shape == (500, 7)
    assert app_profile(trace).n_apps == 500


def test_real_8h_trace_keeps_its_minute_window_triggers_and_per_function_memory() -> None:
    trace = load_trace("real-500fn-8h")
    assert trace.counts.shape == (500, 480)
    assert trace.first_minute == 480
    assert Trigger.TIMER in trace.triggers and Trigger.HTTP in trace.triggers
    apps = trace.by_app()
    assert apps.n_functions < trace.n_functions
    assert apps.counts.sum() == trace.counts.sum()
    assert apps.memory_mb.sum() == pytest.approx(trace.memory_mb.sum())


@pytest.mark.parametrize(
    ("header", "first_minute"),
    [
        ("HashOwner,HashApp,HashFunction,1,2,3", 1),
        ("HashFunction,HashOwner,HashApp,minute_1,minute_2,minute_3", 1),
        ("HashApp,Trigger,HashFunction,HashOwner,480,481,482", 480),
    ],
)
def test_every_header_variant_yields_the_same_counts(tmp_path: Path, header: str, first_minute: int) -> None:
    columns = header.split(",")
    ids = {"HashOwner": "o", "HashApp": "a", "HashFunction": "f1", "Trigger": "http"}
    ids2 = {"HashOwner": "o", "HashApp": "b", "HashFunction": "f2", "Trigger": "timer"}
    rows = [
        ",".join(ids.get(c, v) for c, v in zip(columns, [*["x"] * (len(columns) - 3), "0", "4", "1"], strict=True)),
        ",".join(ids2.get(c, v) for c, v in zip(columns, [*["x"] * (len(columns) - 3), "2", "0", "0"], strict=True)),
    ]
    trace = load_azure2019(write_trace(tmp_path, "\n".join([header, *rows]) + "\n"))
    assert trace.first_minute == first_minute
    assert trace.functions == ("f1", "f2")
    np.testing.assert_array_equal(trace.counts, [[0, 4, 1], [2, 0, 0]])
    np.testing.assert_array_equal(trace.memory_mb, [128, 256])
    np.testing.assert_array_equal(trace.duration_ms, [100, 6000])


def test_minute_columns_are_ordered_by_minute_not_by_file_position(tmp_path: Path) -> None:
    root = write_trace(tmp_path, "HashOwner,HashApp,HashFunction,3,1,2\no,a,f1,3,1,2\no,b,f2,0,0,9\n")
    np.testing.assert_array_equal(load_azure2019(root).counts, [[1, 2, 3], [0, 9, 0]])


def test_memory_per_function_is_matched_by_function_when_the_file_has_function_ids(tmp_path: Path) -> None:
    memory = "HashFunction,HashOwner,HashApp,AverageAllocatedMb\nf2,o,b,64\nf1,o,a,32\n"
    root = write_trace(tmp_path, "HashOwner,HashApp,HashFunction,1\no,a,f1,1\no,b,f2,1\n", memory=memory)
    np.testing.assert_array_equal(load_azure2019(root).memory_mb, [32, 64])


@pytest.mark.parametrize(
    ("invocations", "expected"),
    [
        ("HashOwner,HashApp,HashFunction,1,2\no,a,f1,1,x\no,b,f2,0,0\n", r"line 2, column '2': value 'x'"),
        ("HashOwner,HashApp,HashFunction,1,2\no,a,f1,1,1\no,b,f2,0,-3\n", r"line 3, column '2'.*below 0"),
        ("HashOwner,HashApp,HashFunction,1,2\no,a,f1,1,1.5\no,b,f2,0,0\n", r"line 2, column '2'.*not an integer"),
        ("HashOwner,HashApp,HashFunction,1,2\no,a,f1,1\no,b,f2,0,0\n", r"line 2, column '2'.*empty"),
        ("HashOwner,HashApp,HashFunction,1,2\no,a,f1,1,1,7\n", r"line 2.*more fields than the header"),
        ("HashOwner,HashApp,HashFunction,1\no,a,f1,1\no,b,f2,1,7\n", r"line 3.*wrong number of fields"),
        ("HashOwner,HashFunction,1,2\no,f1,1,1\n", r"line 1.*missing header column\(s\) \['HashApp'\]"),
        ("HashOwner,HashApp,HashFunction,1,3\no,a,f1,1,1\n", r"line 1, column '3'.*not consecutive"),
        ("HashOwner,HashApp,HashFunction,1,when\no,a,f1,1,1\n", r"line 1, column 'when'"),
        ("HashOwner,HashApp,HashFunction,Trigger,1\no,a,f1,cron,1\n", r"line 2, column 'Trigger'.*unknown trigger"),
        ("HashOwner,HashApp,HashFunction,1\no,a,f1,1\no,a,f1,2\n", r"line 3.*appears twice"),
        ("HashOwner,HashApp,HashFunction,1\no,,f1,1\n", r"line 2, column 'HashApp'.*empty identifier"),
    ],
)
def test_malformed_invocations_name_the_file_line_and_column(tmp_path: Path, invocations: str, expected: str) -> None:
    root = write_trace(tmp_path, invocations)
    with pytest.raises(TraceFormatError, match=expected) as raised:
        load_azure2019(root)
    assert "invocations.csv" in str(raised.value)


def test_an_app_without_memory_is_an_error_unless_a_fill_value_is_given(tmp_path: Path) -> None:
    memory = "HashOwner,HashApp,AverageAllocatedMb\no,a,128\n"
    root = write_trace(tmp_path, "HashOwner,HashApp,HashFunction,1\no,a,f1,1\no,b,f2,1\n", memory=memory)
    with pytest.raises(TraceFormatError, match=r"memory.csv: no AverageAllocatedMb for app 'b'"):
        load_azure2019(root)
    np.testing.assert_array_equal(load_azure2019(root, missing_memory_mb=99).memory_mb, [128, 99])


def test_a_bad_duration_names_the_durations_file_and_column(tmp_path: Path) -> None:
    durations = f"{DURATIONS_HEADER}\no,a,f1,fast,5,1,2,10,20,30,40,50,60,70\n"
    root = write_trace(tmp_path, "HashOwner,HashApp,HashFunction,1\no,a,f1,1\n", durations=durations)
    with pytest.raises(TraceFormatError, match=r"durations.csv, line 2, column 'Average'"):
        load_azure2019(root)


def test_a_missing_trace_directory_or_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match="nowhere"):
        load_trace(tmp_path / "nowhere")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "invocations.csv").write_text("HashOwner,HashApp,HashFunction,1\no,a,f1,1\n")
    with pytest.raises(TraceFormatError, match=r"durations.csv: no durations file"):
        load_azure2019(tmp_path / "t")


def test_azure_2021_invocations_are_counted_in_the_minute_they_started(tmp_path: Path) -> None:
    path = tmp_path / "AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt"
    path.write_text(
        "app,func,end_timestamp,duration\n"
        "a,f,10.0,1.0\n"  # started 9 s: minute 0
        "a,f,65.0,10.0\n"  # started 55 s: minute 0
        "a,f,190.5,0.5\n"  # minute 3
        "b,g,61.0,0.5\n"  # minute 1
    )
    trace = load_trace(path)
    assert trace.functions == ("f", "g")
    np.testing.assert_array_equal(trace.counts, [[2, 0, 0, 1], [0, 1, 0, 0]])
    np.testing.assert_allclose(trace.duration_ms, [(1.0 + 10.0 + 0.5) / 3 * 1000, 500])
    assert (trace.memory_mb > 0).all()


def test_azure_2021_rejects_a_non_numeric_timestamp_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "inv.txt"
    path.write_text("app,func,end_timestamp,duration\na,f,10.0,1.0\na,f,soon,1.0\n")
    with pytest.raises(TraceFormatError, match=r"inv.txt, line 3, column 'end_timestamp'"):
        load_azure2021(path)


def test_synthetic_timers_fire_exactly_on_their_period_and_seeds_are_reproducible() -> None:
    trace = synthetic_trace(40, 600, seed=7)
    assert trace.counts.shape == (40, 600)
    np.testing.assert_array_equal(trace.counts, synthetic_trace(40, 600, seed=7).counts)
    for row in range(0, 40, len(Pattern)):  # rows cycle through the patterns; TIMER is first
        fired = np.flatnonzero(trace.counts[row])
        assert trace.triggers[row] is Trigger.TIMER
        assert len(set(np.diff(fired))) == 1, f"timer row {row} is not periodic"
    diurnal = trace.counts[3 :: len(Pattern)].sum(axis=0)
    assert diurnal.sum() > 0


def test_synthetic_generator_rejects_an_empty_shape() -> None:
    with pytest.raises(ValueError, match="n_functions and minutes"):
        synthetic_trace(0, 10)
