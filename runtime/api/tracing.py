"""Distributed tracing: OpenTelemetry spans of requests and SQL, exported over OTLP to Jaeger.

On only when OTEL_EXPORTER_OTLP_ENDPOINT is set (the control plane sets it on every service pod);
otherwise nothing is installed: no provider, no exporter thread, no middleware, no SQL listeners.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from sqlalchemy import Engine

from runtime.contract import environment

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger("runtime.api")

ENDPOINT_VARIABLE = environment.OTEL_ENDPOINT
SERVICE_NAME_VARIABLE = environment.OTEL_SERVICE_NAME
DISABLED_VARIABLE = environment.OTEL_DISABLED

# Probes and scrapes arrive every few seconds per pod and would bury the traces worth reading.
UNTRACED_PATHS = "/healthz,/readyz,/metrics"


class TracingConfigError(ValueError):
    """The tracing environment cannot be used; the message names the variable."""


def tracing_endpoint(environ: Mapping[str, str]) -> str | None:
    """The OTLP endpoint to export to, or None when tracing is off; a malformed one is an error."""
    endpoint = environ.get(ENDPOINT_VARIABLE, "").strip()
    if not endpoint or environ.get(DISABLED_VARIABLE, "").strip().lower() == "true":
        return None
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TracingConfigError(
            f"{ENDPOINT_VARIABLE}={endpoint!r} is not an OTLP endpoint; expected http(s)://host:port, "
            "e.g. http://jaeger-collector.observability.svc:4317"
        )
    return endpoint


def tracer_provider_for(
    service: str, environ: Mapping[str, str] | None = None, *, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """A provider batching spans to OTLP/gRPC (or to `exporter`), or None when tracing is off."""
    environ = os.environ if environ is None else environ
    endpoint = tracing_endpoint(environ)
    if endpoint is None:
        return None
    # The SDK is imported only here, so a service with tracing off does not even load it (~0.1 s).
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if exporter is None:
        # The exporter also reads headers, TLS and timeout from the standard OTEL_EXPORTER_OTLP_* variables.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint)
    name = environ.get(SERVICE_NAME_VARIABLE, "").strip() or f"isf-{service}"
    # Sampling follows OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (parent-based always-on by default).
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def instrument_service(
    app: FastAPI,
    engine: Engine,
    service: str,
    *,
    environ: Mapping[str, str] | None = None,
    exporter: SpanExporter | None = None,
) -> TracerProvider | None:
    """Trace `app`'s requests and `engine`'s statements when tracing is on; shutdown flushes the spans.

    The provider also becomes the process's global one, so spans of the control loops are exported.
    """
    environ = os.environ if environ is None else environ
    provider = tracer_provider_for(service, environ, exporter=exporter)
    if provider is None:
        return None
    from opentelemetry import trace
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeterProvider

    trace.set_tracer_provider(provider)
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=UNTRACED_PATHS, exclude_spans=["receive", "send"]
    )
    # The engine's own listeners, not SQLAlchemyInstrumentor: that one is a process-wide singleton and
    # patches create_engine for every engine, and this should trace exactly the service's database.
    EngineTracer(
        provider.get_tracer("runtime.store"),
        engine,
        NoOpMeterProvider().get_meter("runtime.store").create_up_down_counter("db.client.connections.usage"),
    )
    _flush_at_shutdown(app, provider)
    log.info("tracing on", extra={"service": service, "endpoint": tracing_endpoint(environ)})
    return provider


def _flush_at_shutdown(app: FastAPI, provider: TracerProvider) -> None:
    """Wrap the app's lifespan so the spans still queued are exported after the service has stopped."""
    service_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[Any]:
        try:
            async with service_lifespan(running) as state:
                yield state
        finally:
            provider.shutdown()  # flushes the batch queue, waiting at most the exporter's timeout

    app.router.lifespan_context = lifespan
