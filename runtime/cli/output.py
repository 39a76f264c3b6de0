"""What every `isf` command does the same way: plain one-line errors, and output files whose
folders are created on demand (`--json out/forecast.json` works on a fresh clone)."""

from __future__ import annotations

from pathlib import Path

import typer

USAGE_ERROR = 2


def fail(message: str, code: int = USAGE_ERROR) -> typer.Exit:
    """Print `error: message` as one plain line on stderr; raise the returned Exit (exit status `code`)."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    return typer.Exit(code)


def output_file(path: Path) -> Path:
    """`path`, with its parent folders created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
