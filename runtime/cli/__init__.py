"""`isf`: the platform's command line. Each module registers one group of commands.

Heavy imports (torch, statsmodels, pulumi) happen inside the commands, so `isf --help` stays fast.
"""

import typer

from runtime.cli import forecast_eval, import_trace, models, render, serve, simulate, train_warming

app = typer.Typer(
    name="isf",
    help="Intelligent serverless platform: offline render, trace simulation, forecasting and services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _root() -> None:
    """Keep `isf COMMAND` a command group even while a single command is registered."""


for module in (render, simulate, forecast_eval, import_trace, serve, models, train_warming):
    module.register(app)


def main() -> None:
    app()
