"""`isf render`, `isf diff`, `isf urns`, `isf gitops`: the program offline (mock engine), for people and for CI.

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
    policy: Annotated[
        bool, typer.Option("--policy", help="also run the CrossGuard pack's checks over the render; exit 1 on a violation")
    ] = False,
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
    if policy:
        import sys

        # policy/ is the CrossGuard pack's folder, not an installed package (as in policy/__main__.py).
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from policy.pack import render_violations

        found = render_violations(rendered)
        for resource_type, name, violation in found:
            errors.print(f"[bold red]policy {violation.rule}:[/] {resource_type} {name}: {violation.message}",
                         markup=True, highlight=False, soft_wrap=True)
        console.print(f"policy: {len(found)} violations")
        if found:
            raise typer.Exit(code=1)


def diff(
    stack: Annotated[str, typer.Option("--stack", "-s", help="stack name: reads Pulumi.<stack>.yaml")],
    base: Annotated[str, typer.Option("--base", help="git ref to compare the working tree with, e.g. origin/main")],
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="dotted-path override applied to both sides, e.g. cloud=gcp (repeatable)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of Markdown")] = False,
    project_dir: Annotated[Path, typer.Option("--project-dir", help="folder holding Pulumi.yaml")] = Path("."),
) -> None:
    """Render the stack at --base (in a temporary git worktree) and in the working tree; print what changes."""
    import json

    from infra.config import StackConfigError
    from infra.diff import DiffError, diff_stack

    try:
        result = diff_stack(stack, base, project_dir=project_dir, overrides=list(overrides or []))
    except (DiffError, StackConfigError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(json.dumps(result.to_json(), indent=2, sort_keys=True) if as_json else result.markdown(), nl=False)


def urns(
    write: Annotated[bool, typer.Option("--write", help="record today's URNs (after a deliberate change)")] = False,
    project_dir: Annotated[Path, typer.Option("--project-dir", help="folder holding Pulumi.yaml")] = Path("."),
) -> None:
    """Check (or with --write, record) every stack variant's resource URNs under infra/recorded_urns/."""
    from infra.urns import RECORDED_DIR, check_recorded, write_recorded

    if write:
        for label, count in write_recorded(project_dir).items():
            typer.echo(f"{label:20} {count:4} URNs -> {RECORDED_DIR / (label + '.txt')}")
        return
    lost = check_recorded(project_dir)
    for label, missing in lost.items():
        typer.echo(f"{label:20} {'ok' if not missing else f'{len(missing)} URNs would be replaced'}")
        for urn in missing:
            typer.echo(f"    {urn}")
    if any(lost.values()):
        typer.echo("Give each renamed resource aliases=[...] naming its old URN, or run isf urns --write "
                   "if the replacement is deliberate.", err=True)
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add the program side's commands to `isf`."""
    app.command(name="render")(render)
    app.command(name="diff")(diff)
    app.command(name="urns")(urns)
