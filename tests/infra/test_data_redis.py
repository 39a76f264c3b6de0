"""Specification of the Redis 7 cluster components (ElastiCache, Memorystore, in-cluster chart)."""

from __future__ import annotations

import pulumi_kubernetes as k8s
import pytest
from pydantic import ValidationError

from components.data.credentials import SecretDelivery
from components.data.redis_elasticache import ElastiCacheRedis, ElastiCacheRedisArgs
from components.data.redis_in_cluster import CHART, InClusterRedis, InClusterRedisArgs, redis_cluster_values
from components.data.redis_memorystore import MemorystoreRedis, MemorystoreRedisArgs
from components.data.spec import RedisSpec, StoreMode
from infra.mocks import Records, is_secret, run_program
from tests.support.helm_keys import FREE_FORM, KeyTree, unknown_value_paths

NAMESPACE = "serverless-system"

# bitnami/charts bitnami/redis-cluster/values.yaml at chart 9.0.8 (image redis-cluster:7.2.1-debian-11-r24):
# the keys we write, with their siblings. This version has no `global.security.allowInsecureImages` gate,
# so pointing the image repositories at bitnamilegacy needs nothing else.
_IMAGE: KeyTree = {"registry": None, "repository": None, "tag": None, "digest": None, "pullPolicy": None,
                   "pullSecrets": None, "debug": None}
REDIS_CLUSTER_KEYS: KeyTree = {
    "global": {"imageRegistry": None, "imagePullSecrets": None, "storageClass": None, "redis": {"password": None}},
    "nameOverride": None, "fullnameOverride": None, "clusterDomain": None, "commonAnnotations": FREE_FORM,
    "commonLabels": FREE_FORM, "extraDeploy": None, "diagnosticMode": FREE_FORM, "image": _IMAGE,
    "networkPolicy": FREE_FORM, "serviceAccount": FREE_FORM, "rbac": FREE_FORM, "podSecurityContext": FREE_FORM,
    "podDisruptionBudget": FREE_FORM, "minAvailable": None, "maxUnavailable": None,
    "containerSecurityContext": FREE_FORM, "usePassword": None, "password": None, "existingSecret": None,
    "existingSecretPasswordKey": None, "usePasswordFile": None, "tls": FREE_FORM, "service": FREE_FORM,
    "persistence": {"enabled": None, "path": None, "subPath": None, "storageClass": None, "annotations": FREE_FORM,
                    "accessModes": None, "size": None, "matchLabels": FREE_FORM, "matchExpressions": FREE_FORM},
    "persistentVolumeClaimRetentionPolicy": FREE_FORM,
    "volumePermissions": {"enabled": None, "image": _IMAGE, "containerSecurityContext": FREE_FORM,
                          "resources": FREE_FORM},
    "podSecurityPolicy": FREE_FORM,
    "redis": {"command": None, "args": None, "updateStrategy": FREE_FORM, "podManagementPolicy": None,
              "hostAliases": None, "hostNetwork": None, "useAOFPersistence": None, "containerPorts": FREE_FORM,
              "lifecycleHooks": FREE_FORM, "extraVolumes": None, "extraVolumeMounts": None,
              "customLivenessProbe": FREE_FORM, "customReadinessProbe": FREE_FORM, "customStartupProbe": FREE_FORM,
              "initContainers": None, "sidecars": None, "podLabels": FREE_FORM, "priorityClassName": None,
              "defaultConfigOverride": None, "configmap": None, "extraEnvVars": None, "extraEnvVarsCM": None,
              "extraEnvVarsSecret": None, "podAnnotations": FREE_FORM, "resources": FREE_FORM,
              "schedulerName": None, "shareProcessNamespace": None, "livenessProbe": FREE_FORM,
              "readinessProbe": FREE_FORM, "startupProbe": FREE_FORM, "podAffinityPreset": None,
              "podAntiAffinityPreset": None, "nodeAffinityPreset": FREE_FORM, "affinity": FREE_FORM,
              "nodeSelector": FREE_FORM, "tolerations": None, "topologySpreadConstraints": None},
    "updateJob": FREE_FORM,
    "cluster": {"init": None, "nodes": None, "replicas": None, "externalAccess": FREE_FORM, "update": FREE_FORM},
    "metrics": {"enabled": None, "image": _IMAGE, "resources": FREE_FORM, "extraArgs": FREE_FORM,
                "extraEnvVars": None, "podAnnotations": FREE_FORM, "podLabels": FREE_FORM,
                "containerSecurityContext": FREE_FORM, "serviceMonitor": FREE_FORM, "prometheusRule": FREE_FORM,
                "priorityClassName": None, "service": FREE_FORM},
    "sysctlImage": {"enabled": None, "command": None, "registry": None, "repository": None, "tag": None,
                    "digest": None, "pullPolicy": None, "pullSecrets": None, "mountHostSys": None,
                    "containerSecurityContext": FREE_FORM, "resources": FREE_FORM},
}


def _delivery() -> SecretDelivery:
    return SecretDelivery(namespace=NAMESPACE, k8s_provider=k8s.Provider("cluster", kubeconfig="{}"))


@pytest.fixture(scope="module")
def elasticache() -> Records:
    spec = RedisSpec(high_availability=True)
    return run_program(
        lambda: ElastiCacheRedis(
            "cache",
            ElastiCacheRedisArgs(
                spec=spec,
                delivery=_delivery(),
                vpc_id="vpc-1",
                subnet_ids=["a", "b", "c"],
                client_cidr_blocks=["10.0.0.0/16"],
            ),
        )
    )


def test_elasticache_runs_cluster_mode_with_three_shards_of_one_replica(elasticache: Records) -> None:
    group = elasticache.one("aws:elasticache/replicationGroup:ReplicationGroup").inputs
    assert group["clusterMode"] == "enabled" and group["parameterGroupName"].endswith("cluster.on")
    assert (group["numNodeGroups"], group["replicasPerNodeGroup"]) == (3, 1)
    assert group["engineVersion"].startswith("7")
    assert group["automaticFailoverEnabled"] is True and group["multiAzEnabled"] is True


def test_elasticache_encrypts_in_transit_and_at_rest_behind_a_secret_auth_token(elasticache: Records) -> None:
    group = elasticache.one("aws:elasticache/replicationGroup:ReplicationGroup").inputs
    assert group["transitEncryptionEnabled"] is True and group["atRestEncryptionEnabled"] is True
    assert is_secret(group["authToken"])


def test_redis_connection_details_reach_the_platform_namespace(elasticache: Records) -> None:
    secret = elasticache.one("kubernetes:core/v1:Secret")
    assert (secret.inputs["metadata"]["namespace"], secret.inputs["metadata"]["name"]) == (
        NAMESPACE,
        "redis-credentials",
    )
    data = secret.plain_inputs["stringData"]
    token = elasticache.one("aws:elasticache/replicationGroup:ReplicationGroup").plain_inputs["authToken"]
    assert data["host"].startswith("clustercfg.") and data["tls"] == "true" and data["password"] == token
    assert data["url"].startswith("rediss://")


def test_memorystore_cluster_is_reached_over_psc_with_tls_and_aof_persistence() -> None:
    def program() -> None:
        MemorystoreRedis(
            "cache",
            MemorystoreRedisArgs(
                spec=RedisSpec(),
                delivery=_delivery(),
                project="acme",
                region="europe-west1",
                network_id="net",
                subnetwork_id="sub",
            ),
        )

    records = run_program(program)
    cluster = records.one("gcp:redis/cluster:Cluster").inputs
    assert (cluster["shardCount"], cluster["replicaCount"]) == (3, 1)
    assert cluster["transitEncryptionMode"] == "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION"
    assert cluster["persistenceConfig"]["mode"] == "AOF"
    assert (
        records.one("gcp:networkconnectivity/serviceConnectionPolicy:ServiceConnectionPolicy").inputs[
            "serviceClass"
        ]
        == "gcp-memorystore-redis"
    )
    assert records.one("kubernetes:core/v1:Secret").plain_inputs["stringData"]["host"] == "10.30.0.4"


def test_in_cluster_redis_is_six_persistent_nodes_using_our_password_secret() -> None:
    spec = RedisSpec(mode=StoreMode.IN_CLUSTER)
    records = run_program(
        lambda: InClusterRedis("cache", InClusterRedisArgs(spec=spec, delivery=_delivery()))
    )
    chart = records.one("kubernetes:helm.sh/v4:Chart")
    release = chart.inputs
    assert (release["chart"], release["version"], release["name"]) == (CHART.chart, CHART.version, "cache-redis")
    values = release["values"]
    assert values["cluster"] == {"nodes": 6, "replicas": 1}
    assert values["persistence"]["enabled"] is True and values["persistence"]["size"] == "20Gi"
    assert (values["existingSecret"], values["existingSecretPasswordKey"]) == (
        "redis-credentials",
        "password",
    )
    assert release["namespace"] == NAMESPACE
    secret = records.one("kubernetes:core/v1:Secret")
    assert secret.inputs["metadata"]["name"] == values["existingSecret"]
    assert secret.urn in chart.dependencies  # the pods read their password from it at start
    data = secret.plain_inputs["stringData"]
    assert data["host"] == f"cache-redis.{NAMESPACE}.svc.cluster.local"
    assert data["url"] == f"redis://:{data['password']}@cache-redis.{NAMESPACE}.svc.cluster.local:6379"


def test_in_cluster_redis_writes_only_keys_of_the_pinned_chart() -> None:
    values = redis_cluster_values(RedisSpec(mode=StoreMode.IN_CLUSTER, storage_class="gp3"), "r", {})
    assert unknown_value_paths(values, REDIS_CLUSTER_KEYS) == []


def test_a_misspelt_chart_key_would_be_caught_by_the_key_table() -> None:
    values = redis_cluster_values(RedisSpec(mode=StoreMode.IN_CLUSTER), "r", {"redis": {"nodeSelectr": {}}})
    assert unknown_value_paths(values, REDIS_CLUSTER_KEYS) == ["redis.nodeSelectr"]


def test_every_redis_image_comes_from_bitnamilegacy_where_bitnami_keeps_the_pinned_tags() -> None:
    values = redis_cluster_values(RedisSpec(mode=StoreMode.IN_CLUSTER), "r", {})
    repositories = [
        values["image"]["repository"],
        values["volumePermissions"]["image"]["repository"],
        values["sysctlImage"]["repository"],
        values["metrics"]["image"]["repository"],
    ]
    assert repositories == [
        "bitnamilegacy/redis-cluster", "bitnamilegacy/os-shell", "bitnamilegacy/os-shell", "bitnamilegacy/redis-exporter"
    ]


def test_chart_values_overrides_merge_over_the_curated_defaults() -> None:
    values = redis_cluster_values(
        RedisSpec(mode=StoreMode.IN_CLUSTER), "r", {"redis": {"resources": {"limits": {"memory": "4Gi"}}}}
    )
    assert values["redis"]["resources"]["limits"] == {"memory": "4Gi"}
    assert values["redis"]["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}
    assert values["redis"]["nodeSelector"] == {"tier": "regional"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shards": 2}, "shards"),
        ({"high_availability": True, "replicas_per_shard": 0}, "needs replicas_per_shard >= 1"),
    ],
)
def test_bad_redis_specs_are_rejected_naming_the_field(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RedisSpec.model_validate(changes)
