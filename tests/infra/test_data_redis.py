"""Specification of the Redis 7 cluster components (ElastiCache, Memorystore, in-cluster chart)."""

from __future__ import annotations

import pulumi_kubernetes as k8s
import pytest
from pydantic import ValidationError

from components.data.credentials import REDIS_CA_KEY, SecretDelivery
from components.data.redis_elasticache import ElastiCacheRedis, ElastiCacheRedisArgs
from components.data.redis_in_cluster import (
    OPERATOR_CHART,
    InClusterRedis,
    InClusterRedisArgs,
    operator_values,
    redis_cluster_manifest,
)
from components.data.redis_memorystore import MemorystoreRedis, MemorystoreRedisArgs
from components.data.spec import RedisSpec, StoreMode
from infra.mocks import Records, is_secret, run_program
from tests.support.crd_schemas import crd_errors, crd_for
from tests.support.helm_keys import chart_defaults, unknown_chart_paths

NAMESPACE = "serverless-system"

REDIS_CRDS = ("redis-operator", "0.26.0")  # tests/data/upstream/crds/<component>/<release>/


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


def test_the_memorystore_secret_carries_the_clusters_own_ca_for_tls_verification() -> None:
    # Memorystore signs its server certificates with a per-cluster Google CA, not a public root: without it
    # in the Secret the runtime's TLS handshake fails ("certificate verify failed").
    records = run_program(
        lambda: MemorystoreRedis(
            "cache",
            MemorystoreRedisArgs(
                spec=RedisSpec(), delivery=_delivery(), project="acme", region="europe-west1",
                network_id="net", subnetwork_id="sub",
            ),
        )
    )
    cluster = records.one("gcp:redis/cluster:Cluster").outputs
    (pem,) = cluster["managedServerCas"][0]["caCerts"][0]["certificates"]
    data = records.one("kubernetes:core/v1:Secret").plain_inputs["stringData"]
    assert data[REDIS_CA_KEY] == pem and data["url"].startswith("rediss://")


def test_elasticache_chains_to_public_roots_so_its_secret_has_an_empty_ca(elasticache: Records) -> None:
    assert elasticache.one("kubernetes:core/v1:Secret").plain_inputs["stringData"][REDIS_CA_KEY] == ""


@pytest.fixture(scope="module")
def in_cluster() -> Records:
    spec = RedisSpec(mode=StoreMode.IN_CLUSTER)
    return run_program(lambda: InClusterRedis("cache", InClusterRedisArgs(spec=spec, delivery=_delivery())))


def test_in_cluster_redis_is_the_ot_operator_and_a_redis_cluster_of_three_shards_with_a_replica_each(
    in_cluster: Records,
) -> None:
    chart = in_cluster.one("kubernetes:helm.sh/v4:Chart").inputs
    assert (chart["chart"], chart["version"]) == (OPERATOR_CHART.chart, "0.26.1")
    cluster = in_cluster.one("kubernetes:redis.redis.opstreelabs.in/v1beta2:RedisCluster")
    spec = cluster.plain_inputs["spec"]
    # The operator makes clusterSize leaders and spreads followers evenly over them.
    assert (spec["clusterSize"], spec["redisLeader"]["replicas"], spec["redisFollower"]["replicas"]) == (3, 3, 3)
    assert cluster.plain_inputs["metadata"]["namespace"] == NAMESPACE
    assert in_cluster.one("kubernetes:helm.sh/v4:Chart").urn in cluster.dependencies  # the chart ships the CRD


def test_in_cluster_redis_keeps_its_data_on_volumes_with_aof(in_cluster: Records) -> None:
    spec = in_cluster.one("kubernetes:redis.redis.opstreelabs.in/v1beta2:RedisCluster").plain_inputs["spec"]
    assert spec["persistenceEnabled"] is True  # the operator's bootstrap then writes `appendonly yes`
    claim = spec["storage"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "20Gi"
    assert spec["storage"]["nodeConfVolume"] is True


def test_in_cluster_redis_reads_its_password_from_the_secret_the_control_plane_mounts(in_cluster: Records) -> None:
    cluster = in_cluster.one("kubernetes:redis.redis.opstreelabs.in/v1beta2:RedisCluster")
    secret = in_cluster.one("kubernetes:core/v1:Secret")
    assert cluster.plain_inputs["spec"]["kubernetesConfig"]["redisSecret"] == {
        "name": secret.inputs["metadata"]["name"],
        "key": "password",
    }
    assert secret.urn in cluster.dependencies  # the pods read their password from it at start
    data = secret.plain_inputs["stringData"]
    host = f"cache-redis-leader.{NAMESPACE}.svc.cluster.local"
    assert set(data) == {"host", "port", "password", "tls", "url", REDIS_CA_KEY}
    assert data["host"] == host and data["tls"] == "false"
    assert data["url"] == f"redis://:{data['password']}@{host}:6379"


def test_in_cluster_redis_runs_on_its_tier_spread_over_hosts(in_cluster: Records) -> None:
    spec = in_cluster.one("kubernetes:redis.redis.opstreelabs.in/v1beta2:RedisCluster").plain_inputs["spec"]
    for role in ("redisLeader", "redisFollower"):
        assert spec[role]["nodeSelector"] == {"tier": "regional"}
        assert {"key": "tier", "operator": "Equal", "value": "regional", "effect": "NoSchedule"} in spec[role][
            "tolerations"
        ]
        anti = spec[role]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        assert anti[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"


@pytest.mark.parametrize(
    "spec",
    [
        RedisSpec(mode=StoreMode.IN_CLUSTER),
        RedisSpec(mode=StoreMode.IN_CLUSTER, shards=5, replicas_per_shard=2, storage_class="gp3",
                  deletion_protection=True),
    ],
)
def test_the_redis_cluster_is_valid_against_the_operators_v0_26_crd(spec: RedisSpec) -> None:
    manifest = redis_cluster_manifest("r", NAMESPACE, spec)
    crd = crd_for(manifest)
    assert crd is not None and (crd.component, crd.release) == REDIS_CRDS
    assert crd_errors(manifest) == []


def test_a_misspelt_cluster_spec_override_is_caught_by_the_crd() -> None:
    manifest = redis_cluster_manifest("r", NAMESPACE, RedisSpec(mode=StoreMode.IN_CLUSTER), {"redisLeadr": {}})
    assert any("redisLeadr" in error for error in crd_errors(manifest))


def test_cluster_spec_overrides_merge_over_the_curated_spec() -> None:
    manifest = redis_cluster_manifest(
        "r", NAMESPACE, RedisSpec(mode=StoreMode.IN_CLUSTER),
        {"kubernetesConfig": {"resources": {"limits": {"memory": "4Gi"}}}},
    )
    resources = manifest["spec"]["kubernetesConfig"]["resources"]
    assert resources["limits"] == {"memory": "4Gi"} and resources["requests"] == {"cpu": "250m", "memory": "512Mi"}


def test_the_operator_chart_values_are_keys_of_the_pinned_chart() -> None:
    assert unknown_chart_paths(operator_values({}), chart_defaults("redis-operator", OPERATOR_CHART.version)) == []


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
