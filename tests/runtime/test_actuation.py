"""Warm pools and placement reach Knative as the exact merge patches, and only when they change something."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from kubernetes import client

from runtime.actuation.patches import (
    MAX_SCALE,
    MIN_SCALE,
    SCALE_DOWN_DELAY,
    Actuation,
    KnativeActuator,
    PlacementTarget,
    WarmTarget,
)
from runtime.contract.kubernetes import (
    FUNCTION_LABEL,
    METADATA_LIST_ACCEPT,
    ROUTING_STATE_ACTIVE,
    ROUTING_STATE_LABEL,
    ROUTING_STATE_RESERVE,
    SERVICE_LABEL,
)
from tests.runtime.fake_kube import FakeKube

NS = "functions"
BASE = f"/apis/serving.knative.dev/v1/namespaces/{NS}"


def _revision(name: str, state: str, *, function: str | None = "hello") -> dict[str, object]:
    """A Revision as Knative labels it: its Service, its routing state, and its template's labels."""
    labels = {SERVICE_LABEL: "hello", ROUTING_STATE_LABEL: state}
    if function is not None:
        labels[FUNCTION_LABEL] = function
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
            "metadata": {"name": name, "namespace": NS, "annotations": {}, "labels": labels},
            "spec": {"containers": [{"image": "hello"}]}}


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube() as fake:
        # A traffic split (90/10) keeps two Revisions active; the first one no Route references any more.
        fake.put(f"{BASE}/revisions/hello-00000", _revision("hello-00000", ROUTING_STATE_RESERVE))
        fake.put(f"{BASE}/revisions/hello-00001", _revision("hello-00001", ROUTING_STATE_ACTIVE))
        fake.put(f"{BASE}/revisions/hello-00002", _revision("hello-00002", ROUTING_STATE_ACTIVE))
        fake.put(f"{BASE}/revisions/other-00001", _revision("other-00001", ROUTING_STATE_ACTIVE, function=None))
        fake.put(f"{BASE}/services/hello", {
            "apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": {"name": "hello"},
            "spec": {"template": {"spec": {"nodeSelector": {"tier": "cloud", "zone": "a"},
                                           "containers": [{"image": "hello"}]}}}})
        yield fake


def _actuator(kube: FakeKube, dry_run: bool = False) -> KnativeActuator:
    return KnativeActuator(client.CustomObjectsApi(kube.api_client()), dry_run=dry_run)


def _apply(kube: FakeKube, target: WarmTarget, *, dry_run: bool = False) -> list[Actuation]:
    """One pass's worth: list the serving Revisions once, then bring the Service's to `target`."""
    actuator = _actuator(kube, dry_run)
    serving = actuator.serving_revisions(FUNCTION_LABEL, [NS])
    return list(actuator.apply_warm(target, serving.get((NS, target.service), [])))


def test_the_serving_revisions_are_listed_once_with_the_function_and_routing_state_labels(kube: FakeKube) -> None:
    serving = _actuator(kube).serving_revisions(FUNCTION_LABEL, [NS])

    assert {key: sorted(r["metadata"]["name"] for r in revisions) for key, revisions in serving.items()} == {
        (NS, "hello"): ["hello-00001", "hello-00002"]}
    [listed] = kube.requests
    assert (listed.method, listed.path) == ("GET", f"{BASE}/revisions")
    assert parse_qs(listed.query)["labelSelector"] == [f"{FUNCTION_LABEL},{ROUTING_STATE_LABEL}={ROUTING_STATE_ACTIVE}"]
    # Only metadata is asked for and read: no Revision's spec is sent.
    assert listed.accept == METADATA_LIST_ACCEPT
    assert all(r["kind"] == "PartialObjectMetadata" and "spec" not in r for rs in serving.values() for r in rs)


def test_warm_pool_is_patched_onto_every_revision_the_route_serves_and_no_other(kube: FakeKube) -> None:
    done = _apply(kube, WarmTarget(NS, "hello", min_scale=3, max_scale=20, scale_down_delay_s=300))

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
    _apply(kube, target)
    before = len(kube.writes())

    assert _apply(kube, target) == []
    assert len(kube.writes()) == before


def test_only_changed_annotations_are_sent(kube: FakeKube) -> None:
    _apply(kube, WarmTarget(NS, "hello", min_scale=2, scale_down_delay_s=60))
    _apply(kube, WarmTarget(NS, "hello", min_scale=5, scale_down_delay_s=60))

    assert kube.writes()[-1].body == {"metadata": {"annotations": {MIN_SCALE: "5"}}}


def test_dry_run_computes_patches_but_writes_nothing(kube: FakeKube) -> None:
    done = _apply(kube, WarmTarget(NS, "hello", min_scale=4), dry_run=True)

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
    assert kube.writes()[0].body == {"spec": {"template": {
        "spec": {"nodeSelector": {"tier": "edge", "zone": None}, "tolerations": gpu},
        "metadata": {"labels": {"isf.io/tier": "edge"}},  # the pods' tier label follows (Beyla's `tier`)
    }}}
    spec = kube.get(f"{BASE}/services/hello")["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"tier": "edge"}
    assert spec["containers"] == [{"image": "hello"}]
    assert _actuator(kube).apply_placement(PlacementTarget(NS, "hello", {"tier": "edge"}, gpu)) == []

