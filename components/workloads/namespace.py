"""The namespace functions run in: Istio-injected, with a ResourceQuota, a LimitRange and a default-deny
NetworkPolicy that admits only what Knative serving needs; and the Pod Security labels of every namespace.

Who must reach a function's pods (Knative Serving with the Istio ingress, as `components/serving` installs it):
- the ingress and the cluster-local gateways (`istio-ingressgateway` / `knative-local-gateway`, in
  istio-system) send requests to the revision's pods;
- the activator (knative-serving) proxies requests while a revision scales from zero or is below its
  target burst capacity, and the autoscaler (knative-serving) scrapes the queue-proxy's metrics port;
- Prometheus (monitoring) scrapes the functions' metrics.
What they must reach: DNS (kube-dns in kube-system, port 53), istiod for the sidecar's configuration and
certificates (istio-system, 15012) and the gateways for function-to-function calls (istio-system).
Anything else a function calls must be listed in `egress_cidrs`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from components.workloads.manifests import (
    INGRESS_NAMESPACE,
    MONITORING_NAMESPACE,
    NAMESPACE_NAME_LABEL,
    Manifest,
)
from components.workloads.spec import check_quantity
from runtime.contract.kubernetes import MANAGED_BY, MANAGED_BY_LABEL

ISTIO_INJECTION_LABEL = "istio-injection"
PART_OF_LABEL = "app.kubernetes.io/part-of"
# Pod Security Admission levels; `restricted` is what every builder here already satisfies.
POD_SECURITY_LEVEL = "restricted"
POD_SECURITY_MODES = ("warn", "audit")
POD_SECURITY_ENFORCE = "enforce"
KNATIVE_SERVING_NAMESPACE = "knative-serving"
DNS_NAMESPACE = "kube-system"
DEFAULT_DENY_POLICY = "default-deny"
QUOTA_NAME = "functions"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FunctionQuota(_Strict):
    """Totals over every pod of the namespace (function, queue-proxy and istio-proxy containers alike)."""

    requests_cpu: str = "40"
    requests_memory: str = "80Gi"
    limits_cpu: str = "80"
    limits_memory: str = "160Gi"
    pods: Annotated[int, Field(ge=1)] = 500
    gpus: Annotated[int, Field(ge=0)] = 8

    @field_validator("requests_cpu", "requests_memory", "limits_cpu", "limits_memory")
    @classmethod
    def _is_quantity(cls, value: str, info: object) -> str:
        return check_quantity(value, getattr(info, "field_name", "quantity"))


class ContainerLimits(_Strict):
    """Per-container defaults (what a container without resources gets) and the ceiling any may ask for."""

    default_cpu_request: str = "100m"
    default_memory_request: str = "128Mi"
    default_cpu_limit: str = "1"
    default_memory_limit: str = "512Mi"
    # Above the istio-proxy's own limits (2 CPU, 1Gi in istiod's chart values) and a GPU function's needs.
    max_cpu: str = "8"
    max_memory: str = "32Gi"

    @field_validator("*")
    @classmethod
    def _is_quantity(cls, value: str, info: object) -> str:
        return check_quantity(value, getattr(info, "field_name", "quantity"))


class FunctionsNamespaceArgs(_Strict):
    """How much the functions namespace may use and what its pods may call besides the mesh."""

    quota: FunctionQuota = FunctionQuota()
    container: ContainerLimits = ContainerLimits()
    egress_cidrs: list[str] = Field(
        default_factory=list, description="extra destinations functions may call (e.g. 0.0.0.0/0 for the internet)"
    )


def platform_labels() -> dict[str, str]:
    """What every object the platform creates carries: part of isf, managed by its program."""
    return {PART_OF_LABEL: "isf", MANAGED_BY_LABEL: MANAGED_BY}


def pod_security_labels(*, enforce: bool) -> dict[str, str]:
    """Pod Security Admission `restricted`: always warned and audited, enforced where `enforce`."""
    modes = (*POD_SECURITY_MODES, POD_SECURITY_ENFORCE) if enforce else POD_SECURITY_MODES
    return {f"pod-security.kubernetes.io/{mode}": POD_SECURITY_LEVEL for mode in modes}


def functions_namespace(name: str) -> Manifest:
    """A Namespace with Istio sidecar injection on and Pod Security `restricted` warnings and audits."""
    # Not `enforce`: the injected istio-init container needs NET_ADMIN and NET_RAW, which `restricted` (and
    # even `baseline`) reject unless the cluster runs the Istio CNI plugin, which the serving stack does not.
    labels = {
        **platform_labels(),
        ISTIO_INJECTION_LABEL: "enabled",
        **pod_security_labels(enforce=False),
    }
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _meta(name: str, namespace: str) -> Manifest:
    return {"name": name, "namespace": namespace, "labels": platform_labels()}


def resource_quota(namespace: str, quota: FunctionQuota) -> Manifest:
    hard = {"requests.cpu": quota.requests_cpu, "requests.memory": quota.requests_memory,
            "limits.cpu": quota.limits_cpu, "limits.memory": quota.limits_memory, "pods": str(quota.pods),
            "requests.nvidia.com/gpu": str(quota.gpus)}
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": _meta(QUOTA_NAME, namespace),
            "spec": {"hard": hard}}


def limit_range(namespace: str, limits: ContainerLimits) -> Manifest:
    # A quota on limits.* rejects any pod with a container lacking limits: the defaults fill them in.
    item = {
        "type": "Container",
        "defaultRequest": {"cpu": limits.default_cpu_request, "memory": limits.default_memory_request},
        "default": {"cpu": limits.default_cpu_limit, "memory": limits.default_memory_limit},
        "max": {"cpu": limits.max_cpu, "memory": limits.max_memory},
    }
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": _meta(QUOTA_NAME, namespace),
            "spec": {"limits": [item]}}


def _namespace_peer(name: str) -> Manifest:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: name}}}


def default_deny_policy(namespace: str, args: FunctionsNamespaceArgs) -> Manifest:
    """Deny every flow in and out of the namespace's pods except the mesh's, Knative's, the scraper's and DNS."""
    ingress = [{"from": [{"podSelector": {}}, _namespace_peer(INGRESS_NAMESPACE),
                         _namespace_peer(KNATIVE_SERVING_NAMESPACE), _namespace_peer(MONITORING_NAMESPACE)]}]
    dns_ports = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    egress: list[Manifest] = [
        {"to": [_namespace_peer(DNS_NAMESPACE)], "ports": dns_ports},
        {"to": [{"podSelector": {}}, _namespace_peer(INGRESS_NAMESPACE), _namespace_peer(KNATIVE_SERVING_NAMESPACE)]},
    ]
    if args.egress_cidrs:
        egress.append({"to": [{"ipBlock": {"cidr": cidr}} for cidr in args.egress_cidrs]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(DEFAULT_DENY_POLICY, namespace),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": ingress, "egress": egress},
    }


def functions_namespace_manifests(name: str, args: FunctionsNamespaceArgs) -> list[Manifest]:
    """The namespace, then its quota, container limits and network policy."""
    return [functions_namespace(name), resource_quota(name, args.quota), limit_range(name, args.container),
            default_deny_policy(name, args)]
