"""The placement service moves functions between tiers by patching their Knative Service template."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from runtime.contract import Tier
from runtime.services.placement import PlacementController
from runtime.settings import RuntimeSettings
from runtime.store import (
    AuditOutcome,
    Forecast,
    PoolDecision,
    audit_log,
    get_function,
    latest_placements,
    record_decisions,
    record_forecasts,
)
from tests.runtime.fake_kube import FakeKube
from tests.runtime.test_services_warming import KNATIVE, knative_function, node

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube() as fake:
        node(fake, "edge-1", "edge", cpu="2", memory="4Gi")
        node(fake, "cloud-1", "cloud", cpu="64", memory="256Gi")
        knative_function(fake, "checkout", tier="cloud")
        knative_function(fake, "nightly-report", tier="cloud")
        yield fake


def controller(engine: Engine, kube: FakeKube, **placement: object) -> PlacementController:
    settings = RuntimeSettings.model_validate({"placement": placement})
    return PlacementController(engine, kube.api_client(), settings, CollectorRegistry(), clock=lambda: NOW)


def busy_and_quiet(engine: Engine) -> None:
    record_forecasts(engine, [Forecast("checkout", NOW, "m", [6000.0] * 15),
                              Forecast("nightly-report", NOW, "m", [0.0] * 15)])


def test_a_busy_function_moves_to_the_edge_by_a_patch_of_its_template(engine: Engine, kube: FakeKube) -> None:
    busy_and_quiet(engine)

    result = controller(engine, kube).run_pass()

    assert result.result is not None and result.result.assignment["checkout"] is Tier.EDGE
    assert result.result.assignment["nightly-report"] is Tier.CLOUD
    [patch] = kube.writes()
    assert (patch.method, patch.path) == ("PATCH", f"{KNATIVE}/services/checkout")
    assert patch.body == {"spec": {"template": {
        "spec": {
            "nodeSelector": {"tier": "edge"},
            "tolerations": [{"key": "tier", "operator": "Equal", "value": "edge", "effect": "NoSchedule"}],
        },
        "metadata": {"labels": {"isf.io/tier": "edge"}},
    }}}
    [placement] = latest_placements(engine)
    assert (placement.function_id, placement.tier, placement.previous_tier) == ("checkout", Tier.EDGE, Tier.CLOUD)
    info = get_function(engine, "checkout")
    assert info is not None and info.tier is Tier.EDGE
    stayed = get_function(engine, "nightly-report")  # not moved: recorded where its Service runs it
    assert stayed is not None and stayed.tier is Tier.CLOUD
    [entry] = audit_log(engine)
    assert (entry.actor, entry.target, entry.outcome) == ("placement", "Service functions/checkout",
                                                          AuditOutcome.APPLIED)


def test_no_function_moves_when_the_migration_limit_is_zero(engine: Engine, kube: FakeKube) -> None:
    busy_and_quiet(engine)

    result = controller(engine, kube, max_migrations_per_interval=0).run_pass()

    assert result.moved == 0
    assert kube.writes() == []


def test_placement_respects_tier_capacity(engine: Engine, kube: FakeKube) -> None:
    # Each instance asks for 500m; the edge's 2 CPUs cannot take a pool of 10.
    busy_and_quiet(engine)
    record_decisions(engine, [PoolDecision("checkout", NOW, 10, 60, 9.0)])

    result = controller(engine, kube).run_pass()

    assert result.result is not None and result.result.assignment["checkout"] is Tier.CLOUD
    assert kube.writes() == []


def test_a_tier_without_a_configured_latency_is_a_clear_error(engine: Engine, kube: FakeKube) -> None:
    busy_and_quiet(engine)

    with pytest.raises(ValueError, match=r"tier_latency_ms has no entry for tier\(s\) \['edge'\]"):
        controller(engine, kube, tier_latency_ms={"cloud": 80.0}).run_pass()
