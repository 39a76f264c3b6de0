"""`isf import-trace`: a trace's counts, durations and memory land in the store, idempotently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from runtime.cli import app
from runtime.store import average_durations, get_function, invocations_between

IDS = "HashOwner,HashApp,HashFunction"


def write_trace(directory: Path) -> Path:
    """Two functions over minutes 1..3 in the Azure 2019 layout."""
    directory.mkdir()
    (directory / "invocations.csv").write_text(f"{IDS},Trigger,1,2,3\no,a,timer-fn,timer,1,0,1\no,b,http-fn,http,0,4,2\n")
    percentiles = ",".join(f"percentile_Average_{p}" for p in (0, 1, 25, 50, 75, 99, 100))
    (directory / "durations.csv").write_text(
        f"{IDS},Average,Count,Minimum,Maximum,{percentiles}\n"
        "o,a,timer-fn,100,2,90,110,90,90,95,100,105,110,110\n"
        "o,b,http-fn,20,6,10,30,10,10,15,20,25,30,30\n"
    )
    (directory / "memory.csv").write_text("HashOwner,HashApp,SampleCount,AverageAllocatedMb\no,a,5,256\no,b,5,128\n")
    return directory


def test_importing_a_trace_stores_its_nonzero_minutes_durations_and_memory(engine: Engine, database_url: str,
                                                                           tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "trace")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    args = ["import-trace", str(trace), "--start", "2024-01-01T00:00:00Z", "--database-url", database_url]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "imported 2 functions, 4 per-minute records" in result.output
    rows = invocations_between(engine, "http-fn", start, start + timedelta(minutes=3))
    assert [(r.minute - start, r.count, r.source, r.duration_ms_avg) for r in rows] == [
        (timedelta(minutes=1), 4, "trace", 20.0),
        (timedelta(minutes=2), 2, "trace", 20.0),
    ]
    timer = get_function(engine, "timer-fn")
    assert timer is not None and (timer.trigger, timer.memory_mb) == ("timer", 256.0)
    assert average_durations(engine) == {"timer-fn": 100.0, "http-fn": 20.0}

    again = CliRunner().invoke(app, [*args, "--include-zeros"])
    assert again.exit_code == 0 and "6 per-minute records" in again.output
    rows = invocations_between(engine, "http-fn", start, start + timedelta(minutes=3))
    assert [r.count for r in rows] == [0, 4, 2]  # zeros added, nothing doubled


def test_a_malformed_trace_is_reported_with_its_file_and_exit_code_2(database_url: str, tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "trace")
    (trace / "invocations.csv").write_text(f"{IDS},Trigger,1,2\no,a,f,timer,1,lots\n")
    result = CliRunner().invoke(app, ["import-trace", str(trace), "--database-url", database_url])
    assert result.exit_code == 2
    assert "invocations.csv" in result.output


def test_a_bad_start_time_is_refused_naming_the_option(database_url: str, tmp_path: Path) -> None:
    trace = write_trace(tmp_path / "trace")
    result = CliRunner().invoke(app, ["import-trace", str(trace), "--start", "noon", "--database-url", database_url])
    assert result.exit_code != 0 and "--start" in result.output
