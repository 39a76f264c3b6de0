"""Each stack, on each cloud, rendered under the mock engine: the inventory is what the platform promises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.render import REDACTED, Rendered
from tests.infra.conftest import VARIANTS, Render, render_variant, validate_manifests


def _of(rendered: Rendered, type_: str) -> list[dict[str, Any]]:
    return [item for item in rendered.inventory if item["type"] == type_]


def _containers(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    spec = manifest["spec"]["template"]["spec"] if manifest["kind"] != "Pod" else manifest["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_every_kubernetes_object_passes_strict_validation_for_the_configured_version(variant: Rendered) -> None:
    checked = validate_manifests(variant.manifests, variant.config.kubernetes_version)
    assert checked == len(variant.manifests) > 30


def test_every_workload_carries_the_secure_defaults(variant: Rendered) -> None:
    workloads = [m for m in variant.manifests if m["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]
    assert workloads
    for manifest in workloads:
        where = f"{manifest['kind']} {manifest['metadata']['name']}"
        pod = manifest["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        for container in _containers(manifest):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert security.get("privileged", False) is False, where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where
            assert "readinessProbe" in container and "livenessProbe" in container, where


def test_helm_charts_are_pinned_and_listed_with_their_values(variant: Rendered) -> None:
    charts = {chart.chart: chart for chart in variant.charts}
    assert {"base", "istiod", "gateway", "cert-manager", "knative-operator", "kube-prometheus-stack"} <= set(charts)
    for chart in variant.charts:
        assert chart.version and chart.version[0] in "v0123456789", chart.name
    assert charts["cert-manager"].values["crds"]["enabled"] is True


def test_knative_allows_tier_placement_in_pod_specs(variant: Rendered) -> None:
    (serving,) = [m for m in variant.manifests if m["kind"] == "KnativeServing"]
    features = serving["spec"]["config"]["features"]
    for flag in ("kubernetes.podspec-nodeselector", "kubernetes.podspec-affinity", "kubernetes.podspec-tolerations"):
        assert features[flag] == "enabled"
    assert serving["spec"]["ingress"]["istio"]["enabled"] is True


def test_prometheus_picks_up_our_monitors_and_rules_and_keeps_the_stack_retention(variant: Rendered) -> None:
    (prometheus,) = [c for c in variant.charts if c.chart == "kube-prometheus-stack"]
    spec = prometheus.values["prometheus"]["prometheusSpec"]
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert spec["ruleSelectorNilUsesHelmValues"] is False
    assert spec["retention"] == variant.config.monitoring.retention
    assert prometheus.values["grafana"]["sidecar"]["dashboards"]["enabled"] is True


def test_output_has_no_secret_and_no_integer_valued_float(variant: Rendered) -> None:
    text = json.dumps(variant.inventory) + json.dumps(variant.manifests)
    assert "placeholder.invalid" not in text
    assert "4dabf18193072939515e22adb298388d" not in text  # the engine's secret marker

    def walk(value: Any) -> None:
        if isinstance(value, float):
            assert not value.is_integer(), value
        elif isinstance(value, dict):
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(variant.inventory)


def test_the_control_plane_reads_the_stack_runtime_settings(variant: Rendered) -> None:
    (settings,) = [
        m for m in variant.manifests if m["kind"] == "ConfigMap" and m["metadata"]["namespace"] == "serverless-system"
    ]
    rendered_yaml = next(iter(settings["data"].values()))
    interval = variant.config.runtime.prediction.update_interval
    assert f"update_interval: {interval}" in rendered_yaml


# --- AWS -----------------------------------------------------------------------------------------------------


def test_staging_on_aws_spans_two_zones_with_public_and_private_subnets(render: Render) -> None:
    staging = render("staging")
    subnets = [s["inputs"] for s in _of(staging, "aws:ec2/subnet:Subnet")]
    assert len(subnets) == 4
    assert len({s["availabilityZone"] for s in subnets}) == 2
    assert sum(bool(s.get("mapPublicIpOnLaunch")) for s in subnets) == 2
    assert len(_of(staging, "aws:ec2/natGateway:NatGateway")) == 1


def test_production_on_aws_spans_three_zones_with_a_nat_per_zone(render: Render) -> None:
    production = render(*VARIANTS["production-aws"][:1], *VARIANTS["production-aws"][1])
    zones = {s["inputs"]["availabilityZone"] for s in _of(production, "aws:ec2/subnet:Subnet")}
    assert zones == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}
    assert len(_of(production, "aws:ec2/natGateway:NatGateway")) == 3


def test_eks_has_a_node_group_per_tier_and_a_tainted_nvidia_gpu_group(render: Render) -> None:
    groups = {g["inputs"]["labels"]["tier"]: g["inputs"] for g in _of(render("staging"), "aws:eks/nodeGroup:NodeGroup")
              if "nvidia.com/gpu.present" not in g["inputs"]["labels"]}
    assert set(groups) == {"edge", "regional", "cloud"}
    (gpu,) = [g["inputs"] for g in _of(render("staging"), "aws:eks/nodeGroup:NodeGroup")
              if "nvidia.com/gpu.present" in g["inputs"]["labels"]]
    assert gpu["amiType"] == "AL2023_x86_64_NVIDIA"
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in gpu["taints"]
    assert all(not any(t["key"] == "nvidia.com/gpu" for t in g.get("taints", [])) for g in groups.values())


def test_eks_authenticates_through_access_entries_and_offers_oidc_for_irsa(render: Render) -> None:
    staging = render("staging")
    (cluster,) = _of(staging, "aws:eks/cluster:Cluster")
    assert cluster["inputs"]["accessConfig"]["authenticationMode"] in ("API", "API_AND_CONFIG_MAP")
    assert cluster["inputs"]["version"] == staging.config.kubernetes_version
    assert _of(staging, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")


def test_the_nvidia_device_plugin_is_installed_on_eks(render: Render) -> None:
    assert any(c.chart == "nvidia-device-plugin" for c in render("staging").charts)


# --- GCP -----------------------------------------------------------------------------------------------------


def test_gke_is_vpc_native_without_the_default_pool_and_with_workload_identity(render: Render) -> None:
    (cluster,) = _of(render("production"), "gcp:container/cluster:Cluster")
    inputs = cluster["inputs"]
    assert inputs["networkingMode"] == "VPC_NATIVE"
    assert inputs["removeDefaultNodePool"] is True
    assert inputs["workloadIdentityConfig"]["workloadPool"] == "isf-production.svc.id.goog"


def test_gke_has_a_pool_per_tier_and_a_tainted_gpu_pool_with_drivers(render: Render) -> None:
    pools = [p["inputs"] for p in _of(render("production"), "gcp:container/nodePool:NodePool")]
    tiers = sorted(p["nodeConfig"]["labels"]["tier"] for p in pools if not p["nodeConfig"].get("guestAccelerators"))
    assert tiers == ["cloud", "edge", "regional"]
    (gpu,) = [p for p in pools if p["nodeConfig"].get("guestAccelerators")]
    accelerator = gpu["nodeConfig"]["guestAccelerators"][0]
    assert accelerator["gpuDriverInstallationConfig"]["gpuDriverVersion"]
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in gpu["nodeConfig"]["taints"]


# --- High availability ----------------------------------------------------------------------------------------


def test_production_replicates_the_serving_and_monitoring_control_planes(render: Render) -> None:
    production, staging = render("production"), render("staging")
    for rendered, replicas in ((production, 2), (staging, 1)):
        charts = {c.chart: c.values for c in rendered.charts}
        assert charts["kube-prometheus-stack"]["prometheus"]["prometheusSpec"]["replicas"] == replicas
        assert charts["cert-manager"]["replicaCount"] == replicas
        (serving,) = [m for m in rendered.manifests if m["kind"] == "KnativeServing"]
        assert serving["spec"]["high-availability"]["replicas"] == replicas


def test_production_protects_its_cluster_from_deletion(render: Render) -> None:
    (gke,) = _of(render("production"), "gcp:container/cluster:Cluster")
    assert gke["inputs"]["deletionProtection"] is True
    (staging_gke,) = _of(render(*VARIANTS["staging-gcp"][:1], *VARIANTS["staging-gcp"][1]), "gcp:container/cluster:Cluster")
    assert staging_gke["inputs"]["deletionProtection"] is False


def test_production_issues_certificates_with_acme_and_staging_self_signs(render: Render) -> None:
    def issuer(rendered: Rendered) -> dict[str, Any]:
        (found,) = [m for m in rendered.manifests if m["kind"] == "ClusterIssuer"]
        return found["spec"]

    assert issuer(render("production"))["acme"]["email"] == "platform-team@example.com"
    assert "selfSigned" in issuer(render("staging"))


def test_resource_counts_grow_from_staging_to_production_on_the_same_cloud(render: Render) -> None:
    staging = render("staging")
    production = render(*VARIANTS["production-aws"][:1], *VARIANTS["production-aws"][1])
    assert len(production.inventory) > len(staging.inventory)


# --- Data ------------------------------------------------------------------------------------------------------


def test_connection_secrets_are_delivered_to_the_platform_namespace(variant: Rendered) -> None:
    namespace = variant.config.platform.namespace
    secrets = {m["metadata"]["name"] for m in variant.manifests
               if m["kind"] == "Secret" and m["metadata"]["namespace"] == namespace}
    assert {variant.config.postgres.secret_name, variant.config.redis.secret_name} <= secrets


def test_production_rds_is_private_encrypted_multi_az_protected_and_tuned(render: Render) -> None:
    production = render(*VARIANTS["production-aws"][:1], *VARIANTS["production-aws"][1])
    (rds,) = [i["inputs"] for i in _of(production, "aws:rds/instance:Instance")]
    assert (rds["multiAz"], rds["deletionProtection"], rds["storageEncrypted"], rds["publiclyAccessible"]) == (
        True, True, True, False)
    assert int(rds["engineVersion"]) >= 15 and rds["backupRetentionPeriod"] == 14
    (params,) = [i["inputs"] for i in _of(production, "aws:rds/parameterGroup:ParameterGroup")]
    assert {"shared_buffers", "effective_cache_size", "work_mem"} <= {p["name"] for p in params["parameters"]}
    (staging_rds,) = [i["inputs"] for i in _of(render("staging"), "aws:rds/instance:Instance")]
    assert (staging_rds["multiAz"], staging_rds["deletionProtection"]) == (False, False)


def test_elasticache_runs_redis_7_in_cluster_mode_with_tls_and_an_auth_token(render: Render) -> None:
    (group,) = [i["inputs"] for i in _of(render("staging"), "aws:elasticache/replicationGroup:ReplicationGroup")]
    assert group["engineVersion"].startswith("7") and group["clusterMode"] == "enabled"
    assert group["transitEncryptionEnabled"] is True and group["authToken"] == "[secret]"
    assert (group["numNodeGroups"], group["replicasPerNodeGroup"]) == (3, 1)


def test_production_cloud_sql_is_regional_and_protected(render: Render) -> None:
    (instance,) = [i["inputs"] for i in _of(render("production"), "gcp:sql/databaseInstance:DatabaseInstance")]
    assert instance["settings"]["availabilityType"] == "REGIONAL"
    assert instance["deletionProtection"] is True
    assert _of(render("production"), "gcp:redis/cluster:Cluster")


# The deployment guide's ALTER SYSTEM settings, in the integer units managed services take
# (pg_settings.unit: 8kB pages for shared_buffers / effective_cache_size / wal_buffers, kB, MB for WAL sizes).
GUIDE_TUNING_NATIVE = {
    "shared_buffers": "524288",  # 4GB
    "effective_cache_size": "1572864",  # 12GB
    "maintenance_work_mem": "1048576",  # 1GB
    "checkpoint_completion_target": "0.9",
    "wal_buffers": "2048",  # 16MB
    "default_statistics_target": "100",
    "random_page_cost": "1.1",
    "effective_io_concurrency": "200",
    "work_mem": "20480",  # 20MB
    "min_wal_size": "1024",  # 1GB
    "max_wal_size": "4096",  # 4GB
}
GUIDE_TUNING = {
    "shared_buffers": "4GB", "effective_cache_size": "12GB", "maintenance_work_mem": "1GB",
    "checkpoint_completion_target": "0.9", "wal_buffers": "16MB", "default_statistics_target": "100",
    "random_page_cost": "1.1", "effective_io_concurrency": "200", "work_mem": "20MB", "min_wal_size": "1GB",
    "max_wal_size": "4GB",
}


def test_production_cloud_sql_carries_the_guides_tuning_as_database_flags(render: Render) -> None:
    (instance,) = [i["inputs"] for i in _of(render("production"), "gcp:sql/databaseInstance:DatabaseInstance")]
    flags = {f["name"]: f["value"] for f in instance["settings"]["databaseFlags"]}
    assert flags == GUIDE_TUNING_NATIVE


def test_production_rds_carries_the_guides_tuning_in_its_parameter_group(render: Render) -> None:
    production = render(*VARIANTS["production-aws"][:1], *VARIANTS["production-aws"][1])
    (group,) = [i["inputs"] for i in _of(production, "aws:rds/parameterGroup:ParameterGroup")]
    params = {p["name"]: p["value"] for p in group["parameters"] if p["name"] != "rds.force_ssl"}
    assert params == GUIDE_TUNING_NATIVE


def test_a_stack_override_of_one_tuning_setting_reaches_the_parameter_group(render: Render) -> None:
    rendered = render("staging", "postgres.tuning.work_mem=64MB")
    (group,) = [i["inputs"] for i in _of(rendered, "aws:rds/parameterGroup:ParameterGroup")]
    params = {p["name"]: p["value"] for p in group["parameters"]}
    assert params["work_mem"] == "65536" and params["shared_buffers"] == GUIDE_TUNING_NATIVE["shared_buffers"]


def test_in_cluster_postgres_is_a_three_instance_cloudnativepg_cluster(render: Render) -> None:
    rendered = render("staging", "postgres.mode=in_cluster")
    (cluster,) = [m for m in rendered.manifests if m["kind"] == "Cluster"]
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1" and cluster["spec"]["instances"] == 3
    assert not _of(rendered, "aws:rds/instance:Instance")
    assert validate_manifests(rendered.manifests, rendered.config.kubernetes_version) == len(rendered.manifests)


def test_in_cluster_redis_on_aws_replaces_elasticache_with_a_six_node_redis_cluster(render: Render) -> None:
    rendered = render("staging", "redis.mode=in_cluster")
    assert not _of(rendered, "aws:elasticache/replicationGroup:ReplicationGroup")
    assert [c.chart for c in rendered.charts if c.chart == "redis-operator"] == ["redis-operator"]
    (redis,) = [m for m in rendered.manifests if m["kind"] == "RedisCluster"]
    spec = redis["spec"]
    assert spec["redisLeader"]["replicas"] + spec["redisFollower"]["replicas"] == 6
    assert spec["kubernetesConfig"]["redisSecret"]["name"] == rendered.config.redis.secret_name
    assert redis["metadata"]["namespace"] == rendered.config.platform.namespace


# --- A cluster you already run ----------------------------------------------------------------------------------


@pytest.fixture
def existing(render: Render, lab_kubeconfig: Path) -> Rendered:
    return render_variant(render, "staging-existing", lab_kubeconfig)


def test_an_existing_cluster_creates_no_cloud_resource_and_one_provider_from_the_kubeconfig(existing: Rendered) -> None:
    types = {item["type"] for item in existing.inventory}
    assert not any(t.startswith(("aws:", "gcp:")) for t in types)
    (cluster,) = _of(existing, "isf:cluster:ExistingCluster")
    (provider,) = _of(existing, "pulumi:providers:kubernetes")
    assert provider["parent"] == cluster["name"]
    assert provider["inputs"]["context"] == "lab-admin"
    assert provider["inputs"]["kubeconfig"] == REDACTED
    assert "lab-token-do-not-print" not in json.dumps(existing.inventory)


def test_an_existing_cluster_runs_postgres_and_redis_inside_it_by_default(existing: Rendered) -> None:
    assert (existing.config.postgres.mode.value, existing.config.redis.mode.value) == ("in_cluster", "in_cluster")
    (postgres,) = [m for m in existing.manifests if m["kind"] == "Cluster"]
    assert postgres["apiVersion"] == "postgresql.cnpg.io/v1" and postgres["spec"]["instances"] == 3
    assert postgres["spec"]["postgresql"]["parameters"] == GUIDE_TUNING
    charts = {c.chart: c for c in existing.charts}
    assert {"cloudnative-pg", "redis-operator"} <= set(charts)
    (redis,) = [m for m in existing.manifests if m["kind"] == "RedisCluster"]
    assert (redis["spec"]["clusterSize"], redis["spec"]["redisFollower"]["replicas"]) == (3, 3)


def test_an_existing_cluster_gets_the_whole_platform_on_top(existing: Rendered) -> None:
    charts = {c.chart for c in existing.charts}
    assert {"base", "istiod", "gateway", "knative-operator", "cert-manager", "kube-prometheus-stack"} <= charts
    assert "nvidia-device-plugin" not in charts  # the cluster's owner runs it, as for its node labels
    kinds = {m["kind"] for m in existing.manifests}
    assert {"KnativeServing", "ClusterIssuer", "Deployment", "Secret", "ConfigMap"} <= kinds
