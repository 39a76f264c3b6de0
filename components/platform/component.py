"""The ControlPlane component: settings ConfigMap, RBAC and the four runtime services."""

from __future__ import annotations

import pulumi

from components.platform.control_plane import (
    ControlPlaneArgs,
    control_plane_specs,
    namespace_manifest,
    rbac_manifests,
    settings_config_map,
)
from components.workloads.component import Workload, WorkloadArgs
from components.workloads.registration import register_manifest, register_manifests


class ControlPlane(pulumi.ComponentResource):
    """Runs `isf serve predictor|warming|placement|api` in the platform namespace."""

    def __init__(self, name: str, args: ControlPlaneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("isf:platform:ControlPlane", name, None, opts)
        depends: list[pulumi.Resource] = []
        if args.create_namespace:
            depends.append(
                register_manifest(f"{name}-namespace", namespace_manifest(args), pulumi.ResourceOptions(parent=self))
            )
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=depends)
        settings = register_manifest(f"{name}-settings", settings_config_map(args), in_namespace)
        rbac = register_manifests(f"{name}-rbac", rbac_manifests(args.namespace), in_namespace)
        after_config = pulumi.ResourceOptions(parent=self, depends_on=[settings, *rbac])
        self.services = {
            spec.name: Workload(f"{name}-{spec.name}", WorkloadArgs(spec=spec, namespace=args.namespace), after_config)
            for spec in control_plane_specs(args)
        }
        self.register_outputs({"namespace": args.namespace, "services": sorted(self.services), "image": args.image})
