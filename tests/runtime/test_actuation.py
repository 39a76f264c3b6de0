"""Warm pools and placement reach Knative as the exact merge patches, and only when they change something."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from runtime.actuation.patches import (
    MAX_SCALE,
    MIN_SCALE,
    SCALE_DOWN_DELAY,
    KnativeActuator,
    PlacementTarget,
    WarmTarget,
    serving_revisions,
)
from tests.runtime.fake_kube import FakeKube

NS = "functions"
BASE = f"/apis/serving.knative.dev/v1/namespaces/{NS}"


def _route(traffic: list[dict[str, object]]) -> dict[str, object]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Route", "metadata": {"name": "hello"},
            "status": {"traffic": traffic}}


def _revision(name: str, annotations: dict[str, str] | None = None) -> dict[str, object]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": name, "annotations": annotations or {}}}


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube() as fake:
        fake.put(f"{BASE}/routes/hello", _route([
            {"revisionName": "hello-00002", "percent": 90, "latestRevision": True},
            {"revisionName": "hello-00001", "percent": 10},
            {"revisionName": "hello-00000", "percent": 0},
        ]))
        for name in ("hello-00000", "hello-00001", "hello-00002"):
            fake.put(f"{BASE}/revisions/{name}", _revision(name))
        fake.put(f"{BASE}/services/hello", {
            "apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "hello"},
            "spec": {"template": {"spec": {"nodeSelector": {"tier": "cloud", "zone": "a"},
                                           "containers": [{"image": "hello"}]}}}})
        yield fake


def _actuator(kube: FakeKube, dry_run: bool = False) -> KnativeActuator:
    return KnativeActuator(client.CustomObjectsApi(kube.api_client()), dry_run=dry_run)


def test_warm_pool_is_patched_onto_every_revision_the_route_serves_and_no_other(kube: FakeKube) -> None:
    done = _actuator(kube).apply_warm(WarmTarget(NS, "hello", min_scale=3, max_scale=20, scale_down_delay_s=300))

    assert [a.name for a in done] == ["hello-00001", "hello-00002"]
    patches = kube.writes()
    assert [(r.method, r.path, r.content_type) for r in patches] == [
        ("PATCH", f"{BASE}/revisions/hello-00001", "application/merge-patch+json"),
        ("PATCH", f"{BASE}/revisions/hello-00002", "application/merge-patch+json"),
    ]
    assert patches[0].body == {"metadata": {"annotations": {MIN_SCALE: "3", MAX_SCALE: "20", SCALE_DOWN_DELAY: "300s"}}}
    assert kube.get(f"{BASE}/revisions/hello-00002")["metadata"]["annotations"][MIN_SCALE] == "3"
    assert kube.get(f"{BASE}/revisions/hello-00000")["metadata"]["annotations"] == {}


def test_reapplying_the_same_warm_pool_sends_no_patch(kube: FakeKube) -> None:
    target = WarmTarget(NS, "hello", min_scale=2)
    _actuator(kube).apply_warm(target)
    before = len(kube.writes())

    assert _actuator(kube).apply_warm(target) == []
    assert len(kube.writes()) == before


def test_only_changed_annotations_are_sent(kube: FakeKube) -> None:
    _actuator(kube).apply_warm(WarmTarget(NS, "hello", min_scale=2, scale_down_delay_s=60))
    _actuator(kube).apply_warm(WarmTarget(NS, "hello", min_scale=5, scale_down_delay_s=60))

    assert kube.writes()[-1].body == {"metadata": {"annotations": {MIN_SCALE: "5"}}}


def test_dry_run_computes_patches_but_writes_nothing(kube: FakeKube) -> None:
    done = _actuator(kube, dry_run=True).apply_warm(WarmTarget(NS, "hello", min_scale=4))

    assert len(done) == 2 and all(a.dry_run for a in done)
    assert kube.writes() == []


def test_scale_down_delay_is_capped_at_knatives_one_hour_limit() -> None:
    assert WarmTarget(NS, "f", min_scale=1, scale_down_delay_s=7200).annotations()[SCALE_DOWN_DELAY] == "3600s"


def test_invalid_warm_targets_are_refused_with_the_service_named() -> None:
    with pytest.raises(ValueError, match="functions/f: min_scale must be >= 0"):
        WarmTarget(NS, "f", min_scale=-1)
    with pytest.raises(ValueError, match="max_scale \\(2\\) must be >= min_scale \\(3\\)"):
        WarmTarget(NS, "f", min_scale=3, max_scale=2)


def test_placement_replaces_the_node_selector_and_tolerations_of_the_template(kube: FakeKube) -> None:
    gpu = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    done = _actuator(kube).apply_placement(PlacementTarget(NS, "hello", {"tier": "edge"}, gpu))

    assert [(a.kind, a.name) for a in done] == [("Service", "hello")]
    assert kube.writes()[0].body == {"spec": {"template": {"spec": {
        "nodeSelector": {"tier": "edge", "zone": None}, "tolerations": gpu}}}}
    spec = kube.get(f"{BASE}/services/hello")["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"tier": "edge"}
    assert spec["containers"] == [{"image": "hello"}]
    assert _actuator(kube).apply_placement(PlacementTarget(NS, "hello", {"tier": "edge"}, gpu)) == []


def test_revisions_without_traffic_or_name_are_ignored() -> None:
    assert serving_revisions({"status": {"traffic": [{"percent": 100}, {"revisionName": "a", "percent": 0}]}}) == []
    assert serving_revisions({}) == []
