"""Ingest: `POST /v1/invocations` (batched, idempotent, acknowledged after commit) and range reads.

Limits: a body of at most `MAX_BODY_BYTES` (413 above), at most `MAX_RECORDS_PER_REQUEST` records,
each (function_id, minute) at most once per batch; types are strict (a count is a JSON integer,
not `true` or `"5"`), times ISO-8601 within `fields.EARLIEST`..`fields.LATEST` UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.exc import DBAPIError

from runtime.api.auth import RequireScope
from runtime.api.fields import FunctionId, SourceName, UtcMinute, UtcTime
from runtime.api.limits import MAX_BODY_BYTES, CompactErrorsRoute
from runtime.api.service import ServiceContext, service_context
from runtime.contract.auth import Scope
from runtime.store.errors import is_write_conflict
from runtime.store.functions import get_function
from runtime.store.invocations import InvocationRecord, invocations_between, record_invocations

MAX_RECORDS_PER_REQUEST = 50_000
MAX_READ_SPAN = timedelta(days=31)

router = APIRouter(prefix="/v1", tags=["ingest"], route_class=CompactErrorsRoute, max_body_size=MAX_BODY_BYTES)


class InvocationIn(BaseModel):
    """Invocations of one function in one minute."""

    model_config = ConfigDict(extra="forbid")

    function_id: FunctionId
    minute: UtcMinute = Field(description="ISO-8601 start of the minute; UTC if no offset is given")
    count: Annotated[int, Field(strict=True, ge=0, le=2**62)]
    duration_ms_avg: Annotated[float, Field(strict=True, ge=0, le=1e12, allow_inf_nan=False)] | None = None
    cold_starts: Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)] | None = Field(
        None, description="measured cold starts of the minute (runtime/ingest/prometheus_collector.py); "
                          "at most count; omitted: not measured")
    ready_pods: Annotated[float, Field(strict=True, ge=0, le=1e6, allow_inf_nan=False)] | None = Field(
        None, description="measured ready pods, the minute's average over all revisions "
                          "(runtime/ingest/prometheus_collector.py); omitted: not measured")

    @model_validator(mode="after")
    def _cold_starts_within_count(self) -> InvocationIn:
        if self.cold_starts is not None and self.cold_starts > self.count:
            raise ValueError(f"cold_starts ({self.cold_starts}) must not exceed count ({self.count})")
        return self


class InvocationBatch(BaseModel):
    """A batch from one source; re-sending it (e.g. after a timeout) changes nothing."""

    model_config = ConfigDict(extra="forbid")

    source: SourceName
    records: Annotated[list[InvocationIn], Field(max_length=MAX_RECORDS_PER_REQUEST)]


class Accepted(BaseModel):
    accepted: int = Field(description="records committed (a re-sent record counts again but is stored once)")


class StoredMinute(BaseModel):
    minute: datetime
    source: str
    count: int
    duration_ms_avg: float | None
    cold_starts: int | None = None
    ready_pods: float | None = None


class InvocationSeries(BaseModel):
    function_id: str
    start: datetime
    end: datetime
    invocations: list[StoredMinute]


class TimeRange(BaseModel):
    """`[start, end)`; defaults to the last hour."""

    start: UtcTime | None = None
    end: UtcTime | None = None
    source: SourceName | None = None

    @model_validator(mode="after")
    def _ordered_and_bounded(self) -> TimeRange:
        if self.start is not None and self.end is not None:
            if self.start >= self.end:
                raise ValueError("start must be before end")
            if self.end - self.start > MAX_READ_SPAN:
                raise ValueError(f"end - start must not exceed {MAX_READ_SPAN.days} days")
        return self


@router.post(
    "/invocations",
    response_model=Accepted,
    summary="Ingest per-minute invocation counts",
    dependencies=[Depends(RequireScope(Scope.INGEST))],  # runtime.api.auth
    responses={
        409: {"description": "lost a write race with a concurrent batch after retries; nothing was written, retry"},
        413: {"description": f"body larger than {MAX_BODY_BYTES} bytes"},
        422: {"description": "invalid or duplicate records (at most a few listed, with `error_count`)"},
        429: {"description": "rate limit of this source exceeded"},
        503: {"description": "database down"},
    },
)
def post_invocations(
    batch: InvocationBatch, request: Request, context: Annotated[ServiceContext, Depends(service_context)]
) -> object:
    _refuse_duplicates(batch.records)
    limit = context.settings.ingest_requests_per_minute
    if limit and not context.hot_state.allow(f"ingest:{batch.source}", limit):
        return JSONResponse(
            {"detail": f"source {batch.source!r} exceeded {limit} requests per minute"},
            status_code=429,
            headers={"Retry-After": "60"},
        )
    records = [InvocationRecord(r.function_id, r.minute, r.count, r.duration_ms_avg, r.cold_starts, r.ready_pods)
               for r in batch.records]
    try:
        accepted = Accepted(accepted=record_invocations(context.engine, batch.source, records))
    except DBAPIError as error:
        if not is_write_conflict(error):
            raise  # the service's handler: 503 for an outage, 500 otherwise
        return JSONResponse(
            {"detail": "the batch conflicted with a concurrent write and was rolled back; nothing was written, retry"},
            status_code=409,
            headers={"Retry-After": "1"},
        )
    counters = getattr(request.app.state, "measured_counters", None)  # the api's (runtime.ingest.counters)
    if counters is not None:
        counters.observe(records)
    return accepted


def _refuse_duplicates(records: list[InvocationIn]) -> None:
    """A batch names each (function_id, minute) once: which of two counts is meant is not ours to guess."""
    first: dict[tuple[str, datetime], int] = {}
    errors: list[dict[str, object]] = []
    for index, item in enumerate(records):
        earlier = first.setdefault((item.function_id, item.minute), index)
        if earlier != index:  # the answer lists the first few (runtime.api.limits) and counts them all
            errors.append({"type": "duplicate_record", "loc": ("body", "records", index),
                           "msg": f"same function_id and minute as record {earlier}", "input": None})
    if errors:
        raise RequestValidationError(errors)


@router.get(
    "/functions/{function_id}/invocations",
    response_model=InvocationSeries,
    summary="Stored per-minute counts of a function in [start, end)",
    dependencies=[Depends(RequireScope(Scope.READ))],  # runtime.api.auth
    responses={404: {"description": "unknown function"}},
)
def get_invocations(
    function_id: FunctionId,
    window: Annotated[TimeRange, Query()],
    context: Annotated[ServiceContext, Depends(service_context)],
) -> InvocationSeries:
    end = window.end or (window.start + timedelta(hours=1) if window.start else datetime.now(UTC))
    start = window.start or end - timedelta(hours=1)
    if get_function(context.engine, function_id) is None:
        raise HTTPException(404, f"function {function_id!r} has no stored data")
    rows = invocations_between(context.engine, function_id, start, end, window.source)
    return InvocationSeries(
        function_id=function_id,
        start=start,
        end=end,
        invocations=[StoredMinute(minute=r.minute, source=r.source, count=r.count, duration_ms_avg=r.duration_ms_avg,
                                  cold_starts=r.cold_starts, ready_pods=r.ready_pods) for r in rows],
    )
