"""Pinned Helm charts, the values merge that gives every chart an override escape hatch, and their registration.

Every chart is a Helm v4 `Chart`: Pulumi renders it and manages each object, so a preview shows every
object and ordering is plain `depends_on` (a custom resource waits on the chart that ships its CRD).
v4 charts do not create their namespace; `namespace_manifest` gives the object to register first.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

Values = dict[str, Any]


@dataclass(frozen=True)
class ChartRef:
    """A chart pinned to one version in one repository."""

    chart: str
    version: str
    repo: str


def merged_values(defaults: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> Values:
    """Deep-merge `overrides` over `defaults`: maps merge key by key, anything else is replaced."""
    merged: Values = copy.deepcopy(dict(defaults))
    for key, value in (overrides or {}).items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merged_values(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def namespace_manifest(name: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A Namespace object (Helm v4 charts do not create their namespace)."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels or {})}}


def helm_chart(
    name: str,
    ref: ChartRef,
    *,
    release: str,
    namespace: pulumi.Input[str],
    values: pulumi.Input[Mapping[str, Any]],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v4.Chart:
    """A Helm v4 Chart resource for `ref` with the final `values`."""
    return k8s.helm.v4.Chart(
        name,
        chart=ref.chart,
        version=ref.version,
        repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo=ref.repo),
        name=release,
        namespace=namespace,
        values=values,
        opts=opts,
    )
