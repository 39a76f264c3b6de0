"""Registers plain manifest dicts as Pulumi Kubernetes resources, one typed resource per object."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.workloads.manifests import Manifest

ResourceFactory = Callable[..., pulumi.CustomResource]

# Built-in kinds get their typed class (schema-checked by the provider); anything else is a CRD.
_TYPED: dict[tuple[str, str], ResourceFactory] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("batch/v1", "CronJob"): k8s.batch.v1.CronJob,
    ("v1", "ResourceQuota"): k8s.core.v1.ResourceQuota,
    ("v1", "LimitRange"): k8s.core.v1.LimitRange,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): k8s.autoscaling.v2.HorizontalPodAutoscaler,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): k8s.rbac.v1.ClusterRole,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): k8s.rbac.v1.ClusterRoleBinding,
}

_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(key: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", key).lower()


def resource_name(prefix: str, manifest: Manifest) -> str:
    """A Pulumi name unique within a component: `<prefix>-<kind>-<object name>`."""
    return f"{prefix}-{manifest['kind'].lower()}-{manifest['metadata']['name']}"


def register_manifest(name: str, manifest: Manifest, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """Register one manifest under `name` with the typed class of its kind, else as a CustomResource."""
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    if not api_version or not kind or "name" not in manifest.get("metadata", {}):
        raise ValueError(f"{name}: a manifest needs apiVersion, kind and metadata.name")
    fields: dict[str, Any] = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    factory = _TYPED.get((api_version, kind))
    if factory is not None:
        return factory(name, opts=opts, **{_snake(key): value for key, value in fields.items()})
    return k8s.apiextensions.CustomResource(name, api_version=api_version, kind=kind, opts=opts, **fields)


def register_manifests(
    prefix: str, manifests: Sequence[Manifest], opts: pulumi.ResourceOptions
) -> list[pulumi.CustomResource]:
    """Register every manifest under `<prefix>-<kind>-<name>`, in the order given."""
    registered: list[pulumi.CustomResource] = []
    for manifest in manifests:
        registered.append(register_manifest(resource_name(prefix, manifest), manifest, opts))
    return registered
