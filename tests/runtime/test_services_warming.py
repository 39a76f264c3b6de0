"""The warming service turns forecasts into warm pools on Knative: exact patches, bounds, audit, dry-run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from runtime.api.loop import LoopMetrics, PeriodicLoop
from runtime.contract.kubernetes import (
    FUNCTION_LABEL,
    MAX_SCALE,
    MIN_SCALE,
    ROUTING_STATE_ACTIVE,
    ROUTING_STATE_LABEL,
    ROUTING_STATE_RESERVE,
    SCALE_DOWN_DELAY,
    SERVICE_LABEL,
)
from runtime.services.warming import WarmingController, WarmingInputs, decide_pools
from runtime.services.warming_policy import LivePredictiveGate
from runtime.settings import RuntimeSettings
from runtime.store import (
    AuditOutcome,
    DurationStats,
    Forecast,
    FunctionInfo,
    InvocationRecord,
    audit_log,
    current_pools,
    record_durations,
    record_forecasts,
    record_invocations,
    upsert_functions,
)
from runtime.traces import load_trace
from runtime.warming.deployed import IngestLagged, decide_ahead
from runtime.warming.policy import AppProfile, WarmingPolicy
from runtime.warming.pool import make_predictive_pool
from runtime.warming.predictive import make_predictive_policy
from tests.runtime.fake_kube import FakeKube

NOW = datetime(2024, 5, 1, 12, 0, 20, tzinfo=UTC)
MINUTE = NOW.replace(second=0)
KNATIVE = "/apis/serving.knative.dev/v1/namespaces/functions"


def knative_function(kube: FakeKube, name: str, *, tier: str = "edge", cpu: str = "500m", memory: str = "256Mi",
                     revisions: tuple[str, ...] = ("00001",)) -> None:
    """Seed a labelled Knative Service, its Route (all traffic to the last revision) and its Revisions, labelled as
    Knative labels them (the Service, the template's function label, routingState active on the served one)."""
    kube.put(f"{KNATIVE}/services/{name}", {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "functions", "labels": {"isf.io/function": name}},
        "spec": {"template": {"spec": {
            "nodeSelector": {"tier": tier},
            "containers": [{"image": name, "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}}},
    })
    kube.put(f"{KNATIVE}/routes/{name}", {
        "apiVersion": "serving.knative.dev/v1", "kind": "Route", "metadata": {"name": name, "namespace": "functions"},
        "status": {"traffic": [{"revisionName": f"{name}-{revisions[-1]}", "percent": 100}]},
    })
    for revision in revisions:
        state = ROUTING_STATE_ACTIVE if revision == revisions[-1] else ROUTING_STATE_RESERVE
        kube.put(f"{KNATIVE}/revisions/{name}-{revision}", {
            "apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": f"{name}-{revision}", "namespace": "functions", "annotations": {},
                         "labels": {FUNCTION_LABEL: name, SERVICE_LABEL: name, ROUTING_STATE_LABEL: state}},
        })


def node(kube: FakeKube, name: str, tier: str, cpu: str, memory: str) -> None:
    kube.put(f"/api/v1/nodes/{name}", {
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"tier": tier}},
        "status": {"allocatable": {"cpu": cpu, "memory": memory},
                   "conditions": [{"type": "Ready", "status": "True"}]},
    })


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube() as fake:
        node(fake, "edge-1", "edge", cpu="4", memory="8Gi")
        knative_function(fake, "hello")
        yield fake


def forecast(engine: Engine, function_id: str, counts: list[float], *, start: datetime = MINUTE,
             duration_ms: float = 2000.0) -> None:
    upsert_functions(engine, [FunctionInfo(function_id, memory_mb=256.0)])
    record_durations(engine, "trace", [DurationStats(function_id, duration_ms)])
    record_forecasts(engine, [Forecast(function_id, start, "hybrid:test", counts)])


def controller(engine: Engine, kube: FakeKube, *, clock: list[datetime] | None = None,
               **warming: object) -> WarmingController:
    settings = RuntimeSettings.model_validate({"warming": warming})
    now = clock or [NOW]
    return WarmingController(engine, kube.api_client(), settings,
                             CollectorRegistry(), clock=lambda: now[0])


def invocations(engine: Engine, ids: list[str], counts: np.ndarray, start: datetime) -> None:
    """Store a functions x minutes count matrix from `start`, zeros included, as the Prometheus collector does."""
    record_invocations(engine, "test", [
        InvocationRecord(function_id, start + timedelta(minutes=m), int(counts[row, m]))
        for row, function_id in enumerate(ids) for m in range(counts.shape[1])
    ])


def test_the_pool_is_sized_from_the_forecast_and_patched_onto_the_serving_revision(
    engine: Engine, kube: FakeKube
) -> None:
    # 30 invocations/min x 2 s = 1 busy instance; x prewarm_buffer 1.5 -> 2 warm.
    forecast(engine, "hello", [30.0] * 15)

    result = controller(engine, kube).run_pass()

    assert (result.decided, result.actuated, result.failed) == (1, 1, 0)
    [patch] = kube.writes()
    assert (patch.method, patch.path) == ("PATCH", f"{KNATIVE}/revisions/hello-00001")
    assert patch.content_type == "application/merge-patch+json"
    # max-scale: the edge tier's 4 CPUs hold 8 instances of 500m; keep-alive: all 15 forecast minutes.
    assert patch.body == {"metadata": {"annotations": {MIN_SCALE: "2", MAX_SCALE: "8", SCALE_DOWN_DELAY: "900s"}}}
    assert current_pools(engine)["hello"].pool_size == 2
    [entry] = audit_log(engine)
    assert (entry.actor, entry.target, entry.outcome) == ("warming", "Revision functions/hello-00001",
                                                          AuditOutcome.APPLIED)
    assert entry.patch == patch.body


def test_dry_run_computes_and_audits_the_patch_but_sends_nothing(engine: Engine, kube: FakeKube) -> None:
    forecast(engine, "hello", [30.0] * 15)

    controller(engine, kube, dry_run=True).run_pass()

    assert kube.writes() == []
    [entry] = audit_log(engine)
    assert entry.outcome is AuditOutcome.DRY_RUN
    assert entry.patch["metadata"]["annotations"][MIN_SCALE] == "2"


def test_an_unchanged_decision_is_neither_recorded_nor_patched_again(engine: Engine, kube: FakeKube) -> None:
    forecast(engine, "hello", [30.0] * 15)
    warming = controller(engine, kube)
    warming.run_pass()

    second = warming.run_pass()

    assert (second.changed, second.actuated) == (0, 0)
    assert len(kube.writes()) == 1
    assert len(audit_log(engine)) == 1


def test_the_pool_never_exceeds_max_warm_pool_nor_what_the_tier_can_hold(engine: Engine, kube: FakeKube) -> None:
    forecast(engine, "hello", [1e6] * 15)

    controller(engine, kube, max_warm_pool=50).run_pass()

    decision = current_pools(engine)["hello"]
    # max_warm_pool caps it at 50, then 4 CPUs / 500m per instance leave room for 8.
    assert decision.pool_size == 8
    assert "max_warm_pool=50" in decision.reason and "fit tier edge" in decision.reason
    assert kube.writes()[0].body["metadata"]["annotations"][MIN_SCALE] == "8"


def test_functions_without_a_knative_service_get_decisions_but_no_patches(engine: Engine, kube: FakeKube) -> None:
    forecast(engine, "imported-from-a-trace", [30.0] * 15)

    result = controller(engine, kube).run_pass()

    assert (result.decided, result.actuated) == (1, 0)
    assert kube.writes() == []
    assert current_pools(engine)["imported-from-a-trace"].pool_size == 2


def test_a_failed_patch_is_audited_and_the_other_functions_still_get_theirs(engine: Engine, kube: FakeKube) -> None:
    knative_function(kube, "broken")
    kube.failing.add(f"{KNATIVE}/revisions/broken-00001")
    forecast(engine, "hello", [30.0] * 15)
    forecast(engine, "broken", [30.0] * 15)

    result = controller(engine, kube).run_pass()

    assert (result.actuated, result.failed) == (1, 1)
    outcomes = {entry.target: entry.outcome for entry in audit_log(engine)}
    assert outcomes == {"Service functions/broken": AuditOutcome.FAILED,
                        "Revision functions/hello-00001": AuditOutcome.APPLIED}


def test_keep_alive_lasts_through_the_last_forecast_minute_worth_an_idle_instance() -> None:
    inputs = WarmingInputs([Forecast("timer", MINUTE, "m", [5.0, 0.0, 0.0, 5.0] + [0.0] * 11)], {"timer": 100.0},
                           {"timer": 128.0})

    [decision] = decide_pools(inputs, RuntimeSettings(), NOW)

    assert decision.keep_alive_s == 4 * 60
    assert decision.pool_size == 1


def test_a_rarely_invoked_function_is_not_kept_warm_because_idling_costs_more() -> None:
    inputs = WarmingInputs([Forecast("rare", MINUTE, "m", [0.01] * 15)], {}, {"rare": 2048.0})

    [decision] = decide_pools(inputs, RuntimeSettings(), NOW)

    assert (decision.pool_size, decision.keep_alive_s) == (0, 0)


def test_a_forecast_whose_window_has_passed_holds_only_the_minimum_pool() -> None:
    old = Forecast("stale", MINUTE - timedelta(minutes=30), "m", [50.0] * 15)
    settings = RuntimeSettings.model_validate({"warming": {"min_warm_pool": 1}})

    [decision] = decide_pools(WarmingInputs([old], {}, {}), settings, NOW)

    assert (decision.pool_size, decision.keep_alive_s) == (1, 0)
    assert "stale" in decision.reason


def test_a_follower_replica_runs_no_pass() -> None:
    passes: list[int] = []
    loop = PeriodicLoop("warming", 30, lambda: passes.append(1), LoopMetrics(CollectorRegistry()),
                        may_act=lambda: False)

    assert loop.run_once() is False
    assert passes == []


def test_the_service_decides_minute_by_minute_exactly_what_the_simulated_policy_decides(engine: Engine) -> None:
    # What `isf simulate` measures is what runs: 30 bundled apps, 4 hours from 08:00, ingested with
    # the collector's lag (minute m stored one to three minutes later), ids not in trace order.
    counts = load_trace("sampled-500fn-1day").counts[:30, :240].astype(np.int64)
    ids = [f"fn-{(7 * i) % 30:02d}" for i in range(30)]
    start = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    # The reference is `isf simulate`'s predictive-deployed: the policy one minute behind, its budget booking
    # what was warm (`IngestLagged`); its policy learns minute t when t is revealed.
    profile = AppProfile(memory_mb=np.full(30, 256.0), duration_ms=np.full(30, 45_000.0))
    deployed = IngestLagged(make_predictive_policy())
    deployed.reset(profile)
    # `isf simulate`'s predictive-pool sizes the pools, its `forecast` rule gated by that policy's decisions; the
    # service tracks every function from before its first minute (its replay starts hours earlier), so the
    # simulated pool starts an hour early.
    decided_by_policy = _Decisions(30)
    pooled = make_predictive_pool(gate=decided_by_policy)
    pooled.reset(profile)
    for _ in range(60):
        pooled.warm_next()
        pooled.observe(np.zeros(30, dtype=np.int64))
    gate = LivePredictiveGate(RuntimeSettings())
    stored = 0

    compared = sized = 0
    rules: set[str] = set()
    for t in range(240):
        deployed.loaded_next()
        [(loaded, p)] = decide_ahead(deployed.policy, 0, 1)  # knowing every minute before t
        decided_by_policy.loaded = loaded
        pools = pooled.warm_next()
        if t >= 67:  # the service starts at 09:07 and replays what was stored before
            caught_up = t % 10 == 0
            lag = 1 if caught_up else 2 + t % 2
            if t + 1 - lag > stored:
                invocations(engine, ids, counts[:, stored : t + 1 - lag], start + timedelta(minutes=stored))
                stored = t + 1 - lag
            decided = gate.decide(engine, start + timedelta(minutes=t, seconds=20), lambda _: 256.0, lambda _: 45_000.0)
            assert decided is not None
            if caught_up:  # every past minute is stored: the gate must agree with the simulator exactly
                assert gate.budget is not None and deployed.policy.budget is not None  # and have booked the same
                assert gate.budget.spend_mb_minutes == pytest.approx(deployed.policy.budget.spend_mb_minutes)
                assert gate.budget.cold_start_usd == pytest.approx(deployed.policy.budget.cold_start_usd)
                for row, function_id in enumerate(ids):
                    if function_id in decided:
                        now = decided[function_id]
                        assert (now.loaded_now, now.probability_now) == (bool(loaded[row]), pytest.approx(p[row]))
                        assert now.pool == pools[row], (t, function_id, now.pool_rule)
                        compared += 1
                        sized += now.pool > 1
                        rules.add(now.pool_rule)
                    else:  # not invoked yet, so neither can load it
                        assert not loaded[row] and pools[row] == 0
        deployed.observe(counts[:, t])
        pooled.observe(counts[:, t])
    assert compared > 300 and sized > 0 and len(rules) > 2, (sized, rules)  # pools above 1, several rules
    assert gate.observed_until == start + timedelta(minutes=237)  # minutes 237, 238 not stored yet


class _Decisions(WarmingPolicy):
    """A gate that loads what it is told (the reference policy's decisions)."""

    name = "told"

    def __init__(self, n_apps: int) -> None:
        self.loaded = np.zeros(n_apps, dtype=np.bool_)

    def reset(self, profile: AppProfile, future: np.ndarray | None = None) -> None:
        del profile, future

    def loaded_next(self) -> np.ndarray:
        return self.loaded

    def observe(self, counts: np.ndarray) -> None:
        del counts


def test_a_timer_is_warmed_before_its_tick_and_released_between_ticks(engine: Engine, kube: FakeKube) -> None:
    # "hello" has fired at minute 5 of every quarter hour since 06:00; the forecast alone would keep it warm.
    ticks = np.zeros((1, 372), dtype=np.int64)
    ticks[0, 5::15] = 3
    six = NOW.replace(hour=6, minute=0, second=0)
    forecast(engine, "hello", [30.0] * 15)
    now = [NOW.replace(minute=4, second=40)]  # the pass in the second half of 12:04 pre-warms 12:05
    # A budget far below what keeping it warm between ticks costs (the default, fixed-10's waste, would pay for that).
    warming = controller(engine, kube, clock=now, budget={"kind": "mb_minutes_per_day", "value": 1.0})

    invocations(engine, ["hello"], ticks[:, :362], six)  # ingested through 12:01: 12:02, 12:03 still pending
    warming.run_pass()  # at 12:04:40, for 12:04 and 12:05 (the next pass comes after 12:05 begins)
    before_tick = current_pools(engine)["hello"]
    invocations(engine, ["hello"], ticks[:, 362:], six + timedelta(minutes=362))  # through 12:11
    now[0] = NOW.replace(minute=12)
    warming.run_pass()  # at 12:12:20, for 12:12 and 12:13
    between = current_pools(engine)["hello"]

    # Sized by the trailing-cost pool: every tick needed ceil(3 x 2 s / 60 s) = 1 instance.
    assert before_tick.pool_size == 1 and before_tick.reason.startswith("predictive policy: P(invocation)")
    assert (between.pool_size, between.keep_alive_s) == (0, 0)
    assert "idling costs more than a cold start" in between.reason
    annotations = [write.body["metadata"]["annotations"] for write in kube.writes()]
    assert [(a[MIN_SCALE], a.get(SCALE_DOWN_DELAY)) for a in annotations] == [("1", "0s"), ("0", None)]


def test_a_warming_interval_over_a_minute_is_refused_while_the_gate_decides_minute_by_minute() -> None:
    with pytest.raises(ValueError, match=r"interval \(300 s\) must be at most 60 while predictive_gate is on"):
        RuntimeSettings.model_validate({"warming": {"interval": 300}})
    assert RuntimeSettings.model_validate({"warming": {"interval": 300, "predictive_gate": False}}).warming.interval == 300


def test_with_ingest_stale_or_the_gate_off_the_forecast_decides(engine: Engine, kube: FakeKube) -> None:
    ticks = np.zeros((1, 120), dtype=np.int64)
    ticks[0, 5::15] = 3
    forecast(engine, "hello", [30.0] * 15)
    # Nothing stored for the last 10 minutes: an ingest outage cannot be told from silence.
    invocations(engine, ["hello"], ticks[:, :110], NOW.replace(hour=10, minute=0, second=0))
    controller(engine, kube, clock=[NOW.replace(minute=12)]).run_pass()
    assert current_pools(engine)["hello"].reason.startswith("expected 30 invocations")

    invocations(engine, ["hello"], np.ones((1, 10), dtype=np.int64), NOW.replace(minute=2, second=0))
    controller(engine, kube, clock=[NOW.replace(minute=12)], predictive_gate=False).run_pass()
    assert current_pools(engine)["hello"].reason.startswith("expected 30 invocations")


def test_a_deployed_functions_memory_request_sizes_it_where_the_catalogue_has_none(
    engine: Engine, kube: FakeKube
) -> None:
    """The warming policy prices idle memory and the api prices idle pods by the catalogue's size; a function the
    platform deployed has none until the warming service records its Service's request."""
    from runtime.store.functions import function_memory

    knative_function(kube, "sized", memory="512Mi")
    knative_function(kube, "traced", memory="256Mi")
    upsert_functions(engine, [FunctionInfo("traced", memory_mb=300.0)])  # an imported trace's size stands
    record_forecasts(engine, [Forecast(f, MINUTE, "hybrid:test", [30.0] * 15) for f in ("sized", "traced")])
    assert "sized" not in function_memory(engine)
    controller(engine, kube).run_pass()
    assert {f: mb for f, mb in function_memory(engine).items() if f in ("sized", "traced", "hello")} == {
        "sized": 512.0, "traced": 300.0, "hello": 256.0}
