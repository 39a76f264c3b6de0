"""Pinned Helm charts and the values merge every Helm-based component uses (curated defaults + override)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class PinnedChart:
    """A chart at an exact version from its repository."""

    repository: str
    chart: str
    version: str


def merge_values(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge `overrides` over `defaults`: mappings merge key by key, anything else replaces."""
    merged = copy.deepcopy(dict(defaults))
    for key, value in overrides.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_values(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def helm_release(
    resource_name: str,
    chart: PinnedChart,
    *,
    namespace: pulumi.Input[str],
    values: pulumi.Input[Mapping[str, Any]],
    opts: pulumi.ResourceOptions,
    release_name: str | None = None,
    create_namespace: bool = True,
) -> k8s.helm.v3.Release:
    """A Helm release of `chart`; atomic so a failed upgrade rolls back instead of half-applying."""
    return k8s.helm.v3.Release(
        resource_name,
        k8s.helm.v3.ReleaseArgs(
            name=release_name or chart.chart,
            chart=chart.chart,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace=namespace,
            create_namespace=create_namespace,
            values=values,
            atomic=True,
            cleanup_on_fail=True,
        ),
        opts=opts,
    )
