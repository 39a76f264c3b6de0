"""`isf serve NAME [--host H] [--port P]`: run one of the runtime services under uvicorn.

To add a service: a member in `runtime.contract.ServiceRole` and the import path of its app factory in
`FACTORIES`. The factory takes a `runtime.api.ServiceConfig` and returns the FastAPI app, normally built with
`runtime.api.create_service_app` (which brings /healthz, /readyz, /metrics, JSON logs, 503 on
database outage). Factories are imported only when their service starts, so `isf --help` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from runtime.contract import ServiceRole

if TYPE_CHECKING:
    from fastapi import FastAPI

    from runtime.api.config import ServiceConfig


FACTORIES: dict[ServiceRole, str] = {
    ServiceRole.API: "runtime.api.app:create_api_app",
    ServiceRole.PREDICTOR: "runtime.services.apps:create_predictor_app",
    ServiceRole.WARMING: "runtime.services.apps:create_warming_app",
    ServiceRole.PLACEMENT: "runtime.services.apps:create_placement_app",
}


def _factory(service: ServiceRole) -> Callable[[ServiceConfig], FastAPI]:
    module_name, _, attribute = FACTORIES[service].partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def serve(
    name: Annotated[ServiceRole, typer.Argument(help="which service to run")],
    host: Annotated[str, typer.Option(help="interface to bind")] = "0.0.0.0",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8080,
) -> None:
    """Run a service until SIGTERM (in-flight requests finish first). DATABASE_URL / REDIS_URL configure it."""
    from pydantic import ValidationError

    from runtime.api.config import ServiceConfig
    from runtime.api.server import run_service

    try:
        config = ServiceConfig()
    except ValidationError as error:
        raise typer.BadParameter(f"invalid service environment: {error}") from error
    app = _factory(name)(config)
    run_service(app, name.value, host=host, port=port, log_level=config.log_level)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
