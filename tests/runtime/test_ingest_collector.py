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


_BY_POD = "sum by (k8s_namespace_name, kn_configuration_name, isf_function)"  # queue-proxy: the pod's isf.io/function
COUNT_QUERY = f"{_BY_POD} (increase(kn_serving_invocation_duration_seconds_count[1m]))"
SECONDS_QUERY = f"{_BY_POD} (increase(kn_serving_invocation_duration_seconds_sum[1m]))"
READY_QUERY = "min_over_time(sum by (k8s_namespace_name, kn_configuration_name) (kn_revision_pods_count)[1m:30s])"
AVERAGE_READY_QUERY = READY_QUERY.replace("min_over_time", "avg_over_time")
NAMES_QUERY = 'count by (k8s_namespace_name, kn_configuration_name, isf_function) (up{isf_function!=""})'


class FakePrometheus:
    """Answers /api/v1/query for the collector's exact query strings (any other: 400 bad_data); records each."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, float]] = []
        self.down = False
        self.requests: dict[str, float] = {}
        self.latencies: dict[str, float] = {}  # average seconds; answered as the `_sum` increase
        self.ready: dict[str, float] = {}  # fewest ready pods in the minute
        self.average_ready: dict[str, float] | None = None  # the minute's average (default: `ready`)
        self.function_label: dict[str, str] = {}  # <ns>.<cfg> -> the pods' isf.io/function (queue-proxy series)
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
        answers = {
            COUNT_QUERY: self.requests, READY_QUERY: self.ready,
            SECONDS_QUERY: {k: v * self.requests[k] for k, v in self.latencies.items()},
            AVERAGE_READY_QUERY: self.ready if self.average_ready is None else self.average_ready,
            NAMES_QUERY: {k: 1.0 for k in self.function_label},
        }
        if query not in answers:
            return 400, {"status": "error", "errorType": "bad_data", "error": f"unexpected query {query!r}"}
        values = answers[query]
        result = []
        for key, value in values.items():
            namespace, name = key.split(".", 1)
            labels = {"k8s_namespace_name": namespace, "kn_configuration_name": name}
            if query not in (READY_QUERY, AVERAGE_READY_QUERY) and key in self.function_label:
                labels["isf_function"] = self.function_label[key]
            result.append({"metric": labels, "value": [0, str(value)]})
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
    prometheus.requests = {"default.checkout": 41.6, "shop.search": 0.0, "shop.cart": 3}
    prometheus.latencies = {"default.checkout": 0.0125}  # seconds, as Knative 1.23 exports it
    prometheus.ready = {"default.checkout": 1, "shop.search": 0}  # shop.cart: its autoscaler is not scraped
    with httpx.Client() as client:
        records = collect_minute(client, CollectorConfig(prometheus_url=prometheus.url), T0)
    assert [(r.function_id, r.minute, r.count, r.duration_ms_avg, r.cold_starts, r.ready_pods) for r in records] == [
        ("default.checkout", T0, 42, 12.5, 0, 1.0),
        ("shop.cart", T0, 3, None, None, None),  # invoked, ready pods unknown: not measured
        ("shop.search", T0, 0, None, 0, 0.0),  # no pod and no request: no cold start
    ]
    at = {query: when for query, when in prometheus.queries}
    assert set(at) == {COUNT_QUERY, SECONDS_QUERY, READY_QUERY, AVERAGE_READY_QUERY}  # all pods named: no `up`
    assert at[COUNT_QUERY] == at[SECONDS_QUERY] == (T0 + timedelta(minutes=1)).timestamp()
    # subquery steps: T0 and T0 + 30 s
    assert at[READY_QUERY] == at[AVERAGE_READY_QUERY] == (T0 + timedelta(seconds=59)).timestamp()


def test_an_invoked_minute_with_no_ready_pod_is_one_cold_start(prometheus: FakePrometheus) -> None:
    prometheus.requests = {"default.cold": 12, "default.warm": 12}
    prometheus.ready = {"default.cold": 0, "default.warm": 2}
    with httpx.Client() as client:
        records = collect_minute(client, CollectorConfig(prometheus_url=prometheus.url), T0)
    assert {r.function_id: r.cold_starts for r in records} == {"default.cold": 1, "default.warm": 0}


def test_functions_are_named_by_their_pods_function_label(prometheus: FakePrometheus) -> None:
    prometheus.requests = {"functions.fn-00001": 4, "functions.other": 1}
    prometheus.latencies = {"functions.fn-00001": 0.5}
    prometheus.function_label = {"functions.fn-00001": "checkout"}  # isf.io/function, as warming names it
    prometheus.ready = {"functions.fn-00001": 0, "functions.other": 1}  # the autoscaler's: no pod labels
    with httpx.Client() as client:
        records = collect_minute(client, CollectorConfig(prometheus_url=prometheus.url), T0)
    assert [(r.function_id, r.count, r.duration_ms_avg, r.cold_starts) for r in records] == [
        ("checkout", 4, 500.0, 1), ("functions.other", 1, None, 0)]


def test_an_idle_minute_asks_only_how_many_pods_were_warm(prometheus: FakePrometheus) -> None:
    prometheus.requests = {"default.idle": 0}
    with httpx.Client() as client:
        records = collect_minute(client, CollectorConfig(prometheus_url=prometheus.url), T0)
    assert [(r.count, r.cold_starts, r.ready_pods) for r in records] == [(0, 0, None)]
    assert [query for query, _ in prometheus.queries] == [COUNT_QUERY, AVERAGE_READY_QUERY]


def test_a_warm_function_without_request_series_gets_an_idle_record_named_by_its_pods(
    prometheus: FakePrometheus
) -> None:
    prometheus.requests = {"shop.busy": 5}
    prometheus.ready = {"shop.busy": 1}
    prometheus.average_ready = {"shop.busy": 1, "shop.fn-7": 2.5, "shop.unnamed": 1}  # warm, never invoked
    prometheus.function_label = {"shop.fn-7": "prewarmed"}  # from the pods' `up`: no request series yet
    with httpx.Client() as client:
        records = collect_minute(client, CollectorConfig(prometheus_url=prometheus.url), T0)
    assert [(r.function_id, r.count, r.cold_starts, r.ready_pods) for r in records] == [
        ("prewarmed", 0, 0, 2.5), ("shop.busy", 5, 0, 1.0), ("shop.unnamed", 0, 0, 1.0)]
    assert NAMES_QUERY in [query for query, _ in prometheus.queries]


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
