"""`isf serve NAME [--host H] [--port P]`: run one of the runtime services under uvicorn.

To add a service: a member in `runtime.contract.ServiceRole` and the import path of its app factory in
`FACTORIES`. The factory takes the process's `runtime.api.ServiceSettings` (built here, once, from the
environment and the mounted settings.yaml) and returns the FastAPI app, normally built with
`runtime.api.create_service_app` (which brings /healthz, /readyz, /metrics, JSON logs, 503 on
database outage, background loops). Factories are imported only when their service starts, so `isf --help`
stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from runtime.contract import ServiceRole

if TYPE_CHECKING:
    from fastapi import FastAPI

    from runtime.api.config import ServiceSettings


FACTORIES: dict[ServiceRole, str] = {
    ServiceRole.API: "runtime.api.app:create_api_app",
    ServiceRole.PREDICTOR: "runtime.services.apps:create_predictor_app",
    ServiceRole.WARMING: "runtime.services.apps:create_warming_app",
    ServiceRole.PLACEMENT: "runtime.services.apps:create_placement_app",
}


def _factory(service: ServiceRole) -> Callable[[ServiceSettings], FastAPI]:
    module_name, _, attribute = FACTORIES[service].partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def serve(
    name: Annotated[ServiceRole, typer.Argument(help="which service to run")],
    host: Annotated[str, typer.Option(help="interface to bind")] = "0.0.0.0",
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="TCP port [default: $ISF_HTTP_PORT, else 8080]")
    ] = None,
) -> None:
    """Run a service until SIGTERM (in-flight requests finish first). DATABASE_URL / REDIS_URL configure it."""
    from runtime.api.auth import announce_local_token
    from runtime.api.server import run_service
    from runtime.api.startup import exit_on_startup_failure
    from runtime.cli.service_settings import load_service_settings

    settings = load_service_settings()
    try:
        service = settings.service_name(name)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="NAME") from error
    with exit_on_startup_failure(f"isf serve {name.value}"):  # one line and exit 2, no traceback
        if name is ServiceRole.API:
            announce_local_token(settings)  # local mode: no tokens configured, so one is generated
        app = _factory(name)(settings)
        run_service(app, service, host=host, port=port or settings.http_port, log_level=settings.log_level)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
