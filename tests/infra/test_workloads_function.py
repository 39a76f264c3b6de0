"""Functions become Knative Services with autoscaling annotations and tier placement."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from components.workloads import FunctionSpec, ScaleMetric, Visibility, knative_service
from runtime.contract import Tier


def template(spec: FunctionSpec) -> dict[str, Any]:
    return knative_service(spec, "functions")["spec"]["template"]


def test_function_is_a_serving_knative_v1_service_with_a_valid_envelope(validate_manifest: Any) -> None:
    manifest = knative_service(FunctionSpec(name="resize", image="img:1"), "functions")
    assert (manifest["apiVersion"], manifest["kind"]) == ("serving.knative.dev/v1", "Service")
    validate_manifest(manifest)


def test_autoscaling_annotations_use_knatives_names_and_string_values() -> None:
    spec = FunctionSpec(name="resize", image="img:1", min_scale=2, max_scale=20, target=50, window_seconds=120,
                        scale_down_delay_seconds=300, initial_scale=3, metric=ScaleMetric.RPS)
    assert template(spec)["metadata"]["annotations"] == {
        "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
        "autoscaling.knative.dev/metric": "rps",
        "autoscaling.knative.dev/target": "50",
        "autoscaling.knative.dev/min-scale": "2",
        "autoscaling.knative.dev/max-scale": "20",
        "autoscaling.knative.dev/window": "120s",
        "autoscaling.knative.dev/scale-down-delay": "300s",
        "autoscaling.knative.dev/initial-scale": "3",
    }


def test_edge_function_is_pinned_to_edge_nodes() -> None:
    pod = template(FunctionSpec(name="geo", image="img:1", tier=Tier.EDGE))["spec"]
    assert pod["nodeSelector"] == {"tier": "edge"}
    assert pod["tolerations"] == [{"key": "tier", "operator": "Equal", "value": "edge", "effect": "NoSchedule"}]


def test_gpu_function_requests_the_gpu_and_tolerates_the_gpu_taint() -> None:
    pod = template(FunctionSpec(name="infer", image="img:1", tier=Tier.CLOUD, gpus=1))["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])


def test_function_container_is_hardened_with_a_writable_tmp() -> None:
    pod = template(FunctionSpec(name="f", image="img:1"))["spec"]
    security = pod["containers"][0]["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["capabilities"] == {"drop": ["ALL"]}
    assert security["allowPrivilegeEscalation"] is False and security["runAsNonRoot"] is True
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]


def test_cluster_local_function_carries_the_visibility_label() -> None:
    manifest = knative_service(FunctionSpec(name="f", image="i", visibility=Visibility.CLUSTER_LOCAL), "fns")
    assert manifest["metadata"]["labels"]["networking.knative.dev/visibility"] == "cluster-local"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_scale": 5, "max_scale": 2}, r"min_scale \(5\) must not exceed max_scale \(2\)"),
        ({"window_seconds": 2}, "window_seconds"),
        ({"target": 0}, "target"),
        ({"tier": "orbit"}, "tier"),
    ],
)
def test_bad_function_specs_fail_naming_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FunctionSpec.model_validate({"name": "f", "image": "i"} | changes)


def test_pulumi_leaves_the_fields_placement_patches_to_the_placement_service() -> None:
    from components.workloads.component import PLACEMENT_OWNED_FIELDS
    from runtime.actuation.patches import PlacementTarget, placement_patch

    patch = placement_patch({}, PlacementTarget("functions", "f", {"tier": "edge"}, []))
    assert patch is not None
    template = patch["spec"]["template"]
    patched = {f"spec.template.spec.{field}" for field in template["spec"]}
    patched |= {f'spec.template.metadata.labels["{label}"]' for label in template["metadata"]["labels"]}
    assert patched == set(PLACEMENT_OWNED_FIELDS)
    assert template["metadata"]["labels"] == {"isf.io/tier": "edge"}  # Beyla's `tier` follows the move
