"""Autoscaling beyond CPU: an autoscaling/v2 HPA on CPU, memory and per-pod custom metrics with scale-up and
scale-down behaviour, and a VerticalPodAutoscaler (autoscaling.k8s.io/v1).

Custom per-pod metrics (`PodsMetric`) come from the custom metrics API, which prometheus-adapter serves
from Prometheus series (`components/platform_addons/prometheus_adapter.py` holds the rules).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from components.workloads.manifests import Manifest
from components.workloads.spec import check_quantity


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PodsMetric(_Spec):
    """A per-pod metric of the custom metrics API and the average value per pod to hold."""

    name: Annotated[str, Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    average_value: str

    @field_validator("average_value")
    @classmethod
    def _is_quantity(cls, value: str) -> str:
        return check_quantity(value, "average_value")


class PolicyType(StrEnum):
    PERCENT = "Percent"
    PODS = "Pods"


class ScalingPolicy(_Spec):
    """At most `value` (percent or pods) per `period_seconds`."""

    type: PolicyType = PolicyType.PERCENT
    value: Annotated[int, Field(ge=1)]
    period_seconds: Annotated[int, Field(ge=1, le=1800)]


class ScalingRules(_Spec):
    """One direction's stabilisation window and rate limits."""

    stabilization_window_seconds: Annotated[int, Field(ge=0, le=3600)]
    policies: list[ScalingPolicy] = Field(min_length=1)


class ScalingBehavior(_Spec):
    scale_up: ScalingRules | None = None
    scale_down: ScalingRules | None = None


class HorizontalScaling(_Spec):
    """Replica bounds and the targets an HPA holds; at least one target."""

    min_replicas: Annotated[int, Field(ge=1)] = 1
    max_replicas: Annotated[int, Field(ge=1)] = 10
    cpu_utilization: Annotated[int, Field(ge=1, le=100)] | None = 70
    memory_utilization: Annotated[int, Field(ge=1, le=100)] | None = None
    pods_metrics: list[PodsMetric] = []
    behavior: ScalingBehavior | None = None

    @model_validator(mode="after")
    def _sane(self) -> Self:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) must not exceed max_replicas ({self.max_replicas})")
        if self.cpu_utilization is None and self.memory_utilization is None and not self.pods_metrics:
            raise ValueError("an autoscaler needs at least one target (cpu_utilization, memory_utilization or pods_metrics)")
        return self


def _rules(rules: ScalingRules) -> Manifest:
    return {
        "stabilizationWindowSeconds": rules.stabilization_window_seconds,
        "policies": [{"type": p.type.value, "value": p.value, "periodSeconds": p.period_seconds} for p in rules.policies],
    }


def horizontal_autoscaler(
    name: str, namespace: str, object_labels: dict[str, str], target: tuple[str, str], scaling: HorizontalScaling
) -> Manifest:
    """An autoscaling/v2 HPA of `target` (kind, name: a Deployment or StatefulSet)."""
    metrics: list[Manifest] = []
    for resource, utilization in (("cpu", scaling.cpu_utilization), ("memory", scaling.memory_utilization)):
        if utilization is not None:
            metrics.append({"type": "Resource", "resource": {
                "name": resource, "target": {"type": "Utilization", "averageUtilization": utilization}}})
    metrics += [
        {"type": "Pods", "pods": {"metric": {"name": m.name}, "target": {"type": "AverageValue", "averageValue": m.average_value}}}
        for m in scaling.pods_metrics
    ]
    spec: Manifest = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": target[0], "name": target[1]},
        "minReplicas": scaling.min_replicas,
        "maxReplicas": scaling.max_replicas,
        "metrics": metrics,
    }
    if scaling.behavior is not None:
        behavior: Manifest = {}
        if scaling.behavior.scale_up is not None:
            behavior["scaleUp"] = _rules(scaling.behavior.scale_up)
        if scaling.behavior.scale_down is not None:
            behavior["scaleDown"] = _rules(scaling.behavior.scale_down)
        spec["behavior"] = behavior
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": namespace, "labels": object_labels}, "spec": spec}


class UpdateMode(StrEnum):
    """VPA update modes (autoscaling.k8s.io/v1, VPA 1.7): `Off` only recommends."""

    OFF = "Off"
    INITIAL = "Initial"
    RECREATE = "Recreate"
    IN_PLACE_OR_RECREATE = "InPlaceOrRecreate"


class VerticalScaling(_Spec):
    """A VerticalPodAutoscaler's mode and the bounds of its recommendations for one container."""

    update_mode: UpdateMode = UpdateMode.OFF
    min_cpu: str = "500m"
    min_memory: str = "1Gi"
    max_cpu: str = "4"
    max_memory: str = "8Gi"

    @field_validator("min_cpu", "min_memory", "max_cpu", "max_memory")
    @classmethod
    def _is_quantity(cls, value: str, info: object) -> str:
        return check_quantity(value, getattr(info, "field_name", "quantity"))


def vertical_autoscaler(
    name: str, namespace: str, object_labels: dict[str, str], target: tuple[str, str], container: str,
    scaling: VerticalScaling,
) -> Manifest:
    """A VerticalPodAutoscaler of `target` (kind, name) bounding `container`'s recommendations."""
    return {
        "apiVersion": "autoscaling.k8s.io/v1",
        "kind": "VerticalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace, "labels": object_labels},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": target[0], "name": target[1]},
            "updatePolicy": {"updateMode": scaling.update_mode.value},
            "resourcePolicy": {"containerPolicies": [{
                "containerName": container,
                "minAllowed": {"cpu": scaling.min_cpu, "memory": scaling.min_memory},
                "maxAllowed": {"cpu": scaling.max_cpu, "memory": scaling.max_memory},
            }]},
        },
    }
