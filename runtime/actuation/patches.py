"""Patches that apply warm-pool and placement decisions to Knative objects.

Warm pools go on the serving *Revisions* (the ones a Route references): Knative 1.21+ reads
`autoscaling.knative.dev/min-scale`, `max-scale` and `scale-down-delay` from a Revision's annotations
without creating a new revision. One list per pass finds them all with their annotations: Knative
labels a Revision `serving.knative.dev/routingState=active` while a Route references it and names
its Service in `serving.knative.dev/service` (`runtime/contract/kubernetes.py` cites where), and a
Revision carries its template's labels, so the function label selects the platform's own. Only
Revisions whose annotations differ from the target are patched, so an unchanged pool costs no
request and drift is repaired on the next pass. Placement changes the Service's template
(nodeSelector, tolerations and the `isf.io/tier` label the pods carry), which does roll a new revision —
hence the migration limit upstream.
Patches are JSON merge patches (the kubernetes client's default for custom objects).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime.contract.kubernetes import (
    KNATIVE_GROUP,
    KNATIVE_VERSION,
    MAX_SCALE,
    METADATA_LIST_ACCEPT,
    MIN_SCALE,
    ROUTING_STATE_ACTIVE,
    ROUTING_STATE_LABEL,
    SCALE_DOWN_DELAY,
    SERVICE_LABEL,
    WORKLOAD_TIER_LABEL,
)
from runtime.contract.scheduling import TIER_LABEL

# Knative caps scale-down-delay at one hour.
MAX_SCALE_DOWN_DELAY_S = 3600


@dataclass(frozen=True)
class WarmTarget:
    """The warm pool one Knative Service should hold."""

    namespace: str
    service: str
    min_scale: int
    max_scale: int | None = None
    scale_down_delay_s: int = 0

    def __post_init__(self) -> None:
        if self.min_scale < 0:
            raise ValueError(f"{self.namespace}/{self.service}: min_scale must be >= 0, got {self.min_scale}")
        if self.max_scale is not None and self.max_scale < max(self.min_scale, 1):
            raise ValueError(
                f"{self.namespace}/{self.service}: max_scale ({self.max_scale}) must be >= min_scale "
                f"({self.min_scale}) and >= 1"
            )

    def annotations(self) -> dict[str, str]:
        values = {
            MIN_SCALE: str(self.min_scale),
            SCALE_DOWN_DELAY: f"{min(max(self.scale_down_delay_s, 0), MAX_SCALE_DOWN_DELAY_S)}s",
        }
        if self.max_scale is not None:
            values[MAX_SCALE] = str(self.max_scale)
        return values


@dataclass(frozen=True)
class PlacementTarget:
    """Where one Knative Service's pods must be scheduled."""

    namespace: str
    service: str
    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Actuation:
    """One patch, applied or (in dry-run) only computed; the audit log stores these."""

    kind: str
    namespace: str
    name: str
    patch: dict[str, Any]
    dry_run: bool


ServingRevisions = dict[tuple[str, str], list[dict[str, Any]]]
"""The Revisions Routes reference, as the API returns them, by (namespace, Knative Service name)."""


def warm_patch(current: dict[str, Any], target: WarmTarget) -> dict[str, Any] | None:
    """The merge patch bringing a Revision's annotations to `target`, or None when already there."""
    have = current.get("metadata", {}).get("annotations", {}) or {}
    changes = {k: v for k, v in target.annotations().items() if have.get(k) != v}
    return {"metadata": {"annotations": changes}} if changes else None


def placement_patch(current: dict[str, Any], target: PlacementTarget) -> dict[str, Any] | None:
    """The merge patch moving a Service's pods to `target`, or None when already placed there."""
    spec = current.get("spec", {}).get("template", {}).get("spec", {})
    if spec.get("nodeSelector", {}) == target.node_selector and spec.get("tolerations", []) == target.tolerations:
        return None
    # Merge patch: map keys not named stay, so stale selector keys are nulled explicitly.
    selector: dict[str, str | None] = {k: None for k in spec.get("nodeSelector", {})}
    selector.update(target.node_selector)
    template: dict[str, Any] = {"spec": {"nodeSelector": selector, "tolerations": target.tolerations}}
    if tier := target.node_selector.get(TIER_LABEL):  # the pods' `isf.io/tier` follows (Beyla's `tier` label)
        template["metadata"] = {"labels": {WORKLOAD_TIER_LABEL: tier}}
    return {"spec": {"template": template}}


class CustomObjects(Protocol):
    """The subset of `kubernetes.client.CustomObjectsApi` the actuator uses."""

    def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> Any: ...

    def list_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, *, label_selector: str = ...,
        _headers: dict[str, Any] | None = ...,
    ) -> Any: ...

    def list_cluster_custom_object(
        self, group: str, version: str, plural: str, *, label_selector: str = ..., _headers: dict[str, Any] | None = ...
    ) -> Any: ...

    def patch_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, body: Any, *,
        field_manager: str | None = None,
    ) -> Any: ...


class KnativeActuator:
    """Reads Routes/Revisions/Services and applies only the patches that change something."""

    def __init__(self, api: CustomObjects, *, dry_run: bool = False, field_manager: str = "isf") -> None:
        self._api = api
        self._dry_run = dry_run
        self._field_manager = field_manager

    def _get(self, namespace: str, plural: str, name: str) -> dict[str, Any]:
        return self._api.get_namespaced_custom_object(KNATIVE_GROUP, KNATIVE_VERSION, namespace, plural, name)

    def _patch(self, kind: str, namespace: str, plural: str, name: str, patch: dict[str, Any]) -> Actuation:
        if not self._dry_run:
            self._api.patch_namespaced_custom_object(
                KNATIVE_GROUP, KNATIVE_VERSION, namespace, plural, name, patch, field_manager=self._field_manager
            )
        return Actuation(kind=kind, namespace=namespace, name=name, patch=patch, dry_run=self._dry_run)

    def serving_revisions(self, function_label: str, namespaces: Sequence[str] = ()) -> ServingRevisions:
        """Every function's Revisions a Route references: one list per namespace (none given: one cluster-wide).

        Only their metadata is asked for (`METADATA_LIST_ACCEPT`): `warm_patch` reads nothing else."""
        selector = f"{function_label},{ROUTING_STATE_LABEL}={ROUTING_STATE_ACTIVE}"
        headers = {"Accept": METADATA_LIST_ACCEPT}
        if namespaces:
            items = [item for namespace in namespaces for item in self._api.list_namespaced_custom_object(
                KNATIVE_GROUP, KNATIVE_VERSION, namespace, "revisions", label_selector=selector, _headers=headers,
            ).get("items", [])]
        else:
            items = self._api.list_cluster_custom_object(
                KNATIVE_GROUP, KNATIVE_VERSION, "revisions", label_selector=selector, _headers=headers,
            ).get("items", [])
        serving: ServingRevisions = {}
        for item in items:
            metadata = item.get("metadata", {})
            service = (metadata.get("labels") or {}).get(SERVICE_LABEL)
            if service:
                serving.setdefault((metadata["namespace"], service), []).append(item)
        return serving

    def apply_warm(self, target: WarmTarget, revisions: Sequence[dict[str, Any]]) -> list[Actuation]:
        """Bring the Service's serving `revisions` (from `serving_revisions`) to the warm pool; patches only changes."""
        done: list[Actuation] = []
        for revision in sorted(revisions, key=lambda r: r["metadata"]["name"]):
            patch = warm_patch(revision, target)
            if patch is not None:
                name = revision["metadata"]["name"]
                done.append(self._patch("Revision", target.namespace, "revisions", name, patch))
        return done

    def apply_placement(self, target: PlacementTarget) -> list[Actuation]:
        """Move the Service's pods to a tier (rolls a new Revision)."""
        patch = placement_patch(self._get(target.namespace, "services", target.service), target)
        if patch is None:
            return []
        return [self._patch("Service", target.namespace, "services", target.service, patch)]
