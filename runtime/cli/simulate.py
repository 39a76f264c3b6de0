"""`isf simulate`: replay a trace through warming policies and compare them (docs/architecture.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_TRACE = "sampled-500fn-1day"


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)


def simulate_command(
    trace: Annotated[
        str,
        typer.Option(help="Azure 2019 trace directory, Azure 2021 invocation file, or a bundled trace name."),
    ] = DEFAULT_TRACE,
    policies: Annotated[
        str | None, typer.Option(help="Comma-separated policy names (any fixed-N too); default: every shipped one.")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the Pareto plot (PNG) here.")] = None,
    settings: Annotated[Path | None, typer.Option(help="Runtime settings YAML (default: $ISF_SETTINGS_FILE, else built-in).")] = None,
) -> None:
    """Replay a trace through warming policies: cold starts vs wasted memory per policy."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from runtime.cli.service_settings import runtime_settings
    from runtime.sim import SHIPPED, make_policy, simulate
    from runtime.sim.pareto import plot_pareto
    from runtime.traces import TraceFormatError, load_trace

    console = Console(width=None if Console().is_terminal else 120)  # pipes and CI logs get the full table
    names = [p.strip() for p in policies.split(",") if p.strip()] if policies else list(SHIPPED)
    try:
        knobs = runtime_settings(settings)
        chosen = [make_policy(name, knobs) for name in names]
        loaded = load_trace(trace)
    except (TraceFormatError, ValueError, OSError) as error:
        from runtime.cli.output import fail

        raise fail(str(error)) from None

    with Progress(
        TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    ) as bars:  # fmt: skip
        tasks = {p.name: bars.add_task(p.name, total=loaded.n_minutes) for p in chosen}
        report = simulate(
            loaded,
            chosen,
            settings=knobs,
            label=Path(trace).name,
            progress=lambda name, done, total: bars.update(tasks[name], completed=done),
        )
    console.print(_table(report))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(report.model_dump_json(indent=2) + "\n")
        console.print(f"wrote {json_path}")
    if plot is not None:
        console.print(f"wrote {plot_pareto(report, plot)}")


def _table(report):
    from rich.table import Table

    table = Table(title=f"{report.trace}: {report.apps} apps x {report.minutes} minutes")
    for header in ("policy", "p75 cold %", "cold starts", "wasted MB·min", "vs fixed-10",
                   "inst. cold", "idle inst·min", "s"):  # fmt: skip
        table.add_column(header, justify="left" if header == "policy" else "right")
    for name, r in report.policies.items():
        table.add_row(
            name, f"{r.p75_cold_start_pct:.1f}", f"{r.cold_starts:,}", f"{r.wasted_memory_mb_minutes:,.0f}",
            f"{r.wasted_memory_vs_fixed10_pct:.0f} %", f"{r.instance_cold_starts:,}", f"{r.instance_idle_minutes:,}",
            f"{r.seconds:.1f}",
        )  # fmt: skip
    return table
