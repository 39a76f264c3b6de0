"""The `api` service: ingest plus the operators' read API, on the shared service scaffolding."""

from __future__ import annotations

from fastapi import FastAPI

from runtime.api import ingest, operator_reads
from runtime.api.config import ServiceSettings
from runtime.api.loop import LoopMetrics, PeriodicLoop
from runtime.api.service import ServiceContext, create_service_app
from runtime.ingest.counters import MeasuredCounters

COLLECT_EVERY_S = 60.0


def knative_collector_loop(context: ServiceContext, counters: MeasuredCounters) -> list[PeriodicLoop]:
    """Knative request counts, cold starts and ready pods from Prometheus into the store, every minute
    (ISF_PROMETHEUS_URL)."""
    if context.settings.prometheus_url is None:
        return []
    from runtime.ingest.prometheus_collector import CollectorConfig, KnativeCollector

    collector = KnativeCollector(context.engine, CollectorConfig(prometheus_url=context.settings.prometheus_url),
                                 observe=counters.observe)
    return [PeriodicLoop("collector", COLLECT_EVERY_S, collector.run_once, LoopMetrics(context.registry))]


def create_api_app(settings: ServiceSettings) -> FastAPI:
    """The api service for `settings`; it exports what it ingests as counters (runtime.ingest.counters)."""
    counters: list[MeasuredCounters] = []  # built with the context, before the loops
    app = create_service_app(
        "api",
        settings,
        routers=[ingest.router, operator_reads.router, operator_reads.admin_router],
        loops=lambda context: knative_collector_loop(context, counters[0]),
        description="Invocation ingest and the operators' read API of the intelligent serverless platform.",
    )
    context: ServiceContext = app.state.context
    counters.append(MeasuredCounters(context.registry, context.engine, cost=context.settings.runtime.cost))
    app.state.measured_counters = counters[0]
    return app
