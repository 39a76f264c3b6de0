"""Stateful workloads and storage: a `WorkloadSpec` as a StatefulSet behind a headless Service, and volume claims.

The pods are the Deployment's pods (`pod_template`: hardened, tier/GPU scheduling, requests and limits,
probes); the StatefulSet adds stable names (`<name>-0`, `<name>-1`, …) resolvable through the headless
Service (`<pod>.<service>.<namespace>.svc`), which is what lets peers address one replica directly.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from components.workloads.manifests import (
    Manifest,
    controller_metadata,
    labels,
    metadata,
    pod_template,
    selector_labels,
)
from components.workloads.spec import DnsLabel, WorkloadSpec, check_quantity


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccessMode(StrEnum):
    """How many nodes may mount a volume (ReadWriteMany needs a network file system: EFS, Filestore)."""

    READ_WRITE_ONCE = "ReadWriteOnce"
    READ_WRITE_MANY = "ReadWriteMany"
    READ_ONLY_MANY = "ReadOnlyMany"


class VolumeClaim(_Spec):
    """A PersistentVolumeClaim: its storage class, size and access mode."""

    name: DnsLabel
    storage_class: DnsLabel
    size: str
    access_mode: AccessMode = AccessMode.READ_WRITE_ONCE

    @field_validator("size")
    @classmethod
    def _is_quantity(cls, value: str) -> str:
        return check_quantity(value, "size")


class PodManagement(StrEnum):
    """Whether a StatefulSet starts its pods one after another (the guide's ordered start) or all at once."""

    ORDERED_READY = "OrderedReady"
    PARALLEL = "Parallel"


def persistent_volume_claim(claim: VolumeClaim, namespace: str, owner: WorkloadSpec) -> Manifest:
    """A standalone claim, labelled as part of `owner`."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": claim.name, "namespace": namespace, "labels": labels(owner)},
        "spec": {
            "storageClassName": claim.storage_class,
            "accessModes": [claim.access_mode.value],
            "resources": {"requests": {"storage": claim.size}},
        },
    }


def headless_service(spec: WorkloadSpec, namespace: str) -> Manifest:
    """A `clusterIP: None` Service: one DNS record per pod, published before the pod is ready (peers find it)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(spec, namespace),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": selector_labels(spec),
            "ports": [
                {"name": port.name, "port": port.service_port or port.container_port, "targetPort": port.name,
                 "protocol": port.protocol.value}
                for port in spec.ports
            ],
        },
    }


class StatefulOptions(_Spec):
    """What a StatefulSet adds to a Deployment's pod: claims per pod and the start order."""

    volume_claims: list[VolumeClaim] = []
    pod_management: PodManagement = PodManagement.ORDERED_READY
    replicas_owned_by_autoscaler: bool = Field(default=False, description="leave spec.replicas to an HPA")
    min_ready_seconds: Annotated[int, Field(ge=0)] = 0


def stateful_set(spec: WorkloadSpec, namespace: str, options: StatefulOptions | None = None) -> Manifest:
    """The StatefulSet, governed by the headless Service of the same name."""
    options = options or StatefulOptions()
    body: Manifest = {
        "serviceName": spec.name,
        "selector": {"matchLabels": selector_labels(spec)},
        "template": pod_template(spec),
        "podManagementPolicy": options.pod_management.value,
        "updateStrategy": {"type": "RollingUpdate"},
        "minReadySeconds": options.min_ready_seconds,
    }
    if not options.replicas_owned_by_autoscaler:
        body["replicas"] = spec.replicas
    if options.volume_claims:
        body["volumeClaimTemplates"] = [
            {
                "metadata": {"name": claim.name, "labels": selector_labels(spec)},
                "spec": {"storageClassName": claim.storage_class, "accessModes": [claim.access_mode.value],
                         "resources": {"requests": {"storage": claim.size}}},
            }
            for claim in options.volume_claims
        ]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": controller_metadata(spec, namespace),
            "spec": body}
