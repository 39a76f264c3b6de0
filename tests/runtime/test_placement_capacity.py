"""Tier capacities derived from live node lists (kubernetes client objects or plain dicts)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import V1Node, V1NodeCondition, V1NodeSpec, V1NodeStatus, V1ObjectMeta

from runtime.contract import Tier
from runtime.placement import Resources, tier_capacities


def _node(
    name: str, tier: str | None, allocatable: dict[str, str], ready: str = "True", unschedulable: bool = False
) -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": name} | ({"tier": tier} if tier else {})
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "allocatable": allocatable,
            "conditions": [{"type": "Ready", "status": ready}],
        },
    }


def test_quantities_are_parsed_into_cores_gib_and_whole_gpus() -> None:
    nodes = [
        _node("edge-1", "edge", {"cpu": "3920m", "memory": "15Gi"}),
        _node("edge-2", "edge", {"cpu": "2", "memory": "16384Mi"}),
        _node("gpu-1", "regional", {"cpu": "7910m", "memory": "64312348Ki", "nvidia.com/gpu": "2"}),
    ]
    capacities = tier_capacities(nodes)
    assert capacities[Tier.EDGE] == Resources(cpu=5.92, memory_gib=31.0, gpu=0)
    assert capacities[Tier.REGIONAL].gpu == 2
    assert capacities[Tier.REGIONAL].memory_gib == pytest.approx(64312348 / 2**20)
    assert Tier.CLOUD not in capacities  # no nodes, no capacity


def test_kubernetes_client_node_objects_count_like_dicts() -> None:
    node = V1Node(
        metadata=V1ObjectMeta(name="cloud-1", labels={"tier": "cloud"}),
        spec=V1NodeSpec(),
        status=V1NodeStatus(
            allocatable={"cpu": "15890m", "memory": "62Gi", "nvidia.com/gpu": "4"},
            conditions=[V1NodeCondition(type="Ready", status="True")],
        ),
    )
    assert tier_capacities([node]) == {Tier.CLOUD: Resources(cpu=15.89, memory_gib=62.0, gpu=4)}


def test_unlabelled_cordoned_and_not_ready_nodes_add_nothing() -> None:
    nodes = [
        _node("edge-1", "edge", {"cpu": "4", "memory": "8Gi"}),
        _node("system-1", None, {"cpu": "64", "memory": "256Gi"}),
        _node("edge-cordoned", "edge", {"cpu": "4", "memory": "8Gi"}, unschedulable=True),
        _node("edge-down", "edge", {"cpu": "4", "memory": "8Gi"}, ready="False"),
    ]
    assert tier_capacities(nodes) == {Tier.EDGE: Resources(cpu=4.0, memory_gib=8.0)}


def test_an_unknown_tier_label_names_the_node_and_the_value() -> None:
    with pytest.raises(ValueError, match=r"node 'n1': label tier='fog' is not a tier"):
        tier_capacities([_node("n1", "fog", {"cpu": "1", "memory": "1Gi"})])


def test_a_malformed_quantity_names_the_node_and_the_resource() -> None:
    with pytest.raises(ValueError, match=r"node 'n2': status.allocatable\['memory'\] = '12 gigs'"):
        tier_capacities([_node("n2", "edge", {"cpu": "1", "memory": "12 gigs"})])


def test_a_labelled_node_without_allocatable_is_an_error_not_a_zero() -> None:
    node = _node("n3", "cloud", {})
    node["status"]["allocatable"] = {}
    with pytest.raises(ValueError, match="node 'n3': status.allocatable is missing"):
        tier_capacities([node])
