"""Workload guarantees: GPU pods tolerate the GPU taint, and multi-replica workloads have a PodDisruptionBudget."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policy.kubernetes import POD_SPEC_PATHS
from policy.rule import Props, Rule, StackRule, items, lookup
from runtime.contract.scheduling import GPU_RESOURCE, GPU_TAINT_KEY, TaintEffect

PDB = "kubernetes:policy/v1:PodDisruptionBudget"
# Kinds whose pods a node drain evicts one by one (a Job or a Knative revision is not drained this way).
REPLICATED = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")


def _asks_for_gpu(pod: Any) -> bool:
    containers = [c for key in ("initContainers", "containers") for c in items(lookup(pod, key))]
    return any(
        lookup(c, "resources", bound, GPU_RESOURCE) not in (None, 0, "0")
        for c in containers
        for bound in ("limits", "requests")
    )


def _tolerates_gpu_taint(toleration: Any) -> bool:
    key, operator, effect = lookup(toleration, "key"), lookup(toleration, "operator"), lookup(toleration, "effect")
    key_matches = key == GPU_TAINT_KEY or (key in (None, "") and operator == "Exists")
    return key_matches and effect in (None, "", TaintEffect.NO_SCHEDULE.value)


def gpu_pods_tolerate_the_gpu_taint(resource_type: str, props: Props) -> list[str]:
    """A pod that requests `nvidia.com/gpu` tolerates the GPU pool's taint, else it never schedules."""
    pod = lookup(props, *POD_SPEC_PATHS[resource_type])
    if not _asks_for_gpu(pod) or any(_tolerates_gpu_taint(t) for t in items(lookup(pod, "tolerations"))):
        return []
    return [f"pods request {GPU_RESOURCE} but do not tolerate the {GPU_TAINT_KEY}:NoSchedule taint of the GPU pool"]


def _selects(selector: Any, labels: Mapping[str, Any]) -> bool:
    match = lookup(selector, "matchLabels") or {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def multi_replica_workloads_have_a_pdb(resources: Iterable[tuple[str, str, Props]]) -> list[tuple[str, str, str]]:
    """Every Deployment/StatefulSet with 2+ replicas is selected by a PodDisruptionBudget in its namespace."""
    listed = list(resources)
    budgets = [
        (lookup(props, "metadata", "namespace") or "default", lookup(props, "spec", "selector"))
        for type_, _, props in listed
        if type_ == PDB
    ]
    problems: list[tuple[str, str, str]] = []
    for type_, name, props in listed:
        replicas = lookup(props, "spec", "replicas")
        if type_ not in REPLICATED or not isinstance(replicas, int | float) or replicas < 2:
            continue
        namespace = lookup(props, "metadata", "namespace") or "default"
        labels = lookup(props, "spec", "template", "metadata", "labels") or {}
        if not any(ns == namespace and _selects(selector, labels) for ns, selector in budgets):
            message = (f"{int(replicas)} replicas but no PodDisruptionBudget selects its pods, "
                       "so a node drain may evict them all at once")
            problems.append((type_, name, message))
    return problems


RULES = (
    Rule(
        "gpu-workloads-tolerate-gpu-taint",
        f"Pods that request {GPU_RESOURCE} tolerate the GPU pool's {GPU_TAINT_KEY} NoSchedule taint.",
        frozenset(POD_SPEC_PATHS),
        gpu_pods_tolerate_the_gpu_taint,
    ),
)
STACK_RULES = (
    StackRule(
        "k8s-multi-replica-workloads-have-pdb",
        "Deployments and StatefulSets with two or more replicas have a PodDisruptionBudget.",
        multi_replica_workloads_have_a_pdb,
    ),
)
