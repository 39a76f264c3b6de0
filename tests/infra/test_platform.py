"""The control plane runs the runtime services with the settings, data secrets and RBAC they need."""

from __future__ import annotations

from typing import Any

import yaml

from components.observability.prometheus_stack import prometheus_url
from components.platform import ControlPlane, ControlPlaneArgs, ServiceRole
from components.platform.control_plane import (
    control_plane_rbac,
    control_plane_specs,
    migration_spec,
    retraining_spec,
    service_accounts,
    service_spec,
    settings_config_map,
)
from components.workloads import workload_manifests
from components.workloads.batch import cron_job, job
from runtime.contract import environment
from runtime.settings import RuntimeSettings, WarmingSettings

TUNED = RuntimeSettings(warming=WarmingSettings(prewarm_buffer=2.0, min_warm_pool=5, max_warm_pool=200))


def all_manifests(args: ControlPlaneArgs) -> list[dict[str, Any]]:
    objects = [settings_config_map(args), *service_accounts(args), *control_plane_rbac(args),
               job(migration_spec(args), args.namespace),
               cron_job(retraining_spec(args), args.retraining.schedule, args.namespace)]
    for spec in control_plane_specs(args):
        objects += workload_manifests(spec, args.namespace)
    return objects


def test_every_control_plane_object_is_valid(validate_manifests: Any) -> None:
    assert validate_manifests(all_manifests(ControlPlaneArgs(settings=TUNED))) >= 20


def test_settings_config_map_round_trips_to_the_same_settings() -> None:
    data = settings_config_map(ControlPlaneArgs(settings=TUNED))["data"]["settings.yaml"]
    assert RuntimeSettings.model_validate(yaml.safe_load(data)) == TUNED


def test_each_service_runs_isf_serve_with_settings_file_and_data_urls_as_files() -> None:
    args = ControlPlaneArgs()
    for role in ServiceRole:
        spec = service_spec(role, args)
        assert spec.command == ["isf", "serve", role.value]
        assert spec.env[environment.SETTINGS_FILE] == "/etc/isf/settings.yaml"
        assert {ref.name for ref in spec.secret_files} == {environment.DATABASE_URL_FILE, environment.REDIS_URL_FILE}
        assert spec.secret_env == []
        # The data layer's Redis is always a cluster: the services must use the cluster-aware client.
        assert spec.env["ISF_REDIS_CLUSTER"] == "true"
        assert spec.metrics is not None


def test_only_the_controllers_get_an_api_token_and_every_workload_its_own_account() -> None:
    args = ControlPlaneArgs()
    tokens = {}
    for role in ServiceRole:
        pod = workload_manifests(service_spec(role, args), "isf-system")[0]["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == f"isf-{role.value}"
        tokens[role] = pod["automountServiceAccountToken"]
    assert tokens == {ServiceRole.WARMING: True, ServiceRole.PLACEMENT: True,
                      ServiceRole.PREDICTOR: False, ServiceRole.API: False}
    accounts = {a["metadata"]["name"]: a["automountServiceAccountToken"] for a in service_accounts(args)}
    assert accounts == {"isf-predictor": False, "isf-warming": True, "isf-placement": True, "isf-api": False,
                        "isf-migrate": False, "isf-train": False}


def test_changing_settings_rolls_the_pods() -> None:
    def annotation(settings: RuntimeSettings) -> str:
        return service_spec(ServiceRole.WARMING, ControlPlaneArgs(settings=settings)).annotations["isf.io/settings-sha256"]

    assert annotation(TUNED) != annotation(RuntimeSettings())


def test_replicated_services_get_disruption_budgets() -> None:
    kinds = [m["kind"] for m in workload_manifests(service_spec(ServiceRole.API, ControlPlaneArgs()), "isf-system")]
    assert "PodDisruptionBudget" in kinds and "ServiceMonitor" in kinds


def test_control_plane_component_registers_four_services_and_the_config(run_pulumi: Any) -> None:
    records = run_pulumi(lambda: ControlPlane("platform", ControlPlaneArgs(image="registry.example/isf:9")))
    deployments = records.of_type("kubernetes:apps/v1:Deployment")
    assert sorted(d.plain_inputs["metadata"]["name"] for d in deployments) == [
        "isf-api", "isf-placement", "isf-predictor", "isf-warming"]
    assert {d.plain_inputs["spec"]["template"]["spec"]["containers"][0]["image"] for d in deployments} == {
        "registry.example/isf:9"}
    assert records.one("kubernetes:core/v1:ConfigMap").plain_inputs["metadata"]["name"] == "isf-settings"
    assert len(records.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")) == 2  # nodes: list
    assert len(records.of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")) == 4


def test_only_the_api_collects_knative_request_counts_from_prometheus() -> None:
    # The chart's well-known Service for release "prometheus" (its fullname is cut at 26 characters).
    url = "http://prometheus-kube-prometheus-prometheus.monitoring.svc:9090"
    assert prometheus_url("monitoring") == url
    args = ControlPlaneArgs(namespace="serverless-system", prometheus_url=url)
    collectors = {spec.name for spec in control_plane_specs(args) if spec.env.get("ISF_PROMETHEUS_URL") == url}
    assert collectors == {"isf-api"}
