"""`isf render`: preview a stack offline (mock engine), writing manifests and the resource inventory.

The program side's `isf` commands; `runtime.cli` finds them through the `isf.commands` entry point group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def render(
    stack: Annotated[str, typer.Option("--stack", "-s", help="stack name: reads Pulumi.<stack>.yaml")],
    out: Annotated[Path, typer.Option("--out", help="where manifests/ and inventory.json go")] = Path("render"),
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="dotted-path override of the stack file, e.g. cloud=gcp (repeatable)"),
    ] = None,
    project_dir: Annotated[Path, typer.Option("--project-dir", help="folder holding Pulumi.yaml")] = Path("."),
) -> None:
    """Run the Pulumi program under the mock engine and write every object and resource it would create."""
    # Pulumi loads only when rendering, so `isf --help` stays fast.
    from rich.console import Console
    from rich.table import Table

    from infra.config import StackConfigError
    from infra.render import render_stack, write_rendered

    console = Console()
    errors = Console(stderr=True)
    try:
        rendered = render_stack(stack, project_dir=project_dir, overrides=list(overrides or []))
    except StackConfigError as error:
        errors.print(f"[bold red]error:[/] {error}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    write_rendered(rendered, out)

    resources = Table(title=f"stack {stack}: {len(rendered.inventory)} resources", show_lines=False)
    resources.add_column("type")
    resources.add_column("count", justify="right")
    for type_, count in rendered.count_by_type().items():
        resources.add_row(type_, str(count))
    console.print(resources)
    charts = Table(title=f"{len(rendered.charts)} Helm charts")
    for column in ("name", "chart", "version", "namespace"):
        charts.add_column(column, overflow="fold")
    for chart in rendered.charts:
        charts.add_row(chart.name, chart.chart, chart.version, chart.namespace)
    console.print(charts)
    config = rendered.config
    console.print(
        f"cloud={config.cloud.value} region={config.region or '-'} kubernetes={config.kubernetes_version} "
        f"ha={config.high_availability}: wrote {len(rendered.manifests)} Kubernetes objects to "
        f"{out / 'manifests'} and {len(rendered.inventory)} resources to {out / 'inventory.json'}"
    )


def register(app: typer.Typer) -> None:
    """Add the program side's commands to `isf`."""
    app.command(name="render")(render)
