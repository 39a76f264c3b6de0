"""`isf`: the platform's command line. Each module registers one group of commands.

Heavy imports (torch, statsmodels) happen inside the commands, so `isf --help` stays fast. Commands of
other packages (`isf render` from the Pulumi program) register through the `isf.commands` entry point group;
where their package is not installed, as in the runtime image, they are left out.
"""

from importlib.metadata import entry_points

import typer

from runtime.cli import forecast_eval, import_trace, loop, migrate, models, serve, simulate, train_warming

app = typer.Typer(
    name="isf",
    help="Intelligent serverless platform: offline render, trace simulation, forecasting and services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help and errors: typer's rich layout lists a type for every flag (`--help <bool>`),
    # boxes usage errors, and truncates long values; one plain line on stderr is what scripts can read.
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Keep `isf COMMAND` a command group even while a single command is registered."""


def _register_plugins(target: typer.Typer) -> None:
    for entry in entry_points(group="isf.commands"):
        try:
            register = entry.load()
        except ModuleNotFoundError:
            continue  # the metadata names a package this install lacks (the runtime image has no infra/)
        register(target)


_register_plugins(app)
for module in (simulate, forecast_eval, import_trace, serve, models, migrate, train_warming, loop):
    module.register(app)


def main() -> None:
    app()
