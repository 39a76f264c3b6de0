"""What every runtime service shares: /healthz, /readyz, /metrics, request metrics and JSON access logs,
database errors answered as 503 + Retry-After, and the engine / hot state in a `ServiceContext`.

A service is `create_service_app(name, config, routers=[...])`; its endpoints reach the context with
`Depends(service_context)`.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
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

from runtime.api.config import ServiceConfig
from runtime.api.tracing import instrument_service
from runtime.contract import metrics
from runtime.settings import RuntimeSettings
from runtime.state.hot_state import HotState
from runtime.store.engine import POOL_SIZE, open_engine
from runtime.store.migrate import upgrade

log = logging.getLogger("runtime.api")


@dataclass
class ServiceContext:
    """Everything a request handler needs, built once per process."""

    name: str
    config: ServiceConfig
    settings: RuntimeSettings
    engine: Engine
    hot_state: HotState
    registry: CollectorRegistry
    database_up: Gauge


# A control loop of a service: runs until the event is set (e.g. the predictor's refresh, a collector).
BackgroundLoop = Callable[[ServiceContext, threading.Event], None]


async def service_context(request: Request) -> ServiceContext:
    """FastAPI dependency: the running service's context (async: no thread-pool hop for an attribute read)."""
    return request.app.state.context


class DatabaseUnavailable(Exception):
    """Raised by handlers that detect the database is down; answered like an OperationalError."""


def _is_database_outage(error: Exception) -> bool:
    if isinstance(error, (OperationalError, PoolTimeoutError, DatabaseUnavailable)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


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
    config: ServiceConfig,
    *,
    routers: Sequence[APIRouter] = (),
    settings: RuntimeSettings | None = None,
    description: str = "",
    on_start: Callable[[ServiceContext], Any] | None = None,
    loops: Sequence[BackgroundLoop] = (),
) -> FastAPI:
    """A FastAPI app with the shared endpoints, middleware and error handling, plus `routers`.

    `loops` run in daemon threads from start-up until shutdown, which sets their stop event.
    """
    registry = CollectorRegistry()
    engine = open_engine(config.database_url)
    context = ServiceContext(
        name=name,
        config=config,
        settings=settings or RuntimeSettings.load(),
        engine=engine,
        hot_state=HotState.from_url(
            config.redis_url, registry, cluster=config.redis_cluster, prefix=config.redis_prefix
        ),
        registry=registry,
        database_up=metrics.DATABASE_UP.gauge(registry),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if config.migrate_on_start:
            upgrade(engine)
        if on_start is not None:
            on_start(context)
        # One request thread per pooled connection: extra threads only queue on the pool or open overflow
        # connections (a forked PostgreSQL backend each), which turned any stall into a 200 ms read tail.
        to_thread.current_default_thread_limiter().total_tokens = POOL_SIZE
        # Start-up objects (~150k) live for the whole process; frozen, a full collection skips them instead of
        # stalling every request for ~100 ms (it set the forecast read API's p99 with Redis down).
        gc.collect()
        gc.freeze()
        log.info("service started", extra={"database": engine.url.render_as_string(hide_password=True),
                                           "redis": "configured" if context.hot_state.configured else "disabled"})
        stop = threading.Event()
        threads = [
            threading.Thread(target=loop, args=(context, stop), name=getattr(loop, "__name__", "loop"), daemon=True)
            for loop in loops
        ]
        for thread in threads:
            thread.start()
        yield
        log.info("service stopping: in-flight requests finished, closing connections")
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        engine.dispose()

    app = FastAPI(title=f"isf {name}", description=description, version="1", lifespan=lifespan)
    app.state.context = context
    app.add_middleware(_RequestMetrics, service=name, registry=registry)
    instrument_service(app, engine, name)  # OTLP spans when OTEL_EXPORTER_OTLP_ENDPOINT is set

    async def database_error(_: Request, error: Exception) -> Response:
        if _is_database_outage(error):
            context.database_up.set(0)
            log.warning("database unavailable", extra={"error": str(error).splitlines()[0]})
            return JSONResponse(
                {"detail": "database unavailable, nothing was written; retry later"},
                status_code=503,
                headers={"Retry-After": str(config.retry_after_s)},
            )
        log.error("database error", exc_info=error)
        return JSONResponse({"detail": "internal database error"}, status_code=500)

    for error_type in (DBAPIError, PoolTimeoutError, DatabaseUnavailable):
        app.add_exception_handler(error_type, database_error)

    async def invalid_request(_: Request, error: Exception) -> Response:
        # FastAPI's own handler echoes the input as UTF-8 and fails (500) on lone surrogates; ASCII escapes them.
        assert isinstance(error, RequestValidationError)
        body = json.dumps({"detail": jsonable_encoder(error.errors())}, ensure_ascii=True, default=str)
        return Response(body, status_code=422, media_type="application/json")

    app.add_exception_handler(RequestValidationError, invalid_request)

    @app.get("/healthz", tags=["service"], summary="Liveness: the process serves requests")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["service"], summary="Readiness: database reachable; Redis state reported")
    def readyz() -> JSONResponse:
        try:
            with engine.connect() as connection:
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
        body = {
            "status": ("ready" if redis in ("ok", "disabled") else "degraded") if ready else "unavailable",
            "database": database,
            "redis": redis,
        }
        headers = {} if ready else {"Retry-After": str(config.retry_after_s)}
        return JSONResponse(body, status_code=200 if ready else 503, headers=headers)

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics", response_class=Response)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    return app
