"""The Knative collector against a fake Prometheus HTTP API served on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import Engine

from runtime.ingest.prometheus_collector import (
    CollectorConfig,
    CollectorError,
    KnativeCollector,
    collect_minute,
)
from runtime.store import invocations_between

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class FakePrometheus:
    """Answers /api/v1/query from `answers(query, time)`; records every query it received."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, float]] = []
        self.down = False
        self.requests: dict[str, float] = {}
        self.latencies: dict[str, float] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                params = parse_qs(url.query)
                query, at = params["query"][0], float(params["time"][0])
                fake.queries.append((query, at))
                status, body = fake.answer(url.path, query)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, query: str) -> tuple[int, dict[str, Any]]:
        if self.down:
            return 503, {"status": "error", "errorType": "unavailable", "error": "tsdb not ready"}
        if path != "/api/v1/query":
            return 404, {"status": "error", "errorType": "not_found", "error": path}
        values = self.latencies if "_sum" in query else self.requests
        result = [
            {"metric": {"k8s_namespace_name": ns, "kn_configuration_name": name}, "value": [0, str(value)]}
            for (ns, name), value in ((key.split(".", 1), value) for key, value in values.items())
        ]
        return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}


@pytest.fixture
def prometheus() -> Iterator[FakePrometheus]:
    fake = FakePrometheus()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_a_minute_is_read_as_per_function_sums_at_the_minutes_end(prometheus: FakePrometheus) -> None:
    prometheus.requests = {"default.checkout": 41.6, "shop.search": 0.0}
    prometheus.latencies = {"default.checkout": 0.0125}  # seconds, as Knative 1.23 exports it
    with httpx.Client() as client:
        records = collect_minute(client, CollectorConfig(prometheus_url=prometheus.url), T0)
    assert [(r.function_id, r.minute, r.count, r.duration_ms_avg) for r in records] == [
        ("default.checkout", T0, 42, 12.5),
        ("shop.search", T0, 0, None),
    ]
    (count_query, at), (latency_query, _) = prometheus.queries
    assert count_query == (
        "sum by (k8s_namespace_name, kn_configuration_name) (increase(kn_serving_invocation_duration_seconds_count[1m]))"
    )
    assert "kn_serving_invocation_duration_seconds_sum" in latency_query
    assert "kn_serving_invocation_duration_seconds_count" in latency_query
    assert at == (T0 + timedelta(minutes=1)).timestamp()


def test_a_prometheus_error_names_the_query_and_the_reason(prometheus: FakePrometheus) -> None:
    prometheus.down = True
    with httpx.Client() as client, pytest.raises(CollectorError, match="kn_serving_invocation_duration_seconds_count.*tsdb not ready"):
        collect_minute(client, CollectorConfig(prometheus_url=prometheus.url), T0)


def test_minutes_missed_during_an_outage_are_back_filled_once(engine: Engine, prometheus: FakePrometheus) -> None:
    config = CollectorConfig(prometheus_url=prometheus.url, settle_seconds=30)
    collector = KnativeCollector(engine, config)
    prometheus.requests = {"default.f": 5}
    assert collector.run_once(now=T0 + timedelta(minutes=1, seconds=31)) == 1  # minute T0 settled
    prometheus.down = True
    with pytest.raises(CollectorError):
        collector.run_once(now=T0 + timedelta(minutes=2, seconds=31))
    prometheus.down = False
    prometheus.requests = {"default.f": 7}
    assert collector.run_once(now=T0 + timedelta(minutes=4, seconds=31)) == 3  # T0+1, T0+2, T0+3
    assert collector.run_once(now=T0 + timedelta(minutes=4, seconds=45)) == 0  # nothing new is due
    stored = invocations_between(engine, "default.f", T0, T0 + timedelta(minutes=10), source="prometheus")
    assert [(r.minute - T0, r.count) for r in stored] == [(timedelta(minutes=n), c) for n, c in
                                                          ((0, 5), (1, 7), (2, 7), (3, 7))]


def test_a_minute_is_not_read_before_its_scrapes_have_settled(engine: Engine, prometheus: FakePrometheus) -> None:
    collector = KnativeCollector(engine, CollectorConfig(prometheus_url=prometheus.url, settle_seconds=30))
    assert collector.due_minutes(T0 + timedelta(minutes=1, seconds=10)) == [T0 - timedelta(minutes=1)]
    assert collector.due_minutes(T0 + timedelta(minutes=1, seconds=30)) == [T0]
