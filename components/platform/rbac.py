"""Least-privilege RBAC per runtime service, derived from the Kubernetes calls each one makes.

| service   | call (source)                                                            | rule                          |
|-----------|--------------------------------------------------------------------------|-------------------------------|
| warming   | `function_services`: list Knative services per function namespace       | services: list                |
|           | (`runtime/services/kube.py`)                                             |                               |
|           | `KnativeActuator.serving_revisions`: list the Revisions Routes reference | revisions: list, patch        |
|           | (one list a pass); `apply_warm`: patch those that differ                 |                               |
|           | (`runtime/actuation/patches.py`)                                         |                               |
|           | `list_nodes` for tier capacities (`runtime/services/warming.py`)         | nodes: list (cluster)         |
| placement | `function_services`; `apply_placement`: get and patch the Service        | services: get, list, patch    |
|           | `list_nodes` (`runtime/services/placement.py`)                           | nodes: list (cluster)         |
| both      | `LeaseLeadership` -> kubernetes' LeaseLock: read_namespaced_lease,       | leases: create; get, update   |
|           | create_namespaced_lease, replace_namespaced_lease                        | on `isf-<role>` only          |
|           | (`kubernetes/leaderelection/resourcelock/leaselock.py`, client 37)       |                               |

Function-namespace rules are a Role + RoleBinding in each function namespace (no cluster-wide Knative
access); nodes are cluster-scoped, so that one read-only rule is a ClusterRole. `create` cannot be
limited by resourceNames (the name is not known at authorization time), `get`/`update` can.
Services absent here (api, predictor, the migration and training Jobs) get their own ServiceAccount
without a token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from components.workloads.manifests import Manifest
from runtime.contract.kubernetes import KNATIVE_GROUP, MANAGED_BY, MANAGED_BY_LABEL
from runtime.contract.roles import CONTROLLERS, ServiceRole

RBAC_GROUP = "rbac.authorization.k8s.io"
LEASE_GROUP = "coordination.k8s.io"


@dataclass(frozen=True)
class Rule:
    """One PolicyRule: verbs on resources of one API group, optionally only the named objects."""

    group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    names: tuple[str, ...] = ()

    def manifest(self) -> Manifest:
        body: Manifest = {"apiGroups": [self.group], "resources": list(self.resources), "verbs": list(self.verbs)}
        if self.names:
            body["resourceNames"] = list(self.names)
        return body


@dataclass(frozen=True)
class ServiceAccess:
    """What one service may do: in each function namespace, cluster-wide, and in the platform namespace."""

    functions: tuple[Rule, ...] = ()
    cluster: tuple[Rule, ...] = ()
    platform: tuple[Rule, ...] = field(default_factory=tuple)


def lease_name(role: ServiceRole) -> str:
    """The leader-election Lease of a controller (`runtime/services/apps.py::_leader_gate`)."""
    return f"isf-{role.value}"


def _leases(role: ServiceRole) -> tuple[Rule, ...]:
    return (Rule(LEASE_GROUP, ("leases",), ("create",)),
            Rule(LEASE_GROUP, ("leases",), ("get", "update"), (lease_name(role),)))


READ_NODES = Rule("", ("nodes",), ("list",))

ACCESS: dict[ServiceRole, ServiceAccess] = {
    ServiceRole.WARMING: ServiceAccess(
        functions=(Rule(KNATIVE_GROUP, ("services",), ("list",)), Rule(KNATIVE_GROUP, ("revisions",), ("list", "patch"))),
        cluster=(READ_NODES,),
        platform=_leases(ServiceRole.WARMING),
    ),
    ServiceRole.PLACEMENT: ServiceAccess(
        functions=(Rule(KNATIVE_GROUP, ("services",), ("get", "list", "patch")),),
        cluster=(READ_NODES,),
        platform=_leases(ServiceRole.PLACEMENT),
    ),
}
assert set(ACCESS) == CONTROLLERS, "every service that gets a token needs its rules here, and only those"


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/part-of": MANAGED_BY, MANAGED_BY_LABEL: MANAGED_BY}


def service_account_name(name: str) -> str:
    """Every runtime workload runs as its own ServiceAccount, named like the workload (`isf-warming`)."""
    return name


def service_account(name: str, namespace: str, *, token: bool) -> Manifest:
    """The workload's own ServiceAccount; without a token unless it calls the API server."""
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace, "labels": _labels()},
            "automountServiceAccountToken": token}


def _role(kind: str, name: str, namespace: str | None, rules: tuple[Rule, ...]) -> Manifest:
    meta: Manifest = {"name": name, "labels": _labels()}
    if namespace is not None:
        meta["namespace"] = namespace
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": kind, "metadata": meta, "rules": [r.manifest() for r in rules]}


def _binding(kind: str, role_kind: str, name: str, namespace: str | None, subject: Manifest) -> Manifest:
    meta: Manifest = {"name": name, "labels": _labels()}
    if namespace is not None:
        meta["namespace"] = namespace
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": role_kind, "name": name}, "subjects": [subject]}


def rbac_manifests(role: ServiceRole, account: str, platform_namespace: str,
                   function_namespaces: list[str]) -> list[Manifest]:
    """Roles and bindings granting `account` exactly `ACCESS[role]`; nothing for a service without access."""
    access = ACCESS.get(role)
    if access is None:
        return []
    subject = {"kind": "ServiceAccount", "name": account, "namespace": platform_namespace}
    objects: list[Manifest] = []
    if access.platform:
        objects += [_role("Role", account, platform_namespace, access.platform),
                    _binding("RoleBinding", "Role", account, platform_namespace, subject)]
    if access.cluster:
        objects += [_role("ClusterRole", account, None, access.cluster),
                    _binding("ClusterRoleBinding", "ClusterRole", account, None, subject)]
    for namespace in function_namespaces if access.functions else []:
        objects += [_role("Role", account, namespace, access.functions),
                    _binding("RoleBinding", "Role", account, namespace, subject)]
    return objects
