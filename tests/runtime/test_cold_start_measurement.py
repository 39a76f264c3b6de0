"""Cold starts measured from Knative's series: the collector over the simulated cluster's Prometheus, the
simulator's count on the same minutes, and the api exporting what was measured."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from runtime.api.app import create_api_app
from runtime.cluster_sim.api_server import PROMETHEUS_PATH, ClusterApiServer
from runtime.cluster_sim.knative import FunctionSpec, SimulatedCluster
from runtime.cluster_sim.prometheus import RETAIN_S, SimulatedPrometheus
from runtime.contract import Tier
from runtime.contract.kubernetes import KNATIVE_GROUP, KNATIVE_VERSION, SCALE_DOWN_DELAY
from runtime.contract.scheduling import TIER_LABEL
from runtime.ingest.counters import MeasuredCounters
from runtime.ingest.prometheus_collector import (
    CollectorConfig,
    CollectorError,
    KnativeCollector,
    collect_minute,
)
from runtime.settings import CostSettings
from runtime.sim.policies import FixedKeepAlive
from runtime.sim.replay import replay
from runtime.store import FunctionInfo, invocations_between, upsert_functions
from runtime.warming.policy import AppProfile
from tests.runtime.test_api import config_for
from tests.support.api_tokens import AUTH

T0 = datetime(2019, 7, 15, tzinfo=UTC)
KNATIVE = f"/apis/{KNATIVE_GROUP}/{KNATIVE_VERSION}"

# Per-minute requests of four functions: steady, sparse, bursty with gaps, and one that is never invoked.
COUNTS = np.array([
    [3, 2, 4, 1, 5, 2, 2, 3, 1, 4, 2, 2],
    [1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1],
    [0, 9, 9, 0, 0, 0, 0, 30, 0, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
])
FUNCTIONS = ("shop.steady", "shop.sparse", "shop.bursty", "shop.idle")
DURATION_MS = {"shop.steady": 250.0, "shop.sparse": 1200.0, "shop.bursty": 9000.0, "shop.idle": 100.0}


class _Served:
    """The simulated cluster, its Prometheus and the HTTP facade the collector reaches it through."""

    def __init__(self, delays_s: dict[str, int]) -> None:
        self.delay_minutes = max(delays_s.values(), default=0) // 60
        self.cluster = SimulatedCluster()
        self.prometheus = SimulatedPrometheus()
        for function_id in FUNCTIONS:
            self.cluster.deploy(FunctionSpec(function_id, memory_mb=256.0))
        for function_id, delay in delays_s.items():  # what warming patches on the serving revision
            namespace, _, revision = self.cluster.revision_of(function_id)
            self.cluster.patch(f"{KNATIVE}/namespaces/{namespace}/revisions/{revision}",
                               {"metadata": {"annotations": {SCALE_DOWN_DELAY: f"{delay}s"}}})
        self.server = ClusterApiServer(self.cluster, prometheus=self.prometheus).start()
        self.config = CollectorConfig(prometheus_url=self.server.url + PROMETHEUS_PATH)

    def move(self, function_id: str, tier: Tier) -> None:
        """Placement's patch: a new Revision that takes over the ready pods."""
        namespace, service, _ = self.cluster.revision_of(function_id)
        self.cluster.patch(f"{KNATIVE}/namespaces/{namespace}/services/{service}",
                           {"spec": {"template": {"spec": {"nodeSelector": {TIER_LABEL: tier.value}}}}})

    def minute(self, k: int) -> tuple[dict[str, bool], dict[str, int | None]]:
        """Serve minute k; the simulator's cold starts and the collector's measurement of the same minute."""
        minute = T0 + timedelta(minutes=k)
        counts = {f: int(c) for f, c in zip(FUNCTIONS, COUNTS[:, k].tolist(), strict=True) if c}
        outcome = self.cluster.step(counts, DURATION_MS)
        self.prometheus.scrape_minute(minute, ((f.function_id, f.invocations, f.ready_pods, DURATION_MS[f.function_id])
                                               for f in outcome.functions), self.cluster.revision_of)
        with httpx.Client() as client:
            records = collect_minute(client, self.config, minute)
        assert {r.function_id: r.count for r in records} == {f: counts.get(f, 0) for f in FUNCTIONS}
        for r in records:
            if r.count:
                assert r.duration_ms_avg == pytest.approx(DURATION_MS[r.function_id])
        return {f.function_id: f.cold_start for f in outcome.functions}, {r.function_id: r.cold_starts for r in records}


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[_Served]:
    served = _Served(getattr(request, "param", {}))
    yield served
    served.server.close()


def test_the_measured_cold_starts_are_the_simulated_clusters_minute_by_minute(served: _Served) -> None:
    for k in range(COUNTS.shape[1]):
        if k == 6:
            for function_id in ("shop.steady", "shop.sparse"):  # rollouts: the new revision's pods count, the old's 0
                served.move(function_id, Tier.EDGE)
        simulated, measured = served.minute(k)
        assert measured == {f: int(cold) for f, cold in simulated.items()}, f"minute {k}"


def test_a_replaced_revisions_series_are_dropped_once_no_query_can_read_them(served: _Served) -> None:
    def revisions() -> set[str]:
        text = served.prometheus.exposition().decode()
        return {line.split('kn_revision_name="')[1].split('"')[0] for line in text.splitlines() if "kn_revision_name" in line}

    served.minute(0)
    replaced = served.cluster.revision_of("shop.steady")[2]
    served.move("shop.steady", Tier.EDGE)
    retained = int(RETAIN_S // 60)  # its newest samples are at minute 1's start: kept while a scrape ends <= RETAIN_S later
    for k in range(1, COUNTS.shape[1]):
        simulated, measured = served.minute(k)
        assert measured == {f: int(cold) for f, cold in simulated.items()}, f"minute {k}"
        assert (replaced in revisions()) == (k <= retained), f"minute {k}"
    assert served.cluster.revision_of("shop.steady")[2] in revisions()


@pytest.mark.parametrize("served", [{}, {f: 120 for f in FUNCTIONS}], indirect=True, ids=["knative-default", "delay-2m"])
def test_the_measured_cold_starts_are_isf_simulates_fixed_keep_alive(served: _Served) -> None:
    """Knative's scale-to-zero keeps a just-invoked pod one more minute, plus scale-down-delay: `fixed-(1 + delay)`."""
    measured = np.zeros_like(COUNTS)
    for k in range(COUNTS.shape[1]):
        _, cold = served.minute(k)
        measured[:, k] = [cold[f] or 0 for f in FUNCTIONS]
    profile = AppProfile(memory_mb=np.full(len(FUNCTIONS), 256.0),
                         duration_ms=np.array([DURATION_MS[f] for f in FUNCTIONS]))
    loaded = replay(COUNTS, profile, FixedKeepAlive(1 + served.delay_minutes))
    expected = (COUNTS > 0) & ~loaded
    assert measured.sum() > 0
    assert (measured.astype(bool) == expected).all(), (measured, expected.astype(int))


def test_a_query_the_simulated_prometheus_does_not_evaluate_is_refused_by_name(served: _Served) -> None:
    config = served.config.model_copy(update={"ready_pods_metric": "kube_pod_status_ready"})
    served.minute(0)
    with httpx.Client() as client:
        response = client.get(f"{config.prometheus_url}/api/v1/query", params={"query": "up", "time": 0})
        assert response.status_code == 400 and response.json()["errorType"] == "bad_data"
        served.prometheus.scrape_minute(T0 + timedelta(minutes=1), [("shop.steady", 1, 1, 10.0)],
                                        served.cluster.revision_of)
        records = collect_minute(client, config, T0 + timedelta(minutes=1))
    # a series nobody exports: the ready pods are unknown, so the invoked function's cold start is unmeasured
    assert {r.function_id: r.cold_starts for r in records}["shop.steady"] is None
    with httpx.Client() as client, pytest.raises(CollectorError, match=r"(min|avg)_over_time\(.*does not evaluate"):
        collect_minute(client, config.model_copy(update={"ready_sample_seconds": 7, "ready_pods_metric": "x y"}),
                       T0 + timedelta(minutes=1))


def test_the_collector_stores_and_exports_measured_cold_starts_by_tier(engine: Engine, served: _Served) -> None:
    upsert_functions(engine, [FunctionInfo("shop.bursty", tier=Tier.EDGE)])
    registry = CollectorRegistry()
    counters = MeasuredCounters(registry, engine)
    collector = KnativeCollector(engine, served.config.model_copy(update={"settle_seconds": 30}),
                                 observe=counters.observe)
    for k in range(4):
        served.minute(k)
    collector.last_collected = T0 - timedelta(minutes=1)
    assert collector.run_once(now=T0 + timedelta(minutes=4, seconds=30)) == 4 * len(FUNCTIONS)
    # named by the pods' isf.io/function label (the Services are fn-NNNNN), as warming and placement name them
    stored = invocations_between(engine, "shop.bursty", T0, T0 + timedelta(minutes=4), source="prometheus")
    assert [(r.count, r.cold_starts) for r in stored] == [(0, 0), (9, 1), (9, 0), (0, 0)]
    value = registry.get_sample_value
    assert value("isf_cold_starts_total", {"function": "shop.bursty", "tier": "edge"}) == 1.0  # the stored tier
    assert value("isf_invocations_total", {"function": "shop.bursty", "tier": "edge"}) == 18.0
    assert value("isf_cold_starts_total", {"function": "shop.steady", "tier": "unknown"}) == 1.0  # minute 0 only


def test_the_api_exports_what_it_ingests_per_function_and_tier(engine: Engine, database_url: str) -> None:
    upsert_functions(engine, [FunctionInfo("shop.cart", tier=Tier.EDGE, memory_mb=512.0)])
    app = create_api_app(config_for(database_url))
    minute = T0.isoformat()
    with TestClient(app, headers=AUTH) as client:
        records = [{"function_id": "shop.cart", "minute": minute, "count": 7, "cold_starts": 1},
                   {"function_id": "shop.new", "minute": minute, "count": 2},  # not measured: no cold-start sample
                   {"function_id": "shop.warm", "minute": minute, "count": 5, "cold_starts": 0},
                   # idle and warm: 1.5 pods on average x its 512 MB, and a function of unknown memory (128 MB)
                   {"function_id": "shop.cart", "minute": (T0 + timedelta(minutes=1)).isoformat(), "count": 0,
                    "cold_starts": 0, "ready_pods": 1.5},
                   {"function_id": "shop.new", "minute": (T0 + timedelta(minutes=1)).isoformat(), "count": 0,
                    "ready_pods": 1.0}]
        assert client.post("/v1/invocations", json={"source": "test", "records": records}).status_code == 200
        negative = {"function_id": "shop.cart", "minute": minute, "count": 1, "ready_pods": -1.0}
        refused = client.post("/v1/invocations", json={"source": "test", "records": [negative]})
        assert refused.status_code == 422 and "ready_pods" in refused.text
        too_many = {"function_id": "shop.cart", "minute": minute, "count": 1, "cold_starts": 2}
        refused = client.post("/v1/invocations", json={"source": "test", "records": [too_many]})
        assert refused.status_code == 422 and "cold_starts" in refused.text
        text = client.get("/metrics").text
        stored = client.get("/v1/functions/shop.cart/invocations",
                            params={"start": minute, "end": (T0 + timedelta(minutes=1)).isoformat()}).json()
    app.state.context.hot_state.clear()
    assert 'isf_cold_starts_total{function="shop.cart",tier="edge"} 1.0' in text
    assert 'isf_cold_starts_total{function="shop.warm",tier="unknown"} 0.0' in text
    assert 'isf_invocations_total{function="shop.cart",tier="edge"} 7.0' in text
    assert 'isf_invocations_total{function="shop.new",tier="unknown"} 2.0' in text
    assert 'isf_cold_starts_total{function="shop.new"' not in text
    price = config_for(database_url).runtime.cost.cold_start_usd
    assert f'isf_cost_usd_total{{kind="cold_start",tier="edge"}} {price!r}' in text
    assert 'isf_cost_usd_total{kind="cold_start",tier="unknown"} 0.0' in text
    assert [(m["count"], m["cold_starts"], m["ready_pods"]) for m in stored["invocations"]] == [(7, 1, None)]
    assert 'isf_wasted_memory_mb_seconds_total{function="shop.cart",tier="edge"} 46080.0' in text  # 1.5 x 512 x 60
    assert 'isf_wasted_memory_mb_seconds_total{function="shop.new",tier="unknown"} 7680.0' in text  # 128 x 60
    memory_price = config_for(database_url).runtime.cost.memory_gb_second_usd
    assert f'isf_cost_usd_total{{kind="warm_memory",tier="edge"}} {46080.0 / 1024.0 * memory_price!r}' in text


def test_the_simulated_clusters_knative_series_scrape_as_valid_exposition(served: _Served) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    served.minute(0)
    families = {f.name: f for f in text_string_to_metric_families(served.prometheus.exposition().decode())}
    assert families["kn_revision_pods_count"].type == "gauge"
    assert families["kn_serving_invocation_duration_seconds"].type == "histogram"
    counts = {s.labels["isf_function"]: s.value for s in families["kn_serving_invocation_duration_seconds"].samples
              if s.name.endswith("_count")}
    assert counts == {f: float(c) for f, c in zip(FUNCTIONS, COUNTS[:, 0].tolist(), strict=True)}
    assert all("isf_function" not in s.labels for s in families["kn_revision_pods_count"].samples)  # the autoscaler's


def test_the_measured_ready_pods_are_the_simulated_clusters_and_idle_ones_are_wasted_memory(
    engine: Engine, served: _Served
) -> None:
    upsert_functions(engine, [FunctionInfo(f, memory_mb=256.0, tier=Tier.EDGE if f == "shop.sparse" else None)
                              for f in FUNCTIONS])
    registry = CollectorRegistry()
    counters = MeasuredCounters(registry, engine, cost=CostSettings())
    idle_mb_s: dict[str, float] = {}
    for k in range(COUNTS.shape[1]):
        minute = T0 + timedelta(minutes=k)
        counts = {f: int(c) for f, c in zip(FUNCTIONS, COUNTS[:, k].tolist(), strict=True) if c}
        outcome = served.cluster.step(counts, DURATION_MS)
        served.prometheus.scrape_minute(minute, ((f.function_id, f.invocations, f.ready_pods,
                                                  DURATION_MS[f.function_id]) for f in outcome.functions),
                                        served.cluster.revision_of)
        with httpx.Client() as client:
            records = collect_minute(client, served.config, minute)
        assert {r.function_id: r.ready_pods for r in records} == {f.function_id: float(f.ready_pods)
                                                                  for f in outcome.functions}, f"minute {k}"
        counters.observe(records)
        for f in outcome.functions:
            if f.invocations == 0:
                idle_mb_s[f.function_id] = idle_mb_s.get(f.function_id, 0.0) + f.ready_pods * 256.0 * 60.0
    value = registry.get_sample_value
    assert idle_mb_s["shop.sparse"] > 0  # kept warm between its sparse requests
    for function_id, expected in idle_mb_s.items():
        tier = "edge" if function_id == "shop.sparse" else "unknown"
        measured = value("isf_wasted_memory_mb_seconds_total", {"function": function_id, "tier": tier}) or 0.0
        assert measured == pytest.approx(expected), function_id
    price = CostSettings().memory_gb_second_usd
    assert value("isf_cost_usd_total", {"kind": "warm_memory", "tier": "edge"}) == pytest.approx(
        idle_mb_s["shop.sparse"] / 1024.0 * price)


def test_a_warm_function_without_request_series_is_named_by_its_scrape_targets(served: _Served) -> None:
    """A pre-warmed pod that never served a request may export no request histogram (an OTel point per recorded
    attribute set); its ready pods still count, named by the `up` series of its scrape target."""
    at = T0.timestamp()
    revision = {"k8s_namespace_name": "shop", "kn_service_name": "fn-prewarmed",
                "kn_configuration_name": "fn-prewarmed", "kn_revision_name": "fn-prewarmed-00001"}
    for offset in (0.0, 30.0):
        served.prometheus.add("kn_revision_pods_count", revision, at + offset, 2.0)
        served.prometheus.add("up", {**revision, "isf_function": "shop.prewarmed"}, at + offset, 1.0)
    with httpx.Client() as client:
        records = collect_minute(client, served.config, T0)
    assert [(r.function_id, r.count, r.cold_starts, r.ready_pods) for r in records] == [
        ("shop.prewarmed", 0, 0, 2.0)]


def test_two_function_labels_on_one_configuration_are_summed_not_overwritten(served: _Served) -> None:
    """Old and new revisions of one Service whose template changed its `isf.io/function` label both serve."""
    end = (T0 + timedelta(minutes=1)).timestamp()
    base = {"k8s_namespace_name": "shop", "kn_service_name": "fn-x", "kn_configuration_name": "fn-x"}
    for revision, function_id, requests in (("fn-x-00001", "shop.old", 4.0), ("fn-x-00002", "shop.new", 6.0)):
        labels = {**base, "kn_revision_name": revision, "isf_function": function_id}
        served.prometheus.add("kn_serving_invocation_duration_seconds_count", labels, end, requests)
        served.prometheus.add("kn_serving_invocation_duration_seconds_sum", labels, end, requests * 0.5)
        served.prometheus.add("kn_revision_pods_count", {**base, "kn_revision_name": revision}, T0.timestamp(), 1.0)
    with httpx.Client() as client:
        records = collect_minute(client, served.config, T0)
    assert [(r.function_id, r.count, r.duration_ms_avg, r.ready_pods) for r in records] == [
        ("shop.new", 10, 500.0, 2.0)]  # the label with most requests names the function
