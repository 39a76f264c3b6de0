"""Thin components that register a workload's or a function's objects with the cluster's provider.

The Kubernetes provider comes in through `opts` (`ResourceOptions(provider=cluster.provider)`) and is
inherited by every child.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.workloads.function import FunctionSpec, knative_service
from components.workloads.manifests import workload_manifests
from components.workloads.registration import register_manifests
from components.workloads.spec import WorkloadSpec
from runtime.contract.kubernetes import WORKLOAD_TIER_LABEL


@dataclass(frozen=True)
class WorkloadArgs:
    """A workload spec and the namespace it runs in."""

    spec: WorkloadSpec
    namespace: str


class Workload(pulumi.ComponentResource):
    """A Deployment and its Service, NetworkPolicy, PDB, HPA and ServiceMonitor."""

    def __init__(self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("isf:workloads:Workload", name, None, opts)
        manifests = workload_manifests(args.spec, args.namespace)
        # The component's depends_on, repeated on each child: the Deployment itself then waits (e.g. for the
        # migration Job), visibly in its own dependencies, not only through its parent's registration.
        depends = opts.depends_on if opts is not None else None
        self.resources = register_manifests(name, manifests, pulumi.ResourceOptions(parent=self, depends_on=depends))
        self.kinds = [manifest["kind"] for manifest in manifests]
        self.register_outputs({"name": args.spec.name, "namespace": args.namespace, "kinds": self.kinds})


@dataclass(frozen=True)
class FunctionArgs:
    """A function spec and the namespace its Knative Service lives in."""

    spec: FunctionSpec
    namespace: str


# After creation the placement service owns where a function runs: it patches these fields, and a
# later `pulumi up` must not move the function back to its declared (initial) tier.
PLACEMENT_OWNED_FIELDS = [
    "spec.template.spec.nodeSelector",
    "spec.template.spec.tolerations",
    # a key with dots takes bracket notation (pulumi.com/docs/reference/property-paths)
    f'spec.template.metadata.labels["{WORKLOAD_TIER_LABEL}"]',
]


class KnativeFunction(pulumi.ComponentResource):
    """A Knative Service for one function; its declared tier is the initial placement."""

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("isf:workloads:KnativeFunction", name, None, opts)
        manifest = knative_service(args.spec, args.namespace)
        (self.service,) = register_manifests(
            name, [manifest], pulumi.ResourceOptions(parent=self, ignore_changes=PLACEMENT_OWNED_FIELDS)
        )
        self.register_outputs({"name": args.spec.name, "namespace": args.namespace})
