"""The control plane migrates before the services roll, retrains on a schedule, shuts down within its grace
period, and each service holds exactly the Kubernetes permissions its code uses."""

from __future__ import annotations

import inspect
from typing import Any

from components.platform import ControlPlane, ControlPlaneArgs, ServiceRole
from components.platform.control_plane import (
    LOOP_STOP_S,
    TERMINATION_GRACE_S,
    UVICORN_DRAIN_S,
    control_plane_rbac,
    migration_spec,
    retraining_spec,
    service_spec,
)
from components.platform.rbac import ACCESS
from components.workloads import workload_manifests
from components.workloads.batch import cron_job, job
from runtime.actuation.patches import KnativeActuator, PlacementTarget, WarmTarget
from runtime.contract import environment
from runtime.contract.kubernetes import (
    FUNCTION_LABEL,
    KNATIVE_GROUP,
    ROUTING_STATE_ACTIVE,
    ROUTING_STATE_LABEL,
    SERVICE_LABEL,
)

ARGS = ControlPlaneArgs(namespace="isf-system", function_namespaces=["functions", "team-a"])
RBAC = "rbac.authorization.k8s.io/v1"


def _pod(manifest: dict[str, Any]) -> dict[str, Any]:
    spec = manifest["spec"]
    return (spec["jobTemplate"]["spec"] if manifest["kind"] == "CronJob" else spec)["template"]["spec"]


def _rules(kind: str, account: str, namespace: str | None = None) -> set[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    found = set()
    for manifest in control_plane_rbac(ARGS):
        meta = manifest["metadata"]
        if manifest["kind"] == kind and meta["name"] == account and meta.get("namespace") == namespace:
            for rule in manifest["rules"]:
                for resource in rule["resources"]:
                    found.add((rule["apiGroups"][0], resource, tuple(rule["verbs"]), tuple(rule.get("resourceNames", []))))
    return found


def test_services_no_longer_migrate_on_start_the_job_runs_isf_migrate_with_only_the_database() -> None:
    for role in ServiceRole:
        assert service_spec(role, ARGS).env[environment.MIGRATE_ON_START] == "false"
    migration = job(migration_spec(ARGS), ARGS.namespace)
    container = _pod(migration)["containers"][0]
    assert container["command"] == ["isf", "migrate"]
    assert {e["name"] for e in container["env"]} == {environment.DATABASE_URL_FILE}
    assert "livenessProbe" not in container and _pod(migration)["restartPolicy"] == "Never"
    assert migration["spec"]["activeDeadlineSeconds"] == 600 and migration["spec"]["backoffLimit"] == 3


def test_every_service_deployment_waits_for_the_completed_migration_job(run_pulumi: Any) -> None:
    records = run_pulumi(lambda: ControlPlane("platform", ARGS))
    migration = records.one("kubernetes:batch/v1:Job")
    assert migration.plain_inputs["metadata"]["annotations"]["pulumi.com/replaceUnready"] == "true"
    deployments = records.of_type("kubernetes:apps/v1:Deployment")
    assert len(deployments) == 4
    assert all(migration.urn in deployment.dependencies for deployment in deployments)


def test_retraining_is_an_hourly_forbid_cron_job_with_a_deadline_and_a_hardened_tokenless_pod() -> None:
    spec = retraining_spec(ARGS)
    cron = cron_job(spec, ARGS.retraining.schedule, ARGS.namespace)
    assert cron["spec"]["schedule"] == "0 * * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] < 3600  # ends before the next run
    pod = _pod(cron)
    container = pod["containers"][0]
    assert container["command"] == ["isf", "train", "--all"]
    assert pod["automountServiceAccountToken"] is False and pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]) == {"requests", "limits"}


def test_the_retraining_schedule_comes_from_the_stack_config() -> None:
    from infra.composition import plan
    from infra.config import StackConfig

    config = StackConfig.model_validate({"platform": {"retraining": {"schedule": {"schedule": "*/30 * * * *"}}}})
    assert plan(config).control_plane.retraining.schedule.schedule == "*/30 * * * *"


def test_the_grace_period_covers_the_request_drain_plus_the_longest_loop_stop() -> None:
    from runtime.api.loop import PeriodicLoop
    from runtime.api.server import GRACEFUL_SHUTDOWN_S

    assert UVICORN_DRAIN_S == GRACEFUL_SHUTDOWN_S
    assert LOOP_STOP_S == inspect.signature(PeriodicLoop.stop).parameters["timeout_s"].default
    assert TERMINATION_GRACE_S > GRACEFUL_SHUTDOWN_S + LOOP_STOP_S
    for role in ServiceRole:
        pod = workload_manifests(service_spec(role, ARGS), "isf-system")[0]["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] == TERMINATION_GRACE_S


def test_warming_may_read_knative_and_patch_revisions_only_in_the_function_namespaces() -> None:
    expected = {(KNATIVE_GROUP, "services", ("list",), ()), (KNATIVE_GROUP, "revisions", ("list", "patch"), ())}
    for namespace in ("functions", "team-a"):
        assert _rules("Role", "isf-warming", namespace) == expected
    assert _rules("ClusterRole", "isf-warming") == {("", "nodes", ("list",), ())}
    assert _rules("Role", "isf-warming", "isf-system") == {
        ("coordination.k8s.io", "leases", ("create",), ()),
        ("coordination.k8s.io", "leases", ("get", "update"), ("isf-warming",))}


def test_placement_may_read_nodes_and_patch_knative_services_in_the_function_namespaces() -> None:
    for namespace in ("functions", "team-a"):
        assert _rules("Role", "isf-placement", namespace) == {(KNATIVE_GROUP, "services", ("get", "list", "patch"), ())}
    assert _rules("ClusterRole", "isf-placement") == {("", "nodes", ("list",), ())}
    assert ("coordination.k8s.io", "leases", ("get", "update"), ("isf-placement",)) in _rules(
        "Role", "isf-placement", "isf-system")


def test_no_cluster_role_touches_knative_and_the_predictor_and_api_have_no_rbac_at_all() -> None:
    manifests = control_plane_rbac(ARGS)
    cluster_groups = {g for m in manifests if m["kind"] == "ClusterRole" for r in m["rules"] for g in r["apiGroups"]}
    assert cluster_groups == {""}
    subjects = {s["name"] for m in manifests if "subjects" in m for s in m["subjects"]}
    assert subjects == {"isf-warming", "isf-placement"}
    assert not any(v in ("*", "delete", "create") and r["resources"] != ["leases"]
                   for m in manifests for r in m.get("rules", []) for v in r["verbs"])


class _RecordingCustomObjects:
    """A CustomObjectsApi stand-in recording (plural, verb) for every call the actuator makes."""

    def __init__(self) -> None:
        self.calls: set[tuple[str, str]] = set()

    def get_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str, name: str) -> Any:
        self.calls.add((plural, "get"))
        return {"metadata": {"annotations": {}}, "spec": {"template": {"spec": {"nodeSelector": {"tier": "edge"}}}}}

    def list_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str, *,
                                      label_selector: str = "", _headers: dict[str, Any] | None = None) -> Any:
        self.calls.add((plural, "list"))
        labels = {SERVICE_LABEL: "f", FUNCTION_LABEL: "f", ROUTING_STATE_LABEL: ROUTING_STATE_ACTIVE}
        return {"items": [{"metadata": {"name": "f-00001", "namespace": namespace, "labels": labels,
                                        "annotations": {}}}]}

    def list_cluster_custom_object(self, group: str, version: str, plural: str, *, label_selector: str = "",
                                   _headers: dict[str, Any] | None = None) -> Any:
        raise AssertionError("the deployed controllers hold Roles per function namespace: no cluster-wide list")

    def patch_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str, name: str,
                                       body: Any, *, field_manager: str | None = None) -> Any:
        self.calls.add((plural, "patch"))
        return body


def _granted(role: ServiceRole) -> set[tuple[str, str]]:
    return {(resource, verb) for rule in ACCESS[role].functions for resource in rule.resources for verb in rule.verbs}


def test_the_granted_knative_verbs_are_exactly_what_the_actuator_calls_plus_the_list() -> None:
    warming, placement = _RecordingCustomObjects(), _RecordingCustomObjects()
    actuator = KnativeActuator(warming)
    [(_, revisions)] = actuator.serving_revisions(FUNCTION_LABEL, ["functions"]).items()
    actuator.apply_warm(WarmTarget("functions", "f", min_scale=2), revisions)
    KnativeActuator(placement).apply_placement(PlacementTarget("functions", "f", {"tier": "cloud"}))
    # function_services lists the labelled Services of each function namespace (runtime/services/kube.py).
    assert _granted(ServiceRole.WARMING) == warming.calls | {("services", "list")}
    assert _granted(ServiceRole.PLACEMENT) == placement.calls | {("services", "list")}
