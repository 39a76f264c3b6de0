"""Tier capacities from live nodes: sum the allocatable resources of ready nodes labelled `tier=<name>`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, cast

from runtime.contract.scheduling import GPU_RESOURCE, TIER_LABEL, Tier
from runtime.placement.problem import Resources

_GIB = Decimal(2**30)


def _as_dict(node: Any) -> Mapping[str, Any]:
    # kubernetes client objects (V1Node) expose to_dict() with the same field names as the API's JSON
    to_dict = getattr(node, "to_dict", None)
    if callable(to_dict):
        return cast(Mapping[str, Any], to_dict())
    if isinstance(node, Mapping):
        return node
    raise TypeError(f"expected a kubernetes V1Node or a dict, got {type(node).__name__}")


def _quantity(node_name: str, allocatable: Mapping[str, Any], key: str) -> Decimal:
    from kubernetes.utils.quantity import parse_quantity

    raw = allocatable.get(key)
    if raw is None:
        return Decimal(0)
    try:
        value = parse_quantity(raw)
    except ValueError as error:
        raise ValueError(
            f"node {node_name!r}: status.allocatable[{key!r}] = {raw!r} is not a quantity"
        ) from error
    if value < 0:
        raise ValueError(f"node {node_name!r}: status.allocatable[{key!r}] = {raw!r} is negative")
    return value


def _is_schedulable(node: Mapping[str, Any]) -> bool:
    if (node.get("spec") or {}).get("unschedulable"):
        return False
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = [c for c in conditions if c.get("type") == "Ready"]
    return not ready or all(str(c.get("status")) == "True" for c in ready)


def tier_capacities(nodes: Iterable[Any], label: str = TIER_LABEL) -> dict[Tier, Resources]:
    """Allocatable CPU (cores), memory (GiB) and GPUs per tier; unlabelled, cordoned or not-ready nodes
    are left out, and a tier with no nodes is absent."""
    totals: dict[Tier, list[Decimal]] = {}
    for raw in nodes:
        node = _as_dict(raw)
        metadata = node.get("metadata") or {}
        name = metadata.get("name") or "<unnamed>"
        value = (metadata.get("labels") or {}).get(label)
        if value is None or not _is_schedulable(node):
            continue
        try:
            tier = Tier(value)
        except ValueError as error:
            known = ", ".join(t.value for t in Tier)
            raise ValueError(f"node {name!r}: label {label}={value!r} is not a tier ({known})") from error
        allocatable = (node.get("status") or {}).get("allocatable")
        if not allocatable:
            raise ValueError(f"node {name!r}: status.allocatable is missing")
        sums = totals.setdefault(tier, [Decimal(0), Decimal(0), Decimal(0)])
        sums[0] += _quantity(name, allocatable, "cpu")
        sums[1] += _quantity(name, allocatable, "memory")
        sums[2] += _quantity(name, allocatable, GPU_RESOURCE)
    return {
        tier: Resources(cpu=float(cpu), memory_gib=float(memory / _GIB), gpu=int(gpu))
        for tier, (cpu, memory, gpu) in totals.items()
    }
