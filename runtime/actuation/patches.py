"""Patches that apply warm-pool and placement decisions to Knative objects.

Warm pools go on the serving *Revisions* (the ones the Route sends traffic to): Knative 1.21+ reads
`autoscaling.knative.dev/min-scale`, `max-scale` and `scale-down-delay` from a Revision's annotations
without creating a new revision. Placement changes the Service's template (nodeSelector and
tolerations), which does roll a new revision — hence the migration limit upstream.
Patches are JSON merge patches (the kubernetes client's default for custom objects).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime.contract.kubernetes import KNATIVE_GROUP, KNATIVE_VERSION, MAX_SCALE, MIN_SCALE, SCALE_DOWN_DELAY

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


def serving_revisions(route: dict[str, Any]) -> list[str]:
    """Revisions a Route currently sends traffic to (from its status, which resolves `latestRevision`)."""
    names = [
        str(t["revisionName"])
        for t in route.get("status", {}).get("traffic", [])
        if t.get("revisionName") and t.get("percent", 0) > 0
    ]
    return sorted(set(names))


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
    return {"spec": {"template": {"spec": {"nodeSelector": selector, "tolerations": target.tolerations}}}}


class CustomObjects(Protocol):
    """The subset of `kubernetes.client.CustomObjectsApi` the actuator uses."""

    def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
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

    def apply_warm(self, target: WarmTarget) -> list[Actuation]:
        """Set the warm pool on every Revision the Service's Route serves."""
        route = self._get(target.namespace, "routes", target.service)
        done: list[Actuation] = []
        for revision in serving_revisions(route):
            patch = warm_patch(self._get(target.namespace, "revisions", revision), target)
            if patch is not None:
                done.append(self._patch("Revision", target.namespace, "revisions", revision, patch))
        return done

    def apply_placement(self, target: PlacementTarget) -> list[Actuation]:
        """Move the Service's pods to a tier (rolls a new Revision)."""
        patch = placement_patch(self._get(target.namespace, "services", target.service), target)
        if patch is None:
            return []
        return [self._patch("Service", target.namespace, "services", target.service, patch)]
