"""The FastAPI apps of `isf serve predictor|warming|placement`: shared scaffolding plus their loops.

Loops start after migrations and stop (finishing the pass in progress) when uvicorn shuts down on
SIGTERM. Warming and placement act only while they hold their Kubernetes Lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI

from runtime.api import operator_reads
from runtime.api.config import ServiceConfig
from runtime.api.service import ServiceContext, create_service_app
from runtime.services.loop import LoopMetrics, PeriodicLoop

BuildLoops = Callable[[ServiceContext], list[PeriodicLoop]]


def _with_loops(app: FastAPI, build: BuildLoops) -> FastAPI:
    scaffolding = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[Any]:
        async with scaffolding(running) as state:
            loops = build(running.state.context)
            for loop in loops:
                loop.start()
            try:
                yield state
            finally:
                await asyncio.gather(*(asyncio.to_thread(loop.stop) for loop in loops))

    app.router.lifespan_context = lifespan
    return app


def _leader_gate(name: str) -> tuple[Any, Callable[[], bool]]:
    from runtime.actuation.leader import LeaseLeadership
    from runtime.services.kube import ControllerConfig, kubernetes_api_client

    controller = ControllerConfig()
    kube = kubernetes_api_client()
    leadership = LeaseLeadership(f"isf-{name}", controller.namespace, controller.identity, api_client=kube)
    leadership.start()
    return kube, lambda: leadership.is_leader


def create_predictor_app(config: ServiceConfig | None = None) -> FastAPI:
    """Forecasts on a schedule, `GET /v1/functions/{id}/forecast`, accuracy metrics."""
    from runtime.services.predictor import PredictorService

    router = APIRouter(prefix="/v1", tags=["forecasts"])
    router.add_api_route(
        "/functions/{function_id}/forecast", operator_reads.get_forecast, methods=["GET"],
        response_model=operator_reads.ForecastOut, summary="The latest forecast of a function",
        responses={404: {"description": "no forecast stored yet"}},
    )

    def build(context: ServiceContext) -> list[PeriodicLoop]:
        predictor = PredictorService(context.engine, context.hot_state, context.settings, context.registry,
                                     forecast_ttl_s=context.config.forecast_cache_ttl_s)
        metrics = LoopMetrics(context.registry)
        prediction = context.settings.prediction
        return [
            PeriodicLoop("retrain", prediction.retrain_interval, predictor.retrain, metrics),
            PeriodicLoop("forecast", prediction.update_interval, predictor.refresh, metrics),
        ]

    app = create_service_app("predictor", config or ServiceConfig(), routers=[router],
                             description="Invocation forecasts of the intelligent serverless platform.")
    return _with_loops(app, build)


def create_warming_app(config: ServiceConfig | None = None) -> FastAPI:
    """Warm pools and keep-alive windows applied to Knative every warming.interval, leader only."""
    from runtime.services.warming import WarmingController

    def build(context: ServiceContext) -> list[PeriodicLoop]:
        kube, leading = _leader_gate("warming")
        controller = WarmingController(context.engine, context.hot_state, kube, context.settings, context.registry)
        return [PeriodicLoop("warming", context.settings.warming.interval, controller.run_pass,
                             LoopMetrics(context.registry), may_act=leading)]

    app = create_service_app("warming", config or ServiceConfig(),
                             description="Warm-pool controller of the intelligent serverless platform.")
    return _with_loops(app, build)


def create_placement_app(config: ServiceConfig | None = None) -> FastAPI:
    """Tier placement solved and applied to Knative every optimization_interval, leader only."""
    from runtime.services.placement import PlacementController

    def build(context: ServiceContext) -> list[PeriodicLoop]:
        kube, leading = _leader_gate("placement")
        controller = PlacementController(context.engine, kube, context.settings, context.registry)
        return [PeriodicLoop("placement", context.settings.placement.optimization_interval, controller.run_pass,
                             LoopMetrics(context.registry), may_act=leading)]

    app = create_service_app("placement", config or ServiceConfig(),
                             description="Tier placement optimizer of the intelligent serverless platform.")
    return _with_loops(app, build)
