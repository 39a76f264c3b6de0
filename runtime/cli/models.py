"""Operator commands of the deployment guide: `isf train`, `isf check-model-performance`, `isf analyze-patterns`.

All read DATABASE_URL (an SQLite file by default). Windows end at `--end`, by default just after the
newest stored minute, so imported historical traces work as well as live data.
`check-model-performance` exits 1 when the MAPE of what it checked is above `--mape-alarm` (the
guide's "poor prediction accuracy" symptom: MAPE > 20 %), so it can gate a CI job or a cron alert.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

MAPE_ALARM = 0.20


def _engine(database_url: str | None = None) -> Engine:
    """The migrated store at `database_url`, else at the environment's DATABASE_URL."""
    from runtime.cli.service_settings import load_service_settings
    from runtime.store.engine import open_engine
    from runtime.store.migrate import upgrade

    engine = open_engine(database_url or load_service_settings().database_url)
    upgrade(engine)
    return engine


def _fail(message: str, code: int = 2) -> typer.Exit:
    from runtime.cli.output import fail

    return fail(message, code)


def _window_end(engine: Engine, end: str | None) -> datetime:
    from runtime.services.training import last_stored_minute

    if end is not None:
        try:
            moment = datetime.fromisoformat(end)
        except ValueError:
            raise _fail(f"--end {end!r} is not an ISO-8601 time (e.g. 2024-05-01T12:00Z)") from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).replace(second=0, microsecond=0)
    newest = last_stored_minute(engine)
    if newest is None:
        raise _fail("no invocations are stored; import a trace (`isf import-trace`) or ingest some first")
    return newest + timedelta(minutes=1)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


EndOption = Annotated[str | None, typer.Option("--end", help="window end (ISO-8601); default: after the newest stored minute")]


def train(
    all_functions: Annotated[bool, typer.Option("--all", help="train on every function with stored history")] = False,
    functions: Annotated[list[str] | None, typer.Option("--function", "-f", help="function id (repeatable)")] = None,
    history_window: Annotated[int | None, typer.Option(
        "--history-window", min=3600, help="seconds of history (default: prediction.history_window)")] = None,
    model: Annotated[str | None, typer.Option(
        help="forecaster: naive-last, moving-average, arima, lstm, hybrid, ensemble (default: prediction.forecaster)"
    )] = None,
    holdout_minutes: Annotated[int, typer.Option(min=0, help="score the last N minutes first (0: skip)")] = 60,
    end: EndOption = None,
) -> None:
    """Fit a forecaster on stored history, score it on a holdout, register the version and store forecasts."""
    from rich.console import Console
    from rich.table import Table

    from runtime.cli.service_settings import load_service_settings
    from runtime.predictor import ForecasterName
    from runtime.services.training import NoHistory, forecasts_of, train
    from runtime.store.forecasts import record_forecasts

    if all_functions == bool(functions):
        raise _fail("give either --all or at least one --function")
    service = load_service_settings()
    settings = service.runtime.prediction
    try:
        name = settings.forecaster if model is None else ForecasterName(model)
    except ValueError:
        raise _fail(f"--model {model!r} is not one of {', '.join(m.value for m in ForecasterName)}") from None
    engine = _engine(service.database_url)
    window_end = _window_end(engine, end)
    with _progress(f"training {name.value}") as advance:
        try:
            trained = train(engine, settings, window_end, datetime.now(UTC), model=name, function_ids=functions,
                            window_s=history_window, holdout_minutes=holdout_minutes)
        except (NoHistory, ValueError) as error:
            raise _fail(str(error)) from None
        advance("forecasting and storing")
        predicted, expected = trained.forecaster.forecast_and_expected(settings.horizon_minutes)
        record_forecasts(engine, forecasts_of(engine, trained, predicted, window_end, expected=expected))

    table = Table(title=f"{trained.registered.name} {trained.registered.version}")
    table.add_column("field")
    table.add_column("value", justify="right")
    table.add_row("functions", str(len(trained.function_ids)))
    table.add_row("history", f"{trained.registered.parameters['history_minutes']} min to {window_end.isoformat()}")
    for metric, value in sorted(trained.registered.metrics.items()):
        table.add_row(metric, _percent(value))
    table.add_row("forecasts stored", f"{len(trained.function_ids)} x {settings.horizon_minutes} min")
    Console().print(table)


@contextmanager
def _progress(description: str) -> Iterator[Callable[[str], None]]:
    """A bar with elapsed time on stderr while a long step runs; the caller names each next stage."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=None)  # pulses: the fit reports no steps
        yield lambda stage: progress.update(task, description=stage)


def check_model_performance(
    function: Annotated[str | None, typer.Option("--function", "-f", help="one function (default: all)")] = None,
    window_minutes: Annotated[int, typer.Option(min=1, help="minutes to score, ending at --end")] = 60,
    mape_alarm: Annotated[float, typer.Option(min=0, help="exit 1 above this MAPE (ratio)")] = MAPE_ALARM,
    limit: Annotated[int, typer.Option(min=1, help="functions listed, worst WAPE first")] = 20,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write every score here")] = None,
    end: EndOption = None,
) -> None:
    """WAPE/MAPE of the stored 1-minute-ahead forecasts against what happened."""
    from rich.console import Console
    from rich.table import Table

    from runtime.services.accuracy import stored_accuracy

    engine = _engine()
    window_end = _window_end(engine, end)
    start = window_end - timedelta(minutes=window_minutes)
    per_function, overall = stored_accuracy(engine, start, window_end, None if function is None else [function])
    if overall.minutes == 0:
        raise _fail(f"no stored forecasts cover [{start.isoformat()}, {window_end.isoformat()})"
                    + (f" for function {function!r}" if function else "") + "; run `isf train` first")
    table = Table(title=f"forecast accuracy, {start.isoformat()} to {window_end.isoformat()}")
    worst = sorted(per_function, key=lambda s: -(s.wape if s.wape is not None else -1.0))
    # Ids are never shortened: they are pasted into `isf analyze-patterns --function`.
    id_width = max((len(s.function_id or "") for s in worst[:limit]), default=8)
    table.add_column("function", no_wrap=True, min_width=id_width, overflow="ignore")
    for column in ("minutes", "invocations", "WAPE", "MAPE"):
        table.add_column(column, justify="right")
    for score in [*worst[:limit], overall]:
        table.add_row(score.function_id or "[bold]overall[/]", str(score.minutes), f"{score.invocations:g}",
                      _percent(score.wape), _percent(score.mape))
    # Wider than the terminal if need be (it soft-wraps the lines), so that no id is cut or folded.
    Console(width=max(Console().width, id_width + 60)).print(table)
    if json_out is not None:
        rows: list[dict[str, Any]] = [vars_of(s) for s in [*per_function, overall]]
        from runtime.cli.output import output_file

        output_file(json_out).write_text(json.dumps(rows, indent=2))
    if overall.mape is not None and overall.mape > mape_alarm:
        typer.echo(f"MAPE {_percent(overall.mape)} is above the {_percent(mape_alarm)} alarm: retrain with more "
                   "history (`isf train --history-window 172800`) or check the data (`isf analyze-patterns`)",
                   err=True)
        raise typer.Exit(1)


def vars_of(score: Any) -> dict[str, Any]:
    return {name: getattr(score, name) for name in score.__slots__}


def analyze_patterns(
    function: Annotated[str, typer.Option("--function", "-f", help="the function to analyse")],
    history_window: Annotated[int, typer.Option("--history-window", min=120, help="seconds to analyse")] = 86400,
    end: EndOption = None,
) -> None:
    """Idle share, periodicity, inter-arrival times and trend of a function's stored invocations."""
    from rich.console import Console
    from rich.table import Table

    from runtime.services.patterns import analyze
    from runtime.services.training import NoHistory, history

    engine = _engine()
    window_end = _window_end(engine, end)
    try:
        _, counts = history(engine, window_end, history_window, [function])
    except NoHistory as error:
        raise _fail(str(error)) from None
    patterns = analyze(counts[0])
    table = Table(title=f"{function}: {patterns.minutes} minutes to {window_end.isoformat()}")
    table.add_column("pattern")
    table.add_column("value", justify="right")
    table.add_row("invocations", str(patterns.invocations))
    table.add_row("minutes without invocations", _percent(patterns.zero_minutes_share))
    period = "none" if patterns.period_minutes is None else f"{patterns.period_minutes} min"
    correlation = "-" if patterns.period_autocorrelation is None else f"{patterns.period_autocorrelation:.2f}"
    table.add_row("period (autocorrelation)", f"{period} ({correlation})")

    def minutes(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} min"

    table.add_row("inter-arrival mean / median", f"{minutes(patterns.inter_arrival_mean_min)} / "
                  f"{minutes(patterns.inter_arrival_median_min)}")
    cv = patterns.inter_arrival_cv
    table.add_row("inter-arrival CV", "-" if cv is None else f"{cv:.2f}")
    p_value = "-" if patterns.trend_p_value is None else f"{patterns.trend_p_value:.3g}"
    table.add_row("trend (p-value)", f"{patterns.trend_per_hour:+.3g} invocations/min per hour ({p_value})")
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("check-model-performance")(check_model_performance)
    app.command("analyze-patterns")(analyze_patterns)
