"""The embedded simulated cluster: Knative semantics per minute, the Kubernetes-API facade the real client
talks to, the simulated clock's barrier, and the services' fallback when no cluster is configured."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from prometheus_client import CollectorRegistry

from runtime.actuation.leader import LeaseLeadership
from runtime.actuation.patches import KnativeActuator, PlacementTarget, WarmTarget
from runtime.api.clock import ClockedLoop, SimulatedClock
from runtime.api.loop import LoopMetrics
from runtime.cluster_sim.api_server import CLOCK_PATH, ClusterApiServer
from runtime.cluster_sim.clock import BarrierClock
from runtime.cluster_sim.knative import FunctionSpec, SimulatedCluster
from runtime.cluster_sim.loop import LoopError, ServiceProcesses
from runtime.contract import Tier, environment
from runtime.contract.kubernetes import FUNCTION_LABEL, METADATA_LIST_ACCEPT, MIN_SCALE
from runtime.placement.capacity import tier_capacities
from runtime.services.kube import function_services, list_nodes, tier_scheduling

T0 = datetime(2019, 7, 15, tzinfo=UTC)


def _cluster(*specs: FunctionSpec) -> SimulatedCluster:
    cluster = SimulatedCluster()
    for spec in specs:
        cluster.deploy(spec)
    return cluster


def _ready(cluster: SimulatedCluster, counts: dict[str, int], duration_ms: float = 1000.0) -> dict[str, tuple[int, bool]]:
    outcome = cluster.step(counts, dict.fromkeys(["a", "b"], duration_ms))
    return {f.function_id: (f.ready_pods, f.cold_start) for f in outcome.functions}


def test_a_request_with_no_ready_pod_is_a_cold_start_and_the_pod_stays_one_minute() -> None:
    cluster = _cluster(FunctionSpec("a", 256.0))
    assert _ready(cluster, {"a": 5})["a"] == (0, True)  # activator holds the requests: one cold start
    assert _ready(cluster, {})["a"] == (1, False)  # stable window: the pod is still up the next minute
    assert _ready(cluster, {})["a"] == (0, False)  # then scaled to zero
    assert _ready(cluster, {"a": 1})["a"] == (0, True)


def test_needed_pods_follow_demand_and_min_scale_and_delay_hold_them() -> None:
    cluster = _cluster(FunctionSpec("a", 128.0))
    outcome = cluster.step({"a": 600}, {"a": 500.0})  # 600 x 0.5 s / 60 s = 5 concurrent
    assert outcome.functions[0].needed_pods == 5
    with ClusterApiServer(cluster) as server:
        actuator = KnativeActuator(client.CustomObjectsApi(server.api_client()))
        actuator.apply_warm(WarmTarget("functions", "fn-00000", min_scale=2, scale_down_delay_s=120),
                            actuator.serving_revisions(FUNCTION_LABEL)[("functions", "fn-00000")])
    pods = [_ready(cluster, {})["a"][0] for _ in range(5)]
    assert pods == [5, 5, 5, 2, 2]  # the stable minute, two minutes of scale-down-delay, then min-scale


def test_wasted_memory_is_app_level_and_idle_pods_instance_level() -> None:
    cluster = _cluster(FunctionSpec("a", 100.0))
    cluster.step({"a": 600}, {"a": 500.0})
    outcome = cluster.step({}, {})
    assert outcome.wasted_mb_minutes == 100.0 and outcome.idle_mb_minutes == 500.0


def test_the_real_client_reads_services_and_nodes_and_patches_through_the_facade() -> None:
    cluster = _cluster(FunctionSpec("a", 256.0, tier=Tier.EDGE), FunctionSpec("b", 512.0))
    with ClusterApiServer(cluster) as server:
        api = server.api_client()
        services = function_services(api)
        assert {f: (s.tier, s.instance.memory_gib) for f, s in services.items()} == {
            "a": (Tier.EDGE, 0.25), "b": (Tier.REGIONAL, 0.5)}
        assert set(tier_capacities(list_nodes(api))) == {Tier.EDGE, Tier.REGIONAL, Tier.CLOUD}
        actuator = KnativeActuator(client.CustomObjectsApi(api))

        def serving() -> list[dict[str, Any]]:
            return actuator.serving_revisions(FUNCTION_LABEL)[("functions", "fn-00000")]

        [warm] = actuator.apply_warm(WarmTarget("functions", "fn-00000", min_scale=3, max_scale=4), serving())
        assert warm.name == "fn-00000-00001"
        assert actuator.apply_warm(WarmTarget("functions", "fn-00000", min_scale=3, max_scale=4), serving()) == []
        assert _ready(cluster, {})["a"] == (3, False)
        # Placement rolls a new Revision; the warm pool and its annotations carry over.
        selector, tolerations = tier_scheduling(Tier.CLOUD, gpu=False)
        assert actuator.apply_placement(PlacementTarget("functions", "fn-00000", selector, tolerations))
        route = cluster.objects["/apis/serving.knative.dev/v1/namespaces/functions/routes/fn-00000"]
        assert route["status"]["traffic"][0]["revisionName"] == "fn-00000-00002"
        revision = cluster.objects["/apis/serving.knative.dev/v1/namespaces/functions/revisions/fn-00000-00002"]
        assert revision["metadata"]["annotations"][MIN_SCALE] == "3"
        assert [r["metadata"]["name"] for r in serving()] == ["fn-00000-00002"]  # the old one is `reserve` now
        outcome = cluster.step({"a": 1}, {"a": 10.0})
        assert (outcome.functions[0].tier, outcome.functions[0].ready_pods, outcome.functions[0].cold_start) == (
            "cloud", 3, False)
        assert function_services(api)["a"].tier is Tier.CLOUD


def test_the_facade_lists_only_metadata_when_asked_and_whole_objects_otherwise() -> None:
    with ClusterApiServer(_cluster(FunctionSpec("a", 256.0))) as server:
        objects = client.CustomObjectsApi(server.api_client())
        whole: dict[str, Any] = objects.list_namespaced_custom_object(  # type: ignore[assignment]
            "serving.knative.dev", "v1", "functions", "revisions")
        metadata: dict[str, Any] = objects.list_namespaced_custom_object(  # type: ignore[assignment]
            "serving.knative.dev", "v1", "functions", "revisions", _headers={"Accept": METADATA_LIST_ACCEPT})
    assert (whole["kind"], [item["kind"] for item in whole["items"]]) == ("List", ["Revision"])
    assert "spec" in whole["items"][0]
    assert (metadata["kind"], metadata["apiVersion"]) == ("PartialObjectMetadataList", "meta.k8s.io/v1")
    assert metadata["items"] == [{"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
                                  "metadata": whole["items"][0]["metadata"]}]


def test_leader_election_takes_the_lease_on_the_facade() -> None:
    with ClusterApiServer(SimulatedCluster()) as server:
        first = LeaseLeadership("isf-warming", "serverless-system", "one", api_client=server.api_client(),
                                lease_duration_s=4, renew_deadline_s=3, retry_period_s=1)
        second = LeaseLeadership("isf-warming", "serverless-system", "two", api_client=server.api_client(),
                                 lease_duration_s=4, renew_deadline_s=3, retry_period_s=1)
        first.start()
        assert first.wait_until_leader(10)
        second.start()
        assert not second.wait_until_leader(2)


def test_the_barrier_clock_advances_only_when_every_loop_has_finished_its_pass() -> None:
    clock = BarrierClock(T0, frozenset({"slow", "fast"}))
    passes: list[tuple[str, datetime]] = []
    with ClusterApiServer(SimulatedCluster(), clock) as server:
        sim = SimulatedClock(server.url + CLOCK_PATH)
        registry = CollectorRegistry()
        metrics = LoopMetrics(registry)

        def action(name: str, pause: float) -> None:
            passes.append((name, sim()))
            time.sleep(pause)

        loops = [ClockedLoop("slow", 60, lambda: action("slow", 0.3), metrics, clock=sim),
                 ClockedLoop("fast", 30, lambda: action("fast", 0.0), metrics, clock=sim)]
        for loop in loops:
            loop.start()
        try:
            assert clock.wait_idle(10)
            assert clock.advance_through(T0 + timedelta(minutes=2), 10)
        finally:
            for loop in loops:
                loop.stop(5)
    seconds = sorted((name, int((at - T0).total_seconds())) for name, at in passes)
    assert seconds == [("fast", 0), ("fast", 30), ("fast", 60), ("fast", 90), ("fast", 120),
                       ("slow", 0), ("slow", 60), ("slow", 120)]


def test_a_loop_off_the_barrier_runs_one_pass_after_falling_behind_not_one_per_missed_interval() -> None:
    clock = BarrierClock(T0, frozenset({"held"}))
    passes: list[int] = []
    with ClusterApiServer(SimulatedCluster(), clock) as server:
        sim = SimulatedClock(server.url + CLOCK_PATH)
        started = threading.Event()

        def slow() -> None:  # the first pass lasts while the clock runs 5 minutes on
            passes.append(int((sim() - T0).total_seconds()))
            started.set()
            if len(passes) == 1:
                time.sleep(1.0)

        follower = ClockedLoop("follower", 60, slow, LoopMetrics(CollectorRegistry()), clock=sim)
        held = ClockedLoop("held", 60, lambda: None, LoopMetrics(CollectorRegistry()), clock=sim)
        follower.start()
        held.start()
        try:
            assert started.wait(10) and clock.wait_idle(10)
            assert clock.advance_through(T0 + timedelta(minutes=5, seconds=30), 10)
            time.sleep(1.5)  # the first pass ends; the follower catches up
            assert clock.advance_through(T0 + timedelta(minutes=6), 10)
            time.sleep(0.5)
        finally:
            follower.stop(5)
            held.stop(5)
    assert passes == [0, 330, 360]  # one pass when it catches up (at 5:30), not five back to back


def test_a_controller_without_a_cluster_uses_the_embedded_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from runtime.api.config import ServiceSettings
    from runtime.contract import ServiceRole
    from runtime.services import apps

    monkeypatch.delenv(environment.KUBERNETES_SERVICE_HOST, raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = ServiceSettings(database_url=f"sqlite:///{tmp_path / 'none.sqlite3'}")  # type: ignore[call-arg]
    api = apps._cluster_client(ServiceRole.WARMING, settings)
    assert set(tier_capacities(list_nodes(api))) == {Tier.EDGE, Tier.REGIONAL, Tier.CLOUD}
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("isf serve warming: no Kubernetes cluster configured") and "simulated cluster" in line


def test_a_service_that_cannot_start_is_one_line_and_none_is_left_running(tmp_path: Path) -> None:
    import os

    env = {**os.environ, environment.SERVICE: "placement",  # every role but placement refuses to start
           environment.DATABASE_URL: f"sqlite:///{tmp_path / 'isf.sqlite3'}"}
    processes = ServiceProcesses(env, tmp_path)
    processes.start(("api", "placement"))
    try:
        with pytest.raises(LoopError, match=r"^isf serve api stopped \(exit 2\): .*placement"):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                processes.check_alive()
                time.sleep(0.2)
    finally:
        processes.stop(timeout_s=20)
    assert all(s.process.poll() is not None for s in processes.services)


def test_stopping_is_prompt_while_a_loop_waits_on_the_clock() -> None:
    clock = BarrierClock(T0, frozenset({"warming"}))
    with ClusterApiServer(SimulatedCluster(), clock) as server:
        loop = ClockedLoop("warming", 30, lambda: None, LoopMetrics(CollectorRegistry()),
                           clock=SimulatedClock(server.url + CLOCK_PATH))
        loop.start()
        assert clock.wait_idle(10)
        started = time.monotonic()
        stopper = threading.Thread(target=loop.stop, args=(10,))
        stopper.start()
        stopper.join(10)
        assert time.monotonic() - started < 5
