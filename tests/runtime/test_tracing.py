"""Distributed tracing of the services: request, SQL and control-pass spans, exported over OTLP when configured."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent import futures
from typing import Annotated

import grpc
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util._once import Once
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, text

from runtime.api.auth import RequireScope
from runtime.api.config import ServiceSettings
from runtime.api.loop import LoopMetrics, PeriodicLoop
from runtime.api.service import ServiceContext, create_service_app, service_context
from runtime.api.tracing import ENDPOINT_VARIABLE, TracingConfigError, instrument_service, tracer_provider_for
from runtime.contract.auth import Scope
from tests.support.api_tokens import AUTH, local_token_file

ENDPOINT = "http://127.0.0.1:4317"


@pytest.fixture(autouse=True)
def fresh_tracing_globals(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with tracing off and leaves no global provider behind.

    The SDK allows one global provider per process (a service process is one service); tests reset it
    the way OpenTelemetry's own test utilities do.
    """
    for variable in (ENDPOINT_VARIABLE, "OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(variable, raising=False)
    yield
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # pyright: ignore[reportPrivateUsage]
    trace._TRACER_PROVIDER = None  # pyright: ignore[reportPrivateUsage]


def things_router() -> APIRouter:
    """One route that queries the database, answering 404 for an unknown thing."""
    router = APIRouter(prefix="/v1", dependencies=[Depends(RequireScope(Scope.READ))])

    @router.get("/things/{thing_id}")
    def read_thing(thing_id: str, context: Annotated[ServiceContext, Depends(service_context)]) -> dict[str, object]:
        with context.engine.connect() as connection:
            found = connection.execute(text("SELECT :id <> 'missing'"), {"id": thing_id}).scalar_one()
        if not found:
            raise HTTPException(404, f"no thing {thing_id!r}")
        return {"id": thing_id, "traced": trace.get_current_span().get_span_context().is_valid}

    return router


def service_with_things(database_url: str) -> FastAPI:
    config = ServiceSettings(database_url=database_url, redis_url=None,  # type: ignore[call-arg]
                           redis_prefix=f"isf-test-{uuid.uuid4().hex[:10]}:", migrate_on_start=False,
                           local_token_file=local_token_file())
    return create_service_app("things", config, routers=[things_router()])


def traced_service(database_url: str, exporter: InMemorySpanExporter) -> FastAPI:
    app = service_with_things(database_url)
    engine: Engine = app.state.context.engine
    assert instrument_service(app, engine, "things", environ={ENDPOINT_VARIABLE: ENDPOINT}, exporter=exporter)
    return app


def server_spans(spans: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    return [span for span in spans if span.kind is SpanKind.SERVER]


def ids(span: ReadableSpan) -> trace.SpanContext:
    assert span.context is not None
    return span.context


def test_without_the_endpoint_variable_nothing_is_configured_and_requests_carry_no_span(
    engine: Engine, database_url: str
) -> None:
    assert tracer_provider_for("things", {}) is None
    app = service_with_things(database_url)
    with TestClient(app, headers=AUTH) as client:
        response = client.get("/v1/things/a")
    assert response.status_code == 200
    assert response.json()["traced"] is False
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)  # no global provider either
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)


def test_otel_sdk_disabled_turns_tracing_off_even_with_an_endpoint() -> None:
    assert tracer_provider_for("things", {ENDPOINT_VARIABLE: ENDPOINT, "OTEL_SDK_DISABLED": "true"}) is None


def test_a_malformed_endpoint_is_refused_naming_the_variable() -> None:
    with pytest.raises(TracingConfigError, match=ENDPOINT_VARIABLE):
        tracer_provider_for("things", {ENDPOINT_VARIABLE: "jaeger-collector:4317"})


def test_the_service_name_is_otel_service_name_or_isf_and_the_service() -> None:
    named = tracer_provider_for("things", {ENDPOINT_VARIABLE: ENDPOINT, "OTEL_SERVICE_NAME": "isf-warming"},
                                exporter=InMemorySpanExporter())
    default = tracer_provider_for("things", {ENDPOINT_VARIABLE: ENDPOINT}, exporter=InMemorySpanExporter())
    assert named is not None and default is not None
    assert named.resource.attributes["service.name"] == "isf-warming"
    assert default.resource.attributes["service.name"] == "isf-things"
    named.shutdown()
    default.shutdown()


def test_a_request_is_a_server_span_with_its_route_and_status_flushed_at_shutdown(
    engine: Engine, database_url: str
) -> None:
    exporter = InMemorySpanExporter()
    app = traced_service(database_url, exporter)
    with TestClient(app, headers=AUTH) as client:
        assert client.get("/v1/things/a").json()["traced"] is True
        assert client.get("/v1/things/missing").status_code == 404
        assert client.get("/healthz").status_code == 200
        # Spans are batched (exported every few seconds); none has left before shutdown.
        assert exporter.get_finished_spans() == ()
    served = server_spans(exporter.get_finished_spans())
    assert [span.name for span in served] == ["GET /v1/things/{thing_id}"] * 2  # probes are not traced
    for span, status in zip(served, (200, 404), strict=True):
        assert span.attributes is not None
        assert span.attributes["http.route"] == "/v1/things/{thing_id}"
        assert span.attributes.get("http.response.status_code", span.attributes.get("http.status_code")) == status
        assert span.resource.attributes["service.name"] == "isf-things"


def test_a_query_during_a_request_is_a_child_span_of_the_request(engine: Engine, database_url: str) -> None:
    exporter = InMemorySpanExporter()
    with TestClient(traced_service(database_url, exporter), headers=AUTH) as client:
        client.get("/v1/things/a")
    spans = exporter.get_finished_spans()
    (request,) = server_spans(spans)
    queries = [span for span in spans if span.kind is SpanKind.CLIENT]
    assert len(queries) == 1
    assert queries[0].parent is not None and queries[0].parent.span_id == ids(request).span_id
    assert queries[0].attributes is not None
    assert "SELECT" in str(queries[0].attributes.get("db.statement", queries[0].attributes.get("db.query.text")))


def test_a_request_with_a_traceparent_joins_the_callers_trace(engine: Engine, database_url: str) -> None:
    exporter = InMemorySpanExporter()
    caller_trace, caller_span = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    with TestClient(traced_service(database_url, exporter), headers=AUTH) as client:
        client.get("/v1/things/a", headers={"traceparent": f"00-{caller_trace}-{caller_span}-01"})
    (request,) = server_spans(exporter.get_finished_spans())
    assert format(ids(request).trace_id, "032x") == caller_trace
    assert request.parent is not None and format(request.parent.span_id, "016x") == caller_span


def in_memory_tracer() -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


def test_a_control_pass_is_a_span_and_a_failed_pass_is_marked_as_an_error() -> None:
    tracer, exporter = in_memory_tracer()
    outcomes = iter([None, RuntimeError("kubernetes API unreachable")])

    def action() -> None:
        if (outcome := next(outcomes)) is not None:
            raise outcome

    loop = PeriodicLoop("warming", 60, action, LoopMetrics(CollectorRegistry()), tracer=tracer)
    assert loop.run_once() is True
    assert loop.run_once() is False
    ok, failed = exporter.get_finished_spans()
    assert ok.name == failed.name == "warming pass"
    assert ok.attributes is not None and ok.attributes["isf.loop"] == "warming"
    assert ok.status.status_code is StatusCode.UNSET
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "RuntimeError: kubernetes API unreachable"
    assert [event.name for event in failed.events] == ["exception"]


def test_a_standby_replica_records_no_pass_span() -> None:
    tracer, exporter = in_memory_tracer()
    loop = PeriodicLoop("placement", 60, lambda: None, LoopMetrics(CollectorRegistry()),
                        may_act=lambda: False, tracer=tracer)
    assert loop.run_once() is False
    assert exporter.get_finished_spans() == ()


class RecordingCollector(trace_service_pb2_grpc.TraceServiceServicer):
    """A real OTLP/gRPC trace receiver (what Jaeger v2 listens with on 4317), keeping what it receives."""

    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []

    def Export(self, request: trace_service_pb2.ExportTraceServiceRequest, context: object) -> object:
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()

    def received(self) -> list[tuple[str, str]]:
        """(service.name, span name) of every span received."""
        return [
            (next(a.value.string_value for a in spans.resource.attributes if a.key == "service.name"), span.name)
            for request in self.requests
            for spans in request.resource_spans
            for scope in spans.scope_spans
            for span in scope.spans
        ]


@pytest.fixture
def otlp_collector() -> Iterator[tuple[RecordingCollector, int]]:
    collector = RecordingCollector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield collector, port
    server.stop(grace=None)


def test_with_the_endpoint_set_a_service_exports_its_request_and_pass_spans_over_otlp_at_shutdown(
    engine: Engine, database_url: str, otlp_collector: tuple[RecordingCollector, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    collector, port = otlp_collector
    monkeypatch.setenv(ENDPOINT_VARIABLE, f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "isf-things")
    app = service_with_things(database_url)
    with TestClient(app, headers=AUTH) as client:
        client.get("/v1/things/a")
        # A loop built the way the services build theirs (no tracer given) reports to the service's provider.
        PeriodicLoop("forecast", 60, lambda: None, LoopMetrics(CollectorRegistry())).run_once()
    received = collector.received()
    assert ("isf-things", "GET /v1/things/{thing_id}") in received
    assert ("isf-things", "forecast pass") in received
