"""`isf forecast-eval`: rolling-origin WAPE of every forecaster on a trace's busy functions, against naive-last."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer


def register(app: typer.Typer) -> None:
    app.command("forecast-eval")(forecast_eval)


def forecast_eval(
    trace: Annotated[
        Path | None,
        typer.Option(
            help="Azure Functions 2019 trace directory or bundled trace name (default: sampled-500fn-1day)"
        ),
    ] = None,
    models: Annotated[
        list[str] | None, typer.Option("--model", help="forecaster to score (repeatable; default: all)")
    ] = None,
    holdout_minutes: Annotated[
        int, typer.Option(min=1, help="score the forecasts of the last N minutes")
    ] = 360,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="also write the figures to this JSON file")
    ] = None,
    settings_file: Annotated[
        Path | None,
        typer.Option(
            "--settings", help="runtime settings YAML (default: $ISF_SETTINGS_FILE, else built-in defaults)"
        ),
    ] = None,
) -> None:
    """Score every forecaster 1 and 5 minutes ahead on functions averaging >= 1 invocation/minute.

    Per forecaster and horizon: WAPE, its ratio to naive-last's, and the geometric mean over functions
    of MAE / naive-last's MAE (functions where naive-last's MAE is 0 are left out and counted).
    """
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from runtime.cli.output import fail, output_file
    from runtime.cli.service_settings import runtime_settings
    from runtime.predictor import ForecasterName, make_forecaster
    from runtime.predictor.evaluation import (
        ForecastScore,
        busy_functions,
        relative_score,
        rolling_origin_forecasts,
    )
    from runtime.traces import TraceFormatError, bundled_trace_dir, load_trace

    console = Console()
    source = trace or bundled_trace_dir()
    settings = runtime_settings(settings_file).prediction
    try:
        names = [ForecasterName.NAIVE_LAST, *(ForecasterName(m) for m in models or ForecasterName)]
    except ValueError as error:
        raise fail(f"--model: {error}") from None
    names = list(dict.fromkeys(names))
    try:
        counts = load_trace(source).counts.astype(float)
    except (TraceFormatError, OSError) as error:
        raise fail(str(error)) from None
    busy = busy_functions(counts)
    if not busy.any():
        raise fail(f"--trace: no function in {source} averages >= 1 invocation per minute")
    counts = counts[busy]
    if holdout_minutes > counts.shape[1] - 10:
        raise fail(f"--holdout-minutes {holdout_minutes} must leave at least 10 minutes to fit on; "
                   f"the trace has {counts.shape[1]} minutes")
    ahead: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with Progress(console=console, transient=True) as progress:
        for name in names:
            task = progress.add_task(f"{name.value}", total=holdout_minutes + 4)
            model = make_forecaster(name, settings)
            try:
                ahead[name.value] = rolling_origin_forecasts(
                    model, counts, holdout_minutes, lead=5, on_step=lambda t=task: progress.advance(t)
                )
            except ValueError as error:  # e.g. too little history left before the holdout for the LSTM
                raise fail(f"--holdout-minutes: {name.value}: {error}") from None
    actual = counts[:, -holdout_minutes:]
    naive = ahead[ForecasterName.NAIVE_LAST.value]
    scores: dict[str, ForecastScore] = {name: relative_score(a, naive, actual) for name, a in ahead.items()}

    without = scores[ForecasterName.NAIVE_LAST.value].functions_without_ratio
    table = Table(
        title=f"{int(busy.sum())} busy functions, last {holdout_minutes} minutes of {source}",
        caption=f"geo MAE ratio: geometric mean over functions of MAE / naive-last's MAE ({without} functions"
        " where naive-last's MAE is 0 left out); * the default forecaster (prediction.forecaster)",
    )
    for column in ("model", "WAPE 1 min", "vs naive", "geo MAE ratio", "WAPE 5 min", "vs naive ", "geo MAE ratio "):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, result in scores.items():
        table.add_row(
            name + (" *" if name == settings.forecaster.value else ""),
            f"{result.wape_h1:.1%}",
            f"{result.wape_ratio_h1:.2f}x",
            f"{result.geomean_mae_ratio_h1:.2f}",
            f"{result.wape_h5:.1%}",
            f"{result.wape_ratio_h5:.2f}x",
            f"{result.geomean_mae_ratio_h5:.2f}",
        )
    console.print(table)
    if json_file is not None:
        report = {
            "busy_functions": int(busy.sum()),
            "default": settings.forecaster.value,
            "models": {k: v.model_dump() for k, v in scores.items()},
        }
        output_file(json_file).write_text(json.dumps(report, indent=2) + "\n")
        console.print(f"wrote {json_file}")
