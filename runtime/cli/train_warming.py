"""`isf train-warming`: fit the population probability model on the bundled traces and write its artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("train-warming")(train_warming_command)


def train_warming_command(
    out: Annotated[Path | None, typer.Option(help="Where to write the artifact (default: the shipped one).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the row sampling and of the networks.")] = 0,
) -> None:
    """Train the warming policy's population model (same data and seed, same weights on one machine)."""
    from rich.console import Console

    from runtime.traces.bundled import BUNDLED_TRACES
    from runtime.warming.population import ARTIFACT_PATH
    from runtime.warming.population_training import train

    console = Console()
    model = train(BUNDLED_TRACES, seed=seed)
    target = out or ARTIFACT_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(model.to_json())
    console.print(
        f"wrote {target}: {len(model.members)} members on {len(model.feature_names)} features,"
        f" {model.training['rows']:,} rows"
    )
