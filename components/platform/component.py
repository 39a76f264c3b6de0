"""The ControlPlane component: settings, ServiceAccounts and RBAC, the migration Job, the four runtime
services (which wait for the Job) and the retraining CronJob."""

from __future__ import annotations

import pulumi

from components.platform.auth import register_api_tokens
from components.platform.control_plane import (
    ControlPlaneArgs,
    control_plane_rbac,
    control_plane_specs,
    migration_spec,
    namespace_manifest,
    retraining_spec,
    service_accounts,
    settings_config_map,
)
from components.workloads.batch import batch_network_policy, cron_job, job
from components.workloads.component import Workload, WorkloadArgs
from components.workloads.manifests import Manifest
from components.workloads.registration import register_manifest, register_manifests

# pulumi-kubernetes awaits a Job until its Complete condition (and fails at once on Failed), 10 minutes by
# default (the batch/v1 Job resource docs); "replaceUnready" reruns a failed Job on the next update instead
# of waiting on the failed one again.
REPLACE_UNREADY = {"pulumi.com/replaceUnready": "true"}
AWAIT_MARGIN_S = 120


def _register_migration(name: str, args: ControlPlaneArgs, opts: pulumi.ResourceOptions) -> pulumi.Resource:
    spec = migration_spec(args)
    manifest = job(spec, args.namespace)
    manifest["metadata"]["annotations"] = {**manifest["metadata"].get("annotations", {}), **REPLACE_UNREADY}
    register_manifest(f"{name}-migrate-networkpolicy", batch_network_policy(spec, args.namespace), opts)
    wait = f"{spec.limits.active_deadline_seconds + AWAIT_MARGIN_S}s"
    return register_manifest(
        f"{name}-migrate-job",
        manifest,
        pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            # A Job's pod template is immutable: a new image means a new run, and the name is fixed.
            replace_on_changes=["spec"], delete_before_replace=True,
            custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait),
        )),
    )


def _rbac_name(name: str, manifest: Manifest) -> str:
    # A service's Role has the same name in the platform namespace and in each function namespace.
    namespace = manifest["metadata"].get("namespace")
    kind, object_name = manifest["kind"].lower(), manifest["metadata"]["name"]
    return f"{name}-rbac-{kind}-{namespace}-{object_name}" if namespace else f"{name}-rbac-{kind}-{object_name}"


class ControlPlane(pulumi.ComponentResource):
    """Runs `isf serve predictor|warming|placement|api` in the platform namespace, after `isf migrate`."""

    def __init__(self, name: str, args: ControlPlaneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("isf:platform:ControlPlane", name, None, opts)
        depends: list[pulumi.Resource] = []
        if args.create_namespace:
            depends.append(
                register_manifest(f"{name}-namespace", namespace_manifest(args), pulumi.ResourceOptions(parent=self))
            )
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=depends)
        settings = register_manifest(f"{name}-settings", settings_config_map(args), in_namespace)
        accounts = register_manifests(f"{name}-identity", service_accounts(args), in_namespace)
        rbac = [register_manifest(_rbac_name(name, manifest), manifest, in_namespace)
                for manifest in control_plane_rbac(args)]
        self.migration = _register_migration(
            name, args, pulumi.ResourceOptions(parent=self, depends_on=[*depends, *accounts])
        )
        tokens = register_api_tokens(name, args.namespace, in_namespace)  # components/platform/auth.py
        # The services roll only once the schema is at head: they no longer migrate on start.
        after_migration = pulumi.ResourceOptions(parent=self,
                                                 depends_on=[settings, *accounts, *rbac, *tokens, self.migration])
        self.services = {
            spec.name: Workload(f"{name}-{spec.name}", WorkloadArgs(spec=spec, namespace=args.namespace), after_migration)
            for spec in control_plane_specs(args)
        }
        if args.retraining.enabled:
            training = retraining_spec(args)
            register_manifest(f"{name}-train-networkpolicy", batch_network_policy(training, args.namespace),
                              after_migration)
            register_manifest(f"{name}-train-cronjob", cron_job(training, args.retraining.schedule, args.namespace),
                              after_migration)
        self.register_outputs({"namespace": args.namespace, "services": sorted(self.services), "image": args.image})
