"""The FastAPI apps of `isf serve predictor|warming|placement`: shared scaffolding plus their loops.

Loops start after migrations and stop (finishing the pass in progress) when uvicorn shuts down on
SIGTERM. Warming and placement act only while they hold their Kubernetes Lease.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI

from runtime.api import operator_reads
from runtime.api.auth import RequireScope
from runtime.api.clock import ClockedLoop, simulated_clock
from runtime.api.config import ServiceSettings
from runtime.api.loop import LoopMetrics, PeriodicLoop, utc_now
from runtime.api.service import ServiceContext, create_service_app
from runtime.contract import ServiceRole
from runtime.contract.auth import Scope

if TYPE_CHECKING:
    from runtime.actuation.leader import LeaseLeadership


def _cluster_client(role: ServiceRole, settings: ServiceSettings) -> Any:
    """The cluster's API client; without a configured cluster, an embedded simulated one (one line says so)."""
    from kubernetes.config import ConfigException

    from runtime.services.kube import kubernetes_api_client

    try:
        return kubernetes_api_client()
    except (ConfigException, OSError) as error:
        from runtime.cluster_sim.embedded import simulated_cluster_client

        return simulated_cluster_client(role.value, settings.database_url, str(error).strip().splitlines()[0])


def _leader_gate(role: ServiceRole, settings: ServiceSettings) -> tuple[Any, LeaseLeadership]:
    """The cluster's API client (or the embedded simulated one) and a started campaign for the role's Lease."""
    from runtime.actuation.leader import LeaseLeadership

    kube = _cluster_client(role, settings)
    leadership = LeaseLeadership(f"isf-{role.value}", settings.namespace, settings.pod_name, api_client=kube)
    leadership.start()
    return kube, leadership


def _forecast_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["forecasts"], dependencies=[Depends(RequireScope(Scope.READ))])
    router.add_api_route(
        "/functions/{function_id}/forecast", operator_reads.get_forecast, methods=["GET"],
        response_model=operator_reads.ForecastOut, summary="The latest forecast of a function",
        responses={404: {"description": "no forecast stored yet"}},
    )
    return router


def _predictor_loops(context: ServiceContext) -> list[PeriodicLoop]:
    from runtime.services.predictor import PredictorService

    settings = context.settings
    clock = simulated_clock(settings.clock_url)
    predictor = PredictorService(context.engine, context.hot_state, settings.runtime, context.registry,
                                 forecast_ttl_s=settings.forecast_cache_ttl_s, clock=clock or utc_now)
    metrics = LoopMetrics(context.registry)
    prediction = settings.runtime.prediction
    context.readiness_checks["model"] = predictor.readiness
    # One training at start: the forecast loop's first refresh trains (it has no model); the retrain loop
    # waits a full interval before its first pass. Both stop on `predictor.stopping`, which ends a fit.
    return [
        ClockedLoop("retrain", prediction.retrain_interval, predictor.retrain, metrics,
                     first_pass_after_s=prediction.retrain_interval, stop_event=predictor.stopping, clock=clock),
        ClockedLoop("forecast", prediction.update_interval, predictor.refresh, metrics,
                     stop_event=predictor.stopping, clock=clock),
        ClockedLoop("retention", settings.runtime.retention.interval, predictor.prune, metrics,
                     stop_event=predictor.stopping, clock=clock),
    ]


def _warming_loops(context: ServiceContext) -> list[PeriodicLoop]:
    from runtime.services.warming import WarmingController

    settings = context.settings
    clock = simulated_clock(settings.clock_url)
    kube, leadership = _leader_gate(ServiceRole.WARMING, settings)
    controller = WarmingController(context.engine, kube, settings.runtime, context.registry,
                                   clock=clock or utc_now)
    return [ClockedLoop("warming", settings.runtime.warming.interval, controller.run_pass,
                         LoopMetrics(context.registry), may_act=lambda: leadership.is_leader,
                         on_stop=leadership.release, clock=clock)]


def _placement_loops(context: ServiceContext) -> list[PeriodicLoop]:
    from runtime.services.placement import PlacementController

    settings = context.settings
    clock = simulated_clock(settings.clock_url)
    kube, leadership = _leader_gate(ServiceRole.PLACEMENT, settings)
    controller = PlacementController(context.engine, kube, settings.runtime, context.registry,
                                   clock=clock or utc_now)
    return [ClockedLoop("placement", settings.runtime.placement.optimization_interval, controller.run_pass,
                         LoopMetrics(context.registry), may_act=lambda: leadership.is_leader,
                         on_stop=leadership.release, clock=clock)]


def create_predictor_app(settings: ServiceSettings) -> FastAPI:
    """Forecasts on a schedule, `GET /v1/functions/{id}/forecast`, accuracy metrics."""
    return create_service_app("predictor", settings, routers=[_forecast_router()], loops=_predictor_loops,
                              description="Invocation forecasts of the intelligent serverless platform.")


def create_warming_app(settings: ServiceSettings) -> FastAPI:
    """Warm pools and keep-alive windows applied to Knative every warming.interval, leader only."""
    return create_service_app("warming", settings, loops=_warming_loops,
                              description="Warm-pool controller of the intelligent serverless platform.")


def create_placement_app(settings: ServiceSettings) -> FastAPI:
    """Tier placement solved and applied to Knative every optimization_interval, leader only."""
    return create_service_app("placement", settings, loops=_placement_loops,
                              description="Tier placement optimizer of the intelligent serverless platform.")
