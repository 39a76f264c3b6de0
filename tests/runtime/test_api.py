"""The `api` service's HTTP contract: ingest, range reads, the operators' reads and the shared endpoints."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from runtime.api.app import create_api_app
from runtime.api.config import ServiceSettings
from runtime.contract import Tier
from runtime.store import (
    Actuation,
    AuditOutcome,
    Forecast,
    FunctionInfo,
    PoolDecision,
    RegisteredModel,
    TierPlacement,
    record_actuations,
    record_decisions,
    record_forecasts,
    record_placements,
    register_model,
    upsert_functions,
)
from tests.support.api_tokens import AUTH, local_token_file

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def config_for(database_url: str, **overrides: object) -> ServiceSettings:
    values: dict[str, object] = {
        "database_url": database_url,
        "redis_url": os.environ.get("REDIS_URL"),
        "redis_prefix": f"isf-test-{uuid.uuid4().hex[:10]}:",
        "migrate_on_start": False,
        "local_token_file": local_token_file(),  # the all-scope TEST_TOKEN; test_auth.py tests the scopes
    }
    return ServiceSettings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture
def client(engine: Engine, database_url: str) -> Iterator[TestClient]:
    app = create_api_app(config_for(database_url))
    with TestClient(app, headers=AUTH) as test_client:
        yield test_client
    app.state.context.hot_state.clear()


def batch(*records: dict[str, object], source: str = "test") -> dict[str, object]:
    return {"source": source, "records": list(records)}


def record(function_id: str = "f", minute: int = 0, count: object = 1, **extra: object) -> dict[str, object]:
    return {"function_id": function_id, "minute": (T0 + timedelta(minutes=minute)).isoformat(), "count": count} | extra


def test_ingest_acknowledges_the_number_of_committed_records(client: TestClient) -> None:
    response = client.post("/v1/invocations", json=batch(record(minute=0, count=4, duration_ms_avg=35.5),
                                                         record(minute=1, count=0)))
    assert response.status_code == 200 and response.json() == {"accepted": 2}
    stored = client.get("/v1/functions/f/invocations",
                        params={"start": T0.isoformat(), "end": (T0 + timedelta(minutes=5)).isoformat()}).json()
    assert [(m["count"], m["duration_ms_avg"]) for m in stored["invocations"]] == [(4, 35.5), (0, None)]


def test_resending_a_batch_stores_each_record_once(client: TestClient) -> None:
    body = batch(record(minute=0, count=3), record(minute=1, count=5))
    for _ in range(3):
        assert client.post("/v1/invocations", json=body).json() == {"accepted": 2}
    stored = client.get("/v1/functions/f/invocations", params={"start": T0.isoformat()}).json()["invocations"]
    assert [m["count"] for m in stored] == [3, 5]


@pytest.mark.parametrize(
    ("bad_record", "field"),
    [
        (record(count=-1), "count"),
        (record(count="many"), "count"),
        ({"minute": T0.isoformat(), "count": 1}, "function_id"),
        (record(function_id=""), "function_id"),
        (record(function_id="a\x00b"), "function_id"),
        ({"function_id": "f", "minute": "yesterday", "count": 1}, "minute"),
        ({"function_id": "f", "minute": "2024-05-01T12:00:30Z", "count": 1}, "minute"),
        ({"function_id": "f", "minute": "0001-01-01T00:00:00+05:00", "count": 1}, "minute"),
        (record(duration_ms_avg=-3.0), "duration_ms_avg"),
        (record(unexpected=1), "unexpected"),
    ],
)
def test_a_bad_record_is_refused_naming_its_field_and_nothing_is_written(
    client: TestClient, bad_record: dict[str, object], field: str
) -> None:
    response = client.post("/v1/invocations", json=batch(record(function_id="good"), bad_record))
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"][:3] == ["body", "records", 1] and error["loc"][-1] == field
    assert client.get("/v1/functions/good").status_code == 404


def test_a_function_id_that_is_not_valid_unicode_is_refused(client: TestClient) -> None:
    raw = '{"source": "s", "records": [{"function_id": "x\\ud800", "minute": "2024-05-01T12:00:00Z", "count": 1}]}'
    response = client.post("/v1/invocations", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "function_id"


def test_a_batch_without_source_is_refused_naming_source(client: TestClient) -> None:
    response = client.post("/v1/invocations", json={"records": []})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "source"]


def test_reading_an_unknown_function_is_404_naming_it(client: TestClient) -> None:
    response = client.get("/v1/functions/nobody/invocations")
    assert response.status_code == 404 and "nobody" in response.json()["detail"]


def test_a_read_range_must_be_ordered(client: TestClient) -> None:
    client.post("/v1/invocations", json=batch(record()))
    response = client.get("/v1/functions/f/invocations",
                          params={"start": T0.isoformat(), "end": (T0 - timedelta(minutes=1)).isoformat()})
    assert response.status_code == 422 and "start must be before end" in response.text


def test_a_source_over_its_rate_limit_gets_429_with_retry_after(engine: Engine, database_url: str) -> None:
    if not os.environ.get("REDIS_URL"):
        pytest.skip("rate limits live in Redis; REDIS_URL is not set")
    app = create_api_app(config_for(database_url, ingest_requests_per_minute=2))
    if 60 - time.time() % 60 < 5:  # the limit counts per clock minute: start well inside one
        time.sleep(60 - time.time() % 60 + 0.1)
    with TestClient(app, headers=AUTH) as limited:
        codes = [limited.post("/v1/invocations", json=batch(record(), source="noisy")).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert limited.post("/v1/invocations", json=batch(record(), source="quiet")).status_code == 200
    app.state.context.hot_state.clear()


def test_the_forecast_is_served_from_the_database_then_from_the_cache(client: TestClient, engine: Engine) -> None:
    assert client.get("/v1/functions/f/forecast").status_code == 404
    record_forecasts(engine, [Forecast("f", T0, "hybrid-3", [1.0, 2.0], [0.5, 1.0])])
    first = client.get("/v1/functions/f/forecast").json()
    assert first["counts"] == [1.0, 2.0] and first["model_version"] == "hybrid-3"
    assert first["served_from"] == "database"
    second = client.get("/v1/functions/f/forecast").json()
    expected_source = "cache" if os.environ.get("REDIS_URL") else "database"
    assert second["served_from"] == expected_source
    assert {k: v for k, v in second.items() if k != "served_from"} == {
        k: v for k, v in first.items() if k != "served_from"
    }


def test_with_redis_down_the_forecast_still_comes_from_the_database(engine: Engine, database_url: str) -> None:
    record_forecasts(engine, [Forecast("f", T0, "v", [7.0])])
    app = create_api_app(config_for(database_url, redis_url="redis://127.0.0.1:1/0"))
    with TestClient(app, headers=AUTH) as degraded:
        response = degraded.get("/v1/functions/f/forecast")
        assert response.status_code == 200 and response.json()["counts"] == [7.0]
        ready = degraded.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded" and ready.json()["redis"].startswith("unavailable")
        assert "isf_redis_up 0.0" in degraded.get("/metrics").text


def test_the_operator_reads_return_what_the_control_loops_stored(client: TestClient, engine: Engine) -> None:
    upsert_functions(engine, [FunctionInfo("f", trigger="http", memory_mb=2048.0, tier=Tier.REGIONAL)])
    record_decisions(engine, [PoolDecision("f", T0, 4, 300, 2.4, "forecast 2.4 x buffer 1.5")])
    record_placements(engine, [TierPlacement("f", T0, Tier.EDGE, Tier.REGIONAL, 1.5)])
    record_actuations(engine, [Actuation(T0, "warming", "patch", "default/f", AuditOutcome.APPLIED, {"a": "1"})])
    register_model(engine, RegisteredModel("hybrid", "7", {"lstm": 64}, {"wape": 0.18}, b"blob"))

    functions = client.get("/v1/functions").json()
    assert functions["total"] == 1 and functions["functions"][0]["tier"] == "regional"
    assert client.get("/v1/decisions", params={"function_id": "f"}).json()[0]["pool_size"] == 4
    assert client.get("/v1/placements").json()[0]["tier"] == "edge"
    assert client.get("/v1/audit").json()[0]["outcome"] == "applied"
    assert client.get("/v1/models").json()[0] | {"created_at": None} == {
        "name": "hybrid", "version": "7", "parameters": {"lstm": 64}, "metrics": {"wape": 0.18}, "created_at": None
    }
    cost = client.get("/v1/cost").json()
    assert cost["functions"][0]["pool_size"] == 4
    assert cost["total_warm_usd_per_hour"] == pytest.approx(4 * 2.0 * 3600 * 0.0000166667)


def test_health_readiness_metrics_and_openapi_are_served(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"
    client.post("/v1/invocations", json=batch(record()))
    metrics = client.get("/metrics").text
    assert 'isf_http_requests_total{method="POST",route="/v1/invocations",service="api",status="200"} 1.0' in metrics
    assert "isf_database_up 1.0" in metrics
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/invocations", "/v1/functions/{function_id}/invocations", "/v1/functions/{function_id}/forecast",
            "/v1/decisions", "/v1/placements", "/v1/cost", "/readyz", "/metrics"} <= set(paths)


def test_a_database_outage_answers_503_with_retry_after(tmp_path: object) -> None:
    config = ServiceSettings(database_url="postgresql://postgres@127.0.0.1:1/isf", migrate_on_start=False,
                           retry_after_s=7, local_token_file=local_token_file())
    with TestClient(create_api_app(config), headers=AUTH) as unreachable:
        response = unreachable.post("/v1/invocations", json=batch(record()))
        assert response.status_code == 503 and response.headers["Retry-After"] == "7"
        ready = unreachable.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"].startswith("unavailable")


def test_service_freezes_startup_objects_and_runs_one_request_thread_per_connection(client: TestClient) -> None:
    # Full collections of start-up objects stalled the event loop for ~100 ms; more request threads
    # than pooled connections opened and closed extra PostgreSQL backends under load.
    import gc

    from runtime.store.engine import POOL_SIZE

    assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() > 0
    assert client.portal is not None
    # The limiter belongs to the service's event loop, so it is read from inside that loop.
    assert client.portal.call(_default_thread_tokens) == POOL_SIZE


def _default_thread_tokens() -> float:
    from anyio import to_thread

    return to_thread.current_default_thread_limiter().total_tokens
