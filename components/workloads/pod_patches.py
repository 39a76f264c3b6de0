"""Additions to a built controller (Deployment, StatefulSet): what a `WorkloadSpec` does not state yet.

Each function returns a new manifest and leaves its input untouched, so a builder's output can be
extended step by step: spread the pods across nodes, give them env from the downward API, probe over HTTPS.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from components.workloads.manifests import Manifest

HOSTNAME_TOPOLOGY = "kubernetes.io/hostname"


def _pod_spec(manifest: Manifest) -> Manifest:
    return manifest["spec"]["template"]["spec"]


def spread_across_nodes(manifest: Manifest, selector: Mapping[str, str], *, required: bool) -> Manifest:
    """Pod anti-affinity on the node hostname: required (never two on one node) or preferred (weight 100)."""
    out = copy.deepcopy(manifest)
    term = {"labelSelector": {"matchLabels": dict(selector)}, "topologyKey": HOSTNAME_TOPOLOGY}
    anti = (
        {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
        if required
        else {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]}
    )
    _pod_spec(out).setdefault("affinity", {})["podAntiAffinity"] = anti
    return out


def with_field_env(manifest: Manifest, fields: Mapping[str, str]) -> Manifest:
    """Environment variables from the downward API (`{"WORKER_ID": "metadata.name"}`) on every container."""
    out = copy.deepcopy(manifest)
    for container in _pod_spec(out)["containers"]:
        env = container.setdefault("env", [])
        env += [{"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}} for name, path in sorted(fields.items())]
    return out


def with_https_probes(manifest: Manifest) -> Manifest:
    """HTTP probes sent over TLS (components that serve /healthz only on their secure port, like kube-scheduler)."""
    out = copy.deepcopy(manifest)
    for container in _pod_spec(out)["containers"]:
        for key in ("livenessProbe", "readinessProbe", "startupProbe"):
            if "httpGet" in container.get(key, {}):
                container[key]["httpGet"]["scheme"] = "HTTPS"
    return out


def with_pod_labels(manifest: Manifest, extra: Mapping[str, str]) -> Manifest:
    """Labels on the pods only (e.g. a blue/green colour a Service selects on)."""
    out = copy.deepcopy(manifest)
    out["spec"]["template"]["metadata"]["labels"].update(extra)
    return out
