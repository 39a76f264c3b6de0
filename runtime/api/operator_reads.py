"""The operators' API: reads for dashboards (scope `read`) and administrative actions (scope `admin`,
each written to the audit log with the token that made it)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from runtime.api.auth import ApiToken, RequireScope
from runtime.api.fields import FunctionId
from runtime.api.service import ContextDep, ServiceContext, SettingsDep
from runtime.contract import Tier
from runtime.contract.auth import Scope
from runtime.store.cost import warm_pool_costs
from runtime.store.decisions import (
    Actuation,
    audit_log,
    latest_decisions,
    latest_placements,
    record_actuations,
)
from runtime.store.forecasts import latest_forecast
from runtime.store.functions import delete_function, get_function, list_functions
from runtime.store.models import list_models
from runtime.store.schema import AuditOutcome

router = APIRouter(prefix="/v1", tags=["operators"], dependencies=[Depends(RequireScope(Scope.READ))])
admin_router = APIRouter(prefix="/v1", tags=["administration"])
AdminDep = Annotated[ApiToken, Depends(RequireScope(Scope.ADMIN))]
log = logging.getLogger(__name__)
Limit = Annotated[int, Query(ge=1, le=1000)]


class FunctionOut(BaseModel):
    id: str
    trigger: str | None
    memory_mb: float | None
    tier: Tier | None
    created_at: datetime | None


class FunctionPage(BaseModel):
    total: int
    functions: list[FunctionOut]


class ForecastOut(BaseModel):
    function_id: str
    window_start: datetime
    model_version: str
    counts: list[float] = Field(description="point forecast per minute (what WAPE scores; may be median-like)")
    concurrency: list[float] | None
    expected: list[float] | None = Field(
        default=None, description="expected counts per minute where they differ from `counts` (else null)"
    )
    served_from: str


class DecisionOut(BaseModel):
    function_id: str
    decided_at: datetime
    pool_size: int
    keep_alive_s: int
    predicted_concurrency: float
    reason: str


class PlacementOut(BaseModel):
    function_id: str
    decided_at: datetime
    tier: Tier
    previous_tier: Tier | None
    objective: float | None


class FunctionCostOut(BaseModel):
    function_id: str
    pool_size: int
    memory_mb: float
    warm_usd_per_hour: float


class CostReport(BaseModel):
    total_warm_usd_per_hour: float
    functions: list[FunctionCostOut]


class AuditOut(BaseModel):
    at: datetime
    actor: str
    action: str
    target: str
    outcome: AuditOutcome
    patch: dict[str, Any]
    detail: str


class ModelOut(BaseModel):
    name: str
    version: str
    parameters: dict[str, Any]
    metrics: dict[str, float]
    created_at: datetime | None


@router.get("/functions", response_model=FunctionPage, summary="Known functions, by id")
def get_functions(
    context: ContextDep, limit: Limit = 100, offset: Annotated[int, Query(ge=0, le=2**31)] = 0
) -> FunctionPage:
    total, functions = list_functions(context.engine, limit=limit, offset=offset)
    return FunctionPage(total=total, functions=[FunctionOut.model_validate(f, from_attributes=True) for f in functions])


@router.get("/functions/{function_id}", response_model=FunctionOut, responses={404: {"description": "unknown"}})
def get_one_function(function_id: FunctionId, context: ContextDep) -> FunctionOut:
    info = get_function(context.engine, function_id)
    if info is None:
        raise HTTPException(404, f"function {function_id!r} is unknown")
    return FunctionOut.model_validate(info, from_attributes=True)


@router.get(
    "/functions/{function_id}/forecast",
    response_model=ForecastOut,
    summary="The latest forecast of a function (Redis first, the database when Redis is down or cold)",
    responses={404: {"description": "no forecast stored yet"}},
)
async def get_forecast(function_id: FunctionId, context: ContextDep) -> Response:
    # The hottest read (every dashboard panel, every warming check): one thread-pool hop for the
    # blocking reads instead of two (FastAPI also validates a sync endpoint's result in the pool), and
    # the document, already the response's shape, is sent as JSON without a second validation.
    document = await run_in_threadpool(_forecast_document, context, function_id)
    if document is None:
        raise HTTPException(404, f"no forecast stored for function {function_id!r} yet")
    return Response(json.dumps(document, default=str, separators=(",", ":")), media_type="application/json")


def _forecast_document(context: ServiceContext, function_id: str) -> dict[str, Any] | None:
    cached = context.hot_state.get_forecast(function_id)
    if cached is not None:
        return cached | {"served_from": "cache"}
    forecast = latest_forecast(context.engine, function_id)
    if forecast is None:
        return None
    document = forecast.to_document()
    context.hot_state.put_forecasts({function_id: document}, ttl_s=context.settings.forecast_cache_ttl_s)
    return document | {"served_from": "database"}


@router.get("/decisions", response_model=list[DecisionOut], summary="Warm-pool decisions, newest first")
def get_decisions(context: ContextDep, function_id: FunctionId | None = None, limit: Limit = 100) -> list[DecisionOut]:
    return [DecisionOut.model_validate(d, from_attributes=True)
            for d in latest_decisions(context.engine, function_id, limit)]


@router.get("/placements", response_model=list[PlacementOut], summary="Tier placements, newest first")
def get_placements(context: ContextDep, function_id: FunctionId | None = None, limit: Limit = 100) -> list[PlacementOut]:
    return [PlacementOut.model_validate(p, from_attributes=True)
            for p in latest_placements(context.engine, function_id, limit)]


@router.get("/cost", response_model=CostReport, summary="Hourly cost of the current warm pools")
def get_cost(context: ContextDep, settings: SettingsDep, limit: Limit = 100) -> CostReport:
    costs = warm_pool_costs(context.engine, settings.runtime.cost)
    return CostReport(
        total_warm_usd_per_hour=sum(cost.warm_usd_per_hour for cost in costs),
        functions=[FunctionCostOut.model_validate(cost, from_attributes=True) for cost in costs[:limit]],
    )


@router.get("/audit", response_model=list[AuditOut], summary="Actuations against the cluster, newest first")
def get_audit(context: ContextDep, limit: Limit = 100) -> list[AuditOut]:
    return [AuditOut.model_validate(entry, from_attributes=True) for entry in audit_log(context.engine, limit=limit)]


@router.get("/models", response_model=list[ModelOut], summary="Registered forecaster versions, newest first")
def get_models(context: ContextDep) -> list[ModelOut]:
    return [ModelOut.model_validate(model, from_attributes=True) for model in list_models(context.engine)]


class Deleted(BaseModel):
    function_id: str
    deleted: bool


@admin_router.delete(
    "/functions/{function_id}",
    response_model=Deleted,
    summary="Forget a function: its invocations, forecasts, decisions and placements (audited)",
    responses={404: {"description": "unknown"}},
)
def delete_one_function(function_id: FunctionId, context: ContextDep, principal: AdminDep) -> Deleted:
    deleted = delete_function(context.engine, function_id)
    audit_admin_action(context, principal, "delete_function", f"function {function_id}",
                       AuditOutcome.APPLIED if deleted else AuditOutcome.SKIPPED,
                       "" if deleted else "unknown function")
    if not deleted:
        raise HTTPException(404, f"function {function_id!r} is unknown")
    return Deleted(function_id=function_id, deleted=True)


def audit_admin_action(
    context: ServiceContext, principal: ApiToken, action: str, target: str, outcome: AuditOutcome, detail: str = ""
) -> None:
    """One audit row (actor `api:<token id>`) and one structured log line per administrative action."""
    actor = f"api:{principal.id}"
    record_actuations(context.engine, [Actuation(datetime.now(UTC), actor, action, target, outcome, {}, detail)])
    log.info("admin action", extra={"actor": actor, "action": action, "target": target, "outcome": outcome.value})
