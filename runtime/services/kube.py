"""The cluster as the controllers see it: the Knative Services that run functions, and the tiered nodes.

A function maps to the Knative Service labelled `isf.io/function=<function id>` (the label every
function the platform deploys carries, see `components/workloads/function.py`), in any namespace;
an unlabelled Service is not managed. Functions with stored data but no such Service (e.g. an
imported trace) still get decisions, which are recorded but not actuated.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kubernetes import client, config

from runtime.contract import Tier, environment
from runtime.contract.kubernetes import FUNCTION_LABEL, KNATIVE_GROUP, KNATIVE_VERSION
from runtime.contract.scheduling import GPU_RESOURCE, TIER_LABEL, placement
from runtime.placement.problem import Resources

_GIB = Decimal(2**30)


def kubernetes_api_client() -> client.ApiClient:
    """In-cluster credentials when running in a pod, else the kubeconfig ($KUBECONFIG or ~/.kube/config)."""
    if os.environ.get(environment.KUBERNETES_SERVICE_HOST):
        config.load_incluster_config()
        return client.ApiClient()
    configuration = client.Configuration()
    config.load_kube_config(client_configuration=configuration)
    return client.ApiClient(configuration)


@dataclass(frozen=True, slots=True)
class FunctionService:
    """The Knative Service running one function: where it is, what one instance reserves, its tier now."""

    function_id: str
    namespace: str
    name: str
    tier: Tier | None
    instance: Resources

    @property
    def target(self) -> str:
        return f"{self.namespace}/{self.name}"


def _quantity(raw: Any) -> Decimal:
    return Decimal(0) if raw is None else _parsed_quantity(str(raw))


@functools.lru_cache(maxsize=1024)
def _parsed_quantity(raw: str) -> Decimal:
    """A pass reads every Service's requests, and they come in a handful of sizes: parse each once."""
    from kubernetes.utils.quantity import parse_quantity

    return parse_quantity(raw)


def _instance_resources(service: dict[str, Any]) -> Resources:
    # Requests are what the scheduler reserves; a GPU is only ever a limit.
    containers = service.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []) or []
    cpu = memory = gpu = Decimal(0)
    for container in containers:
        resources = container.get("resources", {}) or {}
        requests, limits = resources.get("requests", {}) or {}, resources.get("limits", {}) or {}
        cpu += _quantity(requests.get("cpu"))
        memory += _quantity(requests.get("memory"))
        gpu += _quantity(limits.get(GPU_RESOURCE))
    return Resources(cpu=float(cpu), memory_gib=float(memory / _GIB), gpu=int(gpu))


_TIERS = {tier.value: tier for tier in Tier}


def _tier(service: dict[str, Any]) -> Tier | None:
    selector = service.get("spec", {}).get("template", {}).get("spec", {}).get("nodeSelector", {}) or {}
    return _TIERS.get(str(selector.get(TIER_LABEL)))


def function_namespaces() -> list[str]:
    """The namespaces of $ISF_FUNCTION_NAMESPACES; empty means every namespace."""
    raw = os.environ.get(environment.FUNCTION_NAMESPACES, "")
    return [name.strip() for name in raw.split(",") if name.strip()]


def _labelled_services(api: client.ApiClient, label: str, namespaces: list[str]) -> list[dict[str, Any]]:
    objects = client.CustomObjectsApi(api)
    if not namespaces:
        listed: dict[str, Any] = objects.list_cluster_custom_object(  # type: ignore[assignment]
            KNATIVE_GROUP, KNATIVE_VERSION, "services", label_selector=label
        )
        return list(listed.get("items", []))
    # One list per namespace: the deployed controllers hold Roles there, not a cluster-wide list.
    items: list[dict[str, Any]] = []
    for namespace in namespaces:
        page: dict[str, Any] = objects.list_namespaced_custom_object(  # type: ignore[assignment]
            KNATIVE_GROUP, KNATIVE_VERSION, namespace, "services", label_selector=label
        )
        items += page.get("items", [])
    return items


def function_services(
    api: client.ApiClient, label: str = FUNCTION_LABEL, namespaces: list[str] | None = None
) -> dict[str, FunctionService]:
    """Every labelled Knative Service in `namespaces` (default: $ISF_FUNCTION_NAMESPACES, else all), by function id."""
    found: dict[str, FunctionService] = {}
    for item in _labelled_services(api, label, function_namespaces() if namespaces is None else namespaces):
        metadata = item.get("metadata", {})
        function_id = (metadata.get("labels") or {}).get(label)
        if function_id:
            found[function_id] = _parsed_service(label, function_id, item)
    return found


_parsed: dict[tuple[str, str, str, str], FunctionService] = {}
_PARSED_MAX = 100_000


def _parsed_service(label: str, function_id: str, item: dict[str, Any]) -> FunctionService:
    """A Service read once per resourceVersion (a pass lists every Service, and few change between passes)."""
    metadata = item["metadata"]
    version = str(metadata.get("resourceVersion") or "")
    key = (metadata.get("uid") or f"{metadata['namespace']}/{metadata['name']}", version, label, function_id)
    service = _parsed.get(key) if version else None
    if service is None:
        service = FunctionService(
            function_id, metadata["namespace"], metadata["name"], _tier(item), _instance_resources(item)
        )
        if version:
            if len(_parsed) >= _PARSED_MAX:
                _parsed.clear()
            _parsed[key] = service
    return service


def list_nodes(api: client.ApiClient) -> list[dict[str, Any]]:
    """Every node as the API's JSON (what `runtime.placement.tier_capacities` reads), decoded once: not
    through the client's typed models, which cost more than the list itself."""
    response: Any = client.CoreV1Api(api).list_node(_preload_content=False)  # the raw urllib3 response
    listed: dict[str, Any] = json.loads(response.data)
    return list(listed.get("items") or [])


def tier_scheduling(tier: Tier, gpu: bool) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """nodeSelector and tolerations for a pod in `tier`: the same the program gives a function there."""
    scheduling = placement(tier, gpus=1 if gpu else 0)
    return scheduling.node_selector, list(scheduling.tolerations)
