"""`isf loop --trace DIR|NAME`: the four services as processes, replaying a trace on a simulated cluster.

The parent process holds the simulated cluster and clock (`runtime/cluster_sim/loop.py`), starts
`isf serve api|predictor|warming|placement`, replays the trace's minutes through POST
/v1/invocations and shows cold starts, warm memory and cost live against fixed-10 on the same
minutes; at the end a summary table with `isf simulate`'s `predictive-deployed` on the same window.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runtime.traces.bundled import DEFAULT_TRACE

if TYPE_CHECKING:
    from rich.table import Table

    from runtime.cluster_sim.loop import LoopReport


def loop_command(
    trace: Annotated[str, typer.Option(help="Azure 2019 trace directory or a bundled trace name.")] = DEFAULT_TRACE,
    minutes: Annotated[int, typer.Option(min=1, help="Minutes of the trace to replay.")] = 120,
    start_minute: Annotated[int, typer.Option(min=0, help="First minute of the window (0-based).")] = 0,
    speed: Annotated[
        float, typer.Option(min=0, help="Trace minutes per wall minute (0: as fast as the services go).")
    ] = 60.0,
    functions: Annotated[int | None, typer.Option(min=1, help="Only the trace's first N functions.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the report as JSON here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write cumulative cold starts and waste (PNG) here.")] = None,
    workdir: Annotated[Path | None, typer.Option(help="Keep the store, kubeconfig and service logs here.")] = None,
) -> None:
    """Run the control loop end to end on a simulated cluster and measure it against fixed-10."""
    from rich.console import Console
    from rich.live import Live

    from runtime.cli.output import fail, output_file
    from runtime.cli.service_settings import runtime_settings
    from runtime.cluster_sim.loop import LoopConfig, LoopError, run_loop
    from runtime.traces import TraceFormatError, load_trace

    console = Console(width=None if Console().is_terminal else 120)
    try:
        settings = runtime_settings(None)
        loaded = load_trace(trace)
    except (TraceFormatError, ValueError, OSError) as error:
        raise fail(str(error)) from None
    config = LoopConfig(trace=Path(trace).name, minutes=minutes, start_minute=start_minute, speed=speed,
                        functions=functions, workdir=workdir)
    live = Live(console=console, auto_refresh=False, transient=False) if console.is_terminal else None

    def progress(done: int, report: LoopReport, outcome: object) -> None:
        del outcome
        if live is not None and (done % 5 == 0 or done == minutes):
            live.update(_table(report, done), refresh=True)

    try:
        if live is not None:
            live.start()
        report = run_loop(config, loaded, settings=settings, progress=progress,
                          on_started=lambda url: console.print(f"services up; simulated cluster at {url}"))
    except KeyboardInterrupt:
        raise fail("interrupted: every service was stopped", code=130) from None
    except (LoopError, ValueError) as error:
        raise fail(str(error)) from None
    finally:
        if live is not None:
            live.stop()
    console.print(_table(report, minutes))
    console.print(f"{minutes} trace minutes in {report.wall_seconds:.1f} s wall"
                  f" ({report.trace_minutes_per_wall_minute:.1f} trace minutes per wall minute)")
    if json_path is not None:
        output_file(json_path).write_text(json.dumps(report.to_json(), indent=2) + "\n")
        console.print(f"wrote {json_path}")
    if plot is not None:
        console.print(f"wrote {_plot(report, output_file(plot))}")


def _table(report: LoopReport, done: int) -> Table:
    series = report.series
    from rich.table import Table

    table = Table(title=f"isf loop: {report.trace}, {report.functions} functions,"
                        f" minute {report.start_minute + done} of {report.start_minute}..{report.start_minute + report.minutes}")
    for column in ("", "cold starts", "wasted memory (MB-min)", "cost (USD)", "warm memory now (MB)"):
        table.add_column(column, justify="right")
    i = done - 1
    if i < 0:
        return table
    settings_cost = report.loop.cost_usd
    table.add_row("loop (measured)", f"{report.loop.cold_starts:,}", f"{report.loop.wasted_mb_minutes:,.0f}",
                  f"{settings_cost:.4f}", f"{series['warm_mb'][i]:,.0f}")
    if done >= report.minutes:
        for name, totals in (("predictive-deployed (isf simulate)", report.predictive_deployed),
                             ("fixed-10 (same minutes)", report.fixed_10)):
            table.add_row(name, f"{totals.cold_starts:,}", f"{totals.wasted_mb_minutes:,.0f}", f"{totals.cost_usd:.4f}", "")
        diff = report.comparison
        table.add_row("loop vs predictive-deployed", f"{diff['cold_starts_pct']}%", f"{diff['wasted_memory_pct']}%", "", "")
    else:
        table.add_row("fixed-10 (same minutes)", f"{series['fixed10_cold_starts'][i]:,.0f}",
                      f"{series['fixed10_wasted_mb_minutes'][i]:,.0f}", "", "")
    return table


def _plot(report: LoopReport, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = report.series
    minutes = [report.start_minute + k for k in range(len(series["cold_starts"]))]
    figure, (cold, waste) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label in (("cold_starts", "isf loop (measured)"), ("deployed_cold_starts", "predictive-deployed (sim)"),
                       ("fixed10_cold_starts", "fixed-10")):
        cold.plot(minutes, series[key], label=label)
    for key, label in (("wasted_mb_minutes", "isf loop (measured)"),
                       ("deployed_wasted_mb_minutes", "predictive-deployed (sim)"),
                       ("fixed10_wasted_mb_minutes", "fixed-10")):
        waste.plot(minutes, series[key], label=label)
    cold.set(title="cumulative cold starts", xlabel="trace minute")
    waste.set(title="cumulative wasted memory (MB-minutes)", xlabel="trace minute")
    cold.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def register(app: typer.Typer) -> None:
    app.command("loop")(loop_command)
