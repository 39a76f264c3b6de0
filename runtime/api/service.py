"""What every runtime service shares: /healthz, /readyz, /metrics, request metrics and JSON access logs,
database errors answered as 503 + Retry-After, background loops, and the engine / hot state in a `ServiceContext`.

A service is `create_service_app(name, settings, routers=[...], loops=...)`; its endpoints reach the context
with `ContextDep` and the settings with `SettingsDep`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    generate_latest,
)
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.api.auth import check_every_route_is_guarded, guard_for
from runtime.api.config import ServiceSettings
from runtime.api.docs import serve_docs_offline
from runtime.api.limits import compact_validation_response
from runtime.api.loop import PeriodicLoop
from runtime.api.startup import StartupError
from runtime.api.tracing import instrument_service
from runtime.contract import metrics
from runtime.state.hot_state import HotState
from runtime.store.engine import POOL_SIZE, DatabaseUrlError, open_engine
from runtime.store.errors import is_database_outage, is_write_conflict
from runtime.store.migrate import upgrade

log = logging.getLogger("runtime.api")


@dataclass
class ServiceContext:
    """Everything a request handler needs, built once per process."""

    name: str
    settings: ServiceSettings
    engine: Engine
    hot_state: HotState
    registry: CollectorRegistry
    database_up: Gauge
    readiness_checks: dict[str, Callable[[], tuple[bool, str]]] = field(default_factory=dict)
    """Service-specific readiness (name -> (ready, detail)) that /readyz reports beside the database."""


BuildLoops = Callable[[ServiceContext], Sequence[PeriodicLoop]]
"""Builds a service's background loops once it has started (migrations done); they stop before it exits."""


async def service_context(request: Request) -> ServiceContext:
    """FastAPI dependency: the running service's context (async: no thread-pool hop for an attribute read)."""
    return request.app.state.context


async def service_settings(request: Request) -> ServiceSettings:
    """FastAPI dependency: the settings the service was started with."""
    return request.app.state.context.settings


ContextDep = Annotated[ServiceContext, Depends(service_context)]
SettingsDep = Annotated[ServiceSettings, Depends(service_settings)]


class DatabaseUnavailable(Exception):
    """Raised by handlers that detect the database is down; answered like an OperationalError."""


class _RequestMetrics:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware): counts, latencies and one access log line."""

    def __init__(self, app: ASGIApp, *, service: str, registry: CollectorRegistry) -> None:
        self._app = app
        self._service = service
        self._requests = metrics.HTTP_REQUESTS.counter(registry)
        self._latency = metrics.HTTP_REQUEST_DURATION.histogram(registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, capture)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")  # the template, to bound label cardinality
            self._requests.labels(self._service, scope["method"], route, str(status)).inc()
            self._latency.labels(self._service, scope["method"], route).observe(elapsed)
            if route not in ("/healthz", "/metrics"):
                log.info(
                    "request",
                    extra={"method": scope["method"], "path": scope["path"], "status": status,
                           "duration_ms": round(elapsed * 1000, 2)},
                )


def create_service_app(
    name: str,
    settings: ServiceSettings,
    *,
    routers: Sequence[APIRouter] = (),
    description: str = "",
    loops: BuildLoops | None = None,
) -> FastAPI:
    """A FastAPI app with the shared endpoints, middleware and error handling, plus `routers`.

    The loops `loops` builds run from start-up until shutdown, which waits for the pass in progress.
    """
    context = open_context(name, settings)
    startup = ServiceStartup(context, loops)
    app = FastAPI(title=f"isf {name}", description=description, version="1", lifespan=_lifespan(startup))
    app.state.context = context
    app.state.startup = startup
    app.state.guard = guard_for(context.hot_state, tokens_dir=settings.api_tokens_dir,
                                local_token_file=settings.local_token_file,
                                per_minute=settings.api_requests_per_minute)
    serve_docs_offline(app)  # /docs with Swagger UI's assets served locally: no CDN, works offline
    app.add_middleware(_RequestMetrics, service=name, registry=context.registry)
    instrument_service(app, context.engine, name)  # OTLP spans when OTEL_EXPORTER_OTLP_ENDPOINT is set
    _answer_errors(app, context)
    _serve_probes_and_metrics(app, context)
    for router in routers:
        app.include_router(router)
    check_every_route_is_guarded(app)  # a route that names no scope fails here, not in production
    return app


def open_context(name: str, settings: ServiceSettings) -> ServiceContext:
    """The engine, hot state and metrics registry of a service (no connection is made yet)."""
    registry = CollectorRegistry()
    try:
        engine = open_engine(settings.database_url)
    except DatabaseUrlError as error:
        raise StartupError(str(error)) from None
    return ServiceContext(
        name=name,
        settings=settings,
        engine=engine,
        hot_state=HotState.from_url(
            settings.redis_url, registry, cluster=settings.redis_cluster, prefix=settings.redis_prefix
        ),
        registry=registry,
        database_up=metrics.DATABASE_UP.gauge(registry),
    )


class ServiceStartup:
    """Migrations, then the loops built (not started): once, before uvicorn serves or in the lifespan.

    `isf serve` prepares before it hands the bound socket to uvicorn, so a failure is one line and an
    exit before any loop runs; a test client prepares in the lifespan. Failures are `StartupError`s.
    """

    def __init__(self, context: ServiceContext, build_loops: BuildLoops | None) -> None:
        self.context, self._build_loops = context, build_loops
        self.loops: list[PeriodicLoop] | None = None

    def prepare(self) -> list[PeriodicLoop]:
        if self.loops is None:
            try:
                _start(self.context)
            except (OperationalError, PoolTimeoutError) as error:
                url = self.context.engine.url.render_as_string(hide_password=True)
                raise StartupError(f"database unreachable at {url}: {_first_line(error)}") from None
            self.loops = list(self._build_loops(self.context)) if self._build_loops is not None else []
            log.info("service started", extra={
                "database": self.context.engine.url.render_as_string(hide_password=True),
                "redis": "configured" if self.context.hot_state.configured else "disabled"})
        return self.loops


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _lifespan(startup: ServiceStartup) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loops = startup.prepare()
        # One request thread per pooled connection: extra threads only queue on the pool or open overflow
        # connections (a forked PostgreSQL backend each), which turned any stall into a 200 ms read tail.
        to_thread.current_default_thread_limiter().total_tokens = POOL_SIZE
        for loop in loops:
            loop.start()
        try:
            yield
        finally:
            log.info("service stopping: in-flight requests finished, closing connections")
            await asyncio.gather(*(asyncio.to_thread(loop.stop) for loop in loops))
            startup.context.engine.dispose()

    return lifespan


def _start(context: ServiceContext) -> None:
    if context.settings.migrate_on_start:
        upgrade(context.engine)
    # Start-up objects (~150k) live for the whole process; frozen, a full collection skips them instead of
    # stalling every request for ~100 ms (it set the forecast read API's p99 with Redis down).
    gc.collect()
    gc.freeze()


def _answer_errors(app: FastAPI, context: ServiceContext) -> None:
    """Database outages as 503 + Retry-After (nothing written), other database errors as 500, invalid bodies 422."""
    retry_after = str(context.settings.retry_after_s)

    async def database_error(_: Request, error: Exception) -> Response:
        if is_write_conflict(error):  # a deadlock victim after the store's retries: not an outage
            return JSONResponse(
                {"detail": "conflicted with a concurrent write; nothing was written, retry"},
                status_code=409,
                headers={"Retry-After": "1"},
            )
        if is_database_outage(error):
            context.database_up.set(0)
            log.warning("database unavailable", extra={"error": str(error).splitlines()[0]})
            return JSONResponse(
                {"detail": "database unavailable, nothing was written; retry later"},
                status_code=503,
                headers={"Retry-After": retry_after},
            )
        log.error("database error", exc_info=error)
        return JSONResponse({"detail": "internal database error"}, status_code=500)

    for error_type in (DBAPIError, PoolTimeoutError, DatabaseUnavailable):
        app.add_exception_handler(error_type, database_error)

    async def invalid_request(_: Request, error: Exception) -> Response:
        # Short (a few fields, no bulk echo of the input) and ASCII-escaped: FastAPI's own handler echoes the
        # whole input as UTF-8 and fails (500) on lone surrogates.
        assert isinstance(error, RequestValidationError)
        return compact_validation_response(error)

    app.add_exception_handler(RequestValidationError, invalid_request)


def _serve_probes_and_metrics(app: FastAPI, context: ServiceContext) -> None:
    @app.get("/healthz", tags=["service"], summary="Liveness: the process serves requests")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["service"], summary="Readiness: database reachable; Redis state reported")
    def readyz() -> JSONResponse:
        return _readiness(context)

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics", response_class=Response)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(context.registry), media_type=CONTENT_TYPE_LATEST)


def _readiness(context: ServiceContext) -> JSONResponse:
    try:
        with context.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
        context.database_up.set(1)
    except (OperationalError, PoolTimeoutError, DBAPIError) as error:
        database = f"unavailable: {str(error).splitlines()[0]}"
        context.database_up.set(0)
    if not context.hot_state.configured:
        redis = "disabled"
    else:
        redis = "ok" if context.hot_state.check() else "unavailable (serving from the database)"
    ready = database == "ok"
    checks = {}
    for name, check in context.readiness_checks.items():
        ok, checks[name] = check()
        ready = ready and ok
    body = {
        "status": ("ready" if redis in ("ok", "disabled") else "degraded") if ready else "unavailable",
        "database": database,
        "redis": redis,
    } | checks
    headers = {} if ready else {"Retry-After": str(context.settings.retry_after_s)}
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)
