"""A serverless function's intent and its `serving.knative.dev/v1` Service.

Annotation names follow Knative's autoscaling docs (`autoscaling.knative.dev/min-scale`, ...); the
warming controller patches `min-scale` and the placement optimizer patches nodeSelector/tolerations,
which the KnativeServing feature flags of `components/serving/knative.py` allow.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.workloads.manifests import Manifest
from components.workloads.security import TMP_MOUNT, TMP_VOLUME, container_security_context
from components.workloads.spec import DnsLabel, EnvName, ImageReference, Resources, SecretEnv
from runtime.contract import Tier
from runtime.contract.kubernetes import (
    AUTOSCALING_PREFIX,
    FUNCTION_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    MAX_SCALE,
    MIN_SCALE,
    SCALE_DOWN_DELAY,
    WORKLOAD_TIER_LABEL,
)
from runtime.contract.scheduling import placement

VISIBILITY_LABEL = "networking.knative.dev/visibility"


class ScaleMetric(StrEnum):
    """What the Knative Pod Autoscaler targets (`autoscaling.knative.dev/metric`)."""

    CONCURRENCY = "concurrency"
    RPS = "rps"


class Visibility(StrEnum):
    EXTERNAL = "external"
    CLUSTER_LOCAL = "cluster-local"


class FunctionSpec(BaseModel):
    """A function run by Knative Serving, scaled per request and placed on a tier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: DnsLabel
    image: ImageReference
    command: list[str] = []
    args: list[str] = []
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    env: dict[EnvName, str] = {}
    secret_env: list[SecretEnv] = []
    resources: Resources = Resources()
    tier: Tier = Tier.REGIONAL
    gpus: Annotated[int, Field(ge=0, le=8)] = 0
    min_scale: Annotated[int, Field(ge=0)] = 0
    max_scale: Annotated[int, Field(ge=0, description="0 = unbounded")] = 0
    initial_scale: Annotated[int | None, Field(ge=0)] = None
    metric: ScaleMetric = ScaleMetric.CONCURRENCY
    target: Annotated[float, Field(gt=0, description="per-pod concurrency or requests/s to aim for")] = 100
    container_concurrency: Annotated[int, Field(ge=0, le=1000, description="hard limit; 0 = unlimited")] = 0
    window_seconds: Annotated[int, Field(ge=6, le=3600)] = 60
    scale_down_delay_seconds: Annotated[int, Field(ge=0, le=3600)] = 0
    timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 300
    visibility: Visibility = Visibility.EXTERNAL
    run_as_user: Annotated[int, Field(ge=1)] = 65532
    readiness_path: str = "/"
    labels: dict[str, str] = {}

    @model_validator(mode="after")
    def _scale_bounds(self) -> Self:
        if self.max_scale and self.min_scale > self.max_scale:
            raise ValueError(f"min_scale ({self.min_scale}) must not exceed max_scale ({self.max_scale})")
        if self.max_scale and self.initial_scale is not None and self.initial_scale > self.max_scale:
            raise ValueError(f"initial_scale ({self.initial_scale}) must not exceed max_scale ({self.max_scale})")
        return self


def autoscaling_annotations(spec: FunctionSpec) -> dict[str, str]:
    """Knative Pod Autoscaler annotations of the revision template (values are strings)."""
    annotations = {
        f"{AUTOSCALING_PREFIX}/class": "kpa.autoscaling.knative.dev",
        f"{AUTOSCALING_PREFIX}/metric": spec.metric.value,
        f"{AUTOSCALING_PREFIX}/target": f"{spec.target:g}",
        MIN_SCALE: str(spec.min_scale),
        MAX_SCALE: str(spec.max_scale),
        f"{AUTOSCALING_PREFIX}/window": f"{spec.window_seconds}s",
        SCALE_DOWN_DELAY: f"{spec.scale_down_delay_seconds}s",
    }
    if spec.initial_scale is not None:
        annotations[f"{AUTOSCALING_PREFIX}/initial-scale"] = str(spec.initial_scale)
    return annotations


def knative_service(spec: FunctionSpec, namespace: str) -> Manifest:
    """The `serving.knative.dev/v1` Service of a function, hardened and pinned to its tier."""
    scheduling = placement(spec.tier, spec.gpus)
    labels = {**spec.labels, FUNCTION_LABEL: spec.name, WORKLOAD_TIER_LABEL: spec.tier.value, MANAGED_BY_LABEL: MANAGED_BY}
    if spec.visibility is Visibility.CLUSTER_LOCAL:
        labels[VISIBILITY_LABEL] = "cluster-local"
    env = [{"name": key, "value": value} for key, value in sorted(spec.env.items())] + [
        {"name": ref.name, "valueFrom": {"secretKeyRef": {"name": ref.secret, "key": ref.key, "optional": ref.optional}}}
        for ref in spec.secret_env
    ]
    container: dict[str, Any] = {
        "name": spec.name,
        "image": spec.image,
        "ports": [{"name": "http1", "containerPort": spec.port}],
        "env": env,
        "resources": {
            "requests": {"cpu": spec.resources.cpu_request, "memory": spec.resources.memory_request},
            "limits": {
                "cpu": spec.resources.cpu_limit,
                "memory": spec.resources.memory_limit,
                **scheduling.resource_limits,
            },
        },
        "securityContext": container_security_context(spec.run_as_user),
        "readinessProbe": {"httpGet": {"path": spec.readiness_path}},
        "volumeMounts": [{"name": TMP_VOLUME, "mountPath": TMP_MOUNT}],
    }
    if spec.command:
        container["command"] = spec.command
    if spec.args:
        container["args"] = spec.args
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": spec.name, "namespace": namespace, "labels": labels},
        "spec": {
            "template": {
                "metadata": {"labels": {FUNCTION_LABEL: spec.name, WORKLOAD_TIER_LABEL: spec.tier.value},
                             "annotations": autoscaling_annotations(spec)},
                "spec": {
                    "containerConcurrency": spec.container_concurrency,
                    "timeoutSeconds": spec.timeout_seconds,
                    "automountServiceAccountToken": False,
                    "containers": [container],
                    "nodeSelector": scheduling.node_selector,
                    "tolerations": scheduling.tolerations,
                    "volumes": [{"name": TMP_VOLUME, "emptyDir": {"sizeLimit": "256Mi"}}],
                },
            }
        },
    }
