"""`isf import-trace [TRACE]`: load an invocation trace into the store (the guide's historical import)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from runtime.cli.output import fail

# The Azure Functions 2019 trace's first day (its files are numbered d01..d14 from this date).
AZURE_2019_FIRST_DAY = datetime(2019, 7, 15, tzinfo=UTC)
FUNCTIONS_PER_BATCH = 50


def _parse_start(value: str) -> datetime:
    try:
        start = datetime.fromisoformat(value)
    except ValueError as error:
        raise fail(f"--start {value!r} is not an ISO-8601 time: {error}") from None
    return start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)


def import_trace(
    trace: Annotated[
        str,
        typer.Argument(help="bundled trace name, Azure 2019 directory, or Azure 2021 per-invocation file"),
    ] = "sampled-500fn-1day",
    start: Annotated[str, typer.Option(help="UTC time of the trace's minute 1 (ISO-8601)")] = (
        AZURE_2019_FIRST_DAY.isoformat()
    ),
    source: Annotated[str, typer.Option(help="source name the records are stored under")] = "trace",
    include_zeros: Annotated[
        bool, typer.Option("--include-zeros", help="also store minutes without invocations")
    ] = False,
    database_url: Annotated[
        str | None, typer.Option(help="database URL (default: $DATABASE_URL, else the SQLite file)")
    ] = None,
) -> None:
    """Import per-minute counts, durations and memory of a trace; re-importing overwrites, never duplicates."""
    import numpy as np
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from runtime.cli.service_settings import load_service_settings
    from runtime.contract.identifiers import function_id_problem, is_function_id
    from runtime.store import (
        DurationStats,
        FunctionInfo,
        InvocationRecord,
        open_engine,
        record_durations,
        record_invocations,
        upgrade,
        upsert_functions,
    )
    from runtime.traces import PERCENTILES, TraceFormatError, load_trace

    console = Console(stderr=True)
    first = _parse_start(start)
    try:
        loaded = load_trace(trace)
    except (TraceFormatError, OSError) as error:
        raise fail(str(error)) from None  # plain: rich would wrap the path it names
    bad_ids = [f for f in loaded.functions if not is_function_id(f)]
    if bad_ids:
        raise fail(f"{trace}: {len(bad_ids)} function id(s) such as {bad_ids[0]!r} "
                   f"{function_id_problem(bad_ids[0])}")

    engine = open_engine(database_url or load_service_settings().database_url)
    upgrade(engine)
    minute_of = [first + timedelta(minutes=loaded.first_minute - 1 + j) for j in range(loaded.n_minutes)]
    upsert_functions(
        engine,
        [
            FunctionInfo(function_id, trigger.value, float(memory) if memory > 0 else None)
            for function_id, trigger, memory in zip(loaded.functions, loaded.triggers, loaded.memory_mb, strict=True)
        ],
    )
    record_durations(
        engine,
        source,
        [
            DurationStats(function_id, float(average), {f"p{p}": float(v) for p, v in zip(PERCENTILES, row, strict=True)})
            for function_id, average, row in zip(
                loaded.functions, loaded.duration_ms, loaded.duration_percentiles_ms, strict=True
            )
            if average > 0
        ],
    )

    stored = 0
    columns = (TextColumn("[bold]importing"), BarColumn(), MofNCompleteColumn(), TextColumn("functions"),
               TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("import", total=loaded.n_functions)
        for begin in range(0, loaded.n_functions, FUNCTIONS_PER_BATCH):
            rows = range(begin, min(begin + FUNCTIONS_PER_BATCH, loaded.n_functions))
            records = []
            for i in rows:
                duration = float(loaded.duration_ms[i]) or None
                minutes = range(loaded.n_minutes) if include_zeros else np.flatnonzero(loaded.counts[i])
                function_id = loaded.functions[i]
                records.extend(
                    InvocationRecord(function_id, minute_of[j], int(loaded.counts[i, j]), duration) for j in minutes
                )
            stored += record_invocations(engine, source, records)
            progress.advance(task, len(rows))
    engine.dispose()
    console.print(
        f"imported {loaded.n_functions} functions, {stored} per-minute records "
        f"({loaded.n_minutes} minutes from {minute_of[0].isoformat()}) as source {source!r}"
    )


def register(app: typer.Typer) -> None:
    app.command("import-trace")(import_trace)
