"""The `api` service: ingest plus the operators' read API, on the shared service scaffolding."""

from __future__ import annotations

import threading

from fastapi import FastAPI

from runtime.api import ingest, operator_reads
from runtime.api.config import ServiceConfig
from runtime.api.service import ServiceContext, create_service_app
from runtime.settings import RuntimeSettings


def collect_knative_counts(context: ServiceContext, stop: threading.Event) -> None:
    """Background loop: Knative request counts from Prometheus into the store, every minute."""
    from runtime.ingest.prometheus_collector import CollectorConfig, KnativeCollector

    assert context.config.prometheus_url is not None
    KnativeCollector(context.engine, CollectorConfig(prometheus_url=context.config.prometheus_url)).run_forever(stop)


def create_api_app(config: ServiceConfig | None = None, settings: RuntimeSettings | None = None) -> FastAPI:
    """The api service for `config` (from the environment when None)."""
    config = config or ServiceConfig()
    return create_service_app(
        "api",
        config,
        settings=settings,
        routers=[ingest.router, operator_reads.router],
        loops=[collect_knative_counts] if config.prometheus_url else [],
        description="Invocation ingest and the operators' read API of the intelligent serverless platform.",
    )
