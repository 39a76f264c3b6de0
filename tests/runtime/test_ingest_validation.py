"""What `POST /v1/invocations` and the read paths refuse (issue 14, items 2-5): out-of-range times,
duplicate records, over-large bodies, loose types and ids that cannot be used as a path segment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from runtime.api.app import create_api_app
from runtime.api.limits import MAX_BODY_BYTES, MAX_LISTED_ERRORS
from runtime.contract.identifiers import is_function_id
from runtime.traces import BUNDLED_TRACES, load_trace
from tests.runtime.test_api import config_for
from tests.support.api_tokens import AUTH

T0 = "2024-05-01T12:00:00Z"


@pytest.fixture
def client(engine: Engine, database_url: str) -> Iterator[TestClient]:
    app = create_api_app(config_for(database_url, redis_url=None))
    with TestClient(app, headers=AUTH) as test_client:
        yield test_client


def post(client: TestClient, *records: dict[str, object]):
    return client.post("/v1/invocations", json={"source": "s", "records": list(records)})


def rec(function_id: str = "f", minute: str = T0, count: object = 1, **extra: object) -> dict[str, object]:
    return {"function_id": function_id, "minute": minute, "count": count} | extra


@pytest.mark.parametrize("minute", ["9998-12-31T23:00:00-12:00", "1970-01-01T00:00:00+14:00",
                                    "9999-12-31T23:00:00-12:00", "0001-01-01T00:00:00+05:00"])
def test_a_minute_outside_the_range_once_in_utc_is_refused(client: TestClient, minute: str) -> None:
    response = post(client, rec(minute=minute))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == "minute"
    assert client.get("/v1/functions/f").status_code == 404


@pytest.mark.parametrize("minute", ["1970-01-01T00:00:00Z", "9998-12-31T23:59:00Z", "1970-01-01T01:00:00+01:00"])
def test_the_ends_of_the_range_are_accepted(client: TestClient, minute: str) -> None:
    assert post(client, rec(minute=minute)).status_code == 200


def test_duplicate_records_in_one_batch_are_refused_naming_their_indexes(client: TestClient) -> None:
    response = post(client, rec(count=1), rec("g"), rec(count=2), rec(minute="2024-05-01T13:00:00+01:00", count=3))
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert [e["loc"] for e in errors] == [["body", "records", 2], ["body", "records", 3]]
    assert "record 0" in errors[0]["msg"]
    assert client.get("/v1/functions/f").status_code == 404


def test_an_over_large_body_is_413_whether_announced_or_streamed(client: TestClient) -> None:
    body = b'{"source": "s", "records": [' + b" " * MAX_BODY_BYTES + b"]}"
    assert client.post("/v1/invocations", content=body, headers={"content-type": "application/json"}).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        yield b'{"source": "s", "records": ['
        for _ in range(MAX_BODY_BYTES // 65536 + 1):
            yield b" " * 65536
        yield b"]}"

    response = client.post("/v1/invocations", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_a_large_invalid_batch_gets_a_short_422_that_does_not_echo_it(client: TestClient) -> None:
    records = [rec(f"fn-{i}", count="many") for i in range(20_000)]
    body = json.dumps({"source": "s", "records": records})
    response = client.post("/v1/invocations", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert len(response.content) < 2000 < len(body)
    answer = response.json()
    assert len(answer["detail"]) == MAX_LISTED_ERRORS and answer["error_count"] == 20_000
    too_many = client.post("/v1/invocations", json={"source": "s", "records": [rec(f"x{i}") for i in range(50_001)]})
    assert too_many.status_code == 422 and len(too_many.content) < 2000


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (rec(count=True), "count"),
        (rec(count="5"), "count"),
        (rec(count=1.0), "count"),
        (rec(duration_ms_avg=False), "duration_ms_avg"),
        (rec(duration_ms_avg="3.5"), "duration_ms_avg"),
        (rec(minute=1714564800), "minute"),
        (rec(minute="1714564800"), "minute"),
        (rec(function_id=" "), "function_id"),
        (rec(function_id="f\u200b"), "function_id"),
        (rec(function_id="f\u202eg"), "function_id"),
        (rec(function_id=".."), "function_id"),
        (rec(function_id="a..b"), "function_id"),
        (rec(function_id="-f"), "function_id"),
        (rec(function_id="a/b"), "function_id"),
        (rec(function_id="f" * 254), "function_id"),
    ],
)
def test_loose_values_are_refused_naming_the_field(client: TestClient, bad: dict[str, object], field: str) -> None:
    response = post(client, bad)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == field


def test_an_integer_duration_is_still_a_number(client: TestClient) -> None:
    assert post(client, rec(duration_ms_avg=35)).status_code == 200


@pytest.mark.parametrize("start", ["0.5", "1714564800", "true"])
def test_query_times_are_iso_8601_only(client: TestClient, start: str) -> None:
    post(client, rec())
    response = client.get("/v1/functions/f/invocations", params={"start": start})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "start"


def test_every_bundled_trace_id_is_valid_and_reachable_by_path(client: TestClient) -> None:
    ids = [f for name in BUNDLED_TRACES for f in load_trace(name).functions]
    assert all(is_function_id(f) for f in ids)
    for function_id in [ids[0], ids[-1], "knative-serving.hello-world", "ns:fn_1.v2"]:
        assert post(client, rec(function_id)).status_code == 200
        assert client.get(f"/v1/functions/{function_id}").status_code == 200
        assert client.get(f"/v1/functions/{function_id}/invocations", params={"start": T0}).json()["invocations"]


def test_an_invalid_id_in_a_path_is_422_not_404(client: TestClient) -> None:
    assert client.get("/v1/functions/a..b").status_code == 422
    assert client.get("/v1/functions/%E2%80%8Bf/forecast").status_code == 422


def test_time_fields_convert_to_utc() -> None:
    from pydantic import TypeAdapter

    from runtime.api.fields import UtcMinute

    assert TypeAdapter(UtcMinute).validate_python("2024-05-01T14:00:00+02:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
