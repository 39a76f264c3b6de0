"""Redis 7 inside the cluster: the OT redis-operator (Helm) and a `RedisCluster` of shards x (1 + replicas).

The Bitnami `redis-cluster` chart this replaced is gone from the Bitnami index and its images are frozen
under `bitnamilegacy`; the OT-CONTAINER-KIT operator is maintained, Apache-2.0, and its images are public
(quay.io/opstree). What the operator does with the CR, read at v0.26.0 of OT-CONTAINER-KIT/redis-operator:
- `clusterSize` leaders in StatefulSet `<name>-leader`, `redisFollower.replicas` followers in
  `<name>-follower`, `followers / leaders` replicas per leader (`internal/k8sutils/redis.go`,
  `ExecuteRedisReplicationCommand`); so followers = shards x replicas_per_shard.
- Services `<name>-leader` / `<name>-follower` (+ `-headless`) (`internal/k8sutils/redis-cluster.go`);
  the Secret's host is the leader Service, clients discover the other nodes from it.
- `persistenceEnabled` sets PERSISTENCE_ENABLED, and the bootstrap writes `appendonly yes` plus RDB saves
  (`internal/agent/bootstrap/redis/config.go`): AOF on the claimed volume, as the old chart did.
- `kubernetesConfig.redisSecret` names the Secret and key the password comes from: our credentials Secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.data.credentials import SecretDelivery, generated_password
from components.data.protection import stateful_options
from components.data.redis_store import RedisStore
from components.data.spec import RedisSpec, StoreMode, mode_problems
from components.helm import ChartRef, helm_chart, merged_values
from runtime.contract.scheduling import placement

OPERATOR_CHART = ChartRef(
    chart="redis-operator", version="0.26.1", repo="https://ot-container-kit.github.io/helm-charts"
)
OPERATOR_NAMESPACE = "redis-operator"
API_VERSION = "redis.redis.opstreelabs.in/v1beta2"
KIND = "RedisCluster"
# The redis-cluster chart 0.17.4's defaults for the operator 0.26 line (values.yaml redisCluster.image/tag).
REDIS_IMAGE = "quay.io/opstree/redis:v7.0.15"
PORT = 6379
PASSWORD_KEY = "password"
NODE_CONF_GB = 1  # nodes.conf of each node: its cluster identity survives a restart with a new pod IP


@dataclass(frozen=True)
class InClusterRedisArgs:
    """The spec plus where the RedisCluster and its connection Secret go."""

    spec: RedisSpec
    delivery: SecretDelivery


def operator_values(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Curated redis-operator chart values (keys of chart 0.26.1's values.yaml) with overrides merged."""
    defaults: dict[str, Any] = {
        "redisOperator": {"imagePullPolicy": "IfNotPresent"},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "500Mi"}},
    }
    return merged_values(defaults, overrides)


def _claim(size_gb: int, storage_class: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{size_gb}Gi"}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return {"spec": spec}


def redis_cluster_manifest(
    cluster_name: str, namespace: str, spec: RedisSpec, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The `RedisCluster` CR: shards x replicas, our password Secret, AOF on volumes, the spec's tier."""
    where = placement(spec.tier)
    pods = [f"{cluster_name}-leader", f"{cluster_name}-follower"]
    # Like the old chart's default (podAntiAffinityPreset: soft): spread nodes over hosts where possible.
    affinity = {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": pods}]},
                    },
                }
            ]
        }
    }
    role = {"nodeSelector": where.node_selector, "tolerations": where.tolerations, "affinity": affinity}
    body: dict[str, Any] = {
        "clusterSize": spec.shards,
        "clusterVersion": "v7",
        "persistenceEnabled": True,
        "port": PORT,
        "kubernetesConfig": {
            "image": REDIS_IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "redisSecret": {"name": spec.secret_name, "key": PASSWORD_KEY},
            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
        },
        "redisLeader": {"replicas": spec.shards, **role},
        "redisFollower": {"replicas": spec.shards * spec.replicas_per_shard, **role},
        "storage": {
            "volumeClaimTemplate": _claim(spec.persistence_gb, spec.storage_class),
            "nodeConfVolume": True,
            "nodeConfVolumeClaimTemplate": _claim(NODE_CONF_GB, spec.storage_class),
            # Production: deleting the CR leaves the volumes (and the data) in place.
            "keepAfterDelete": spec.deletion_protection,
        },
        "podSecurityContext": {"runAsUser": 1000, "fsGroup": 1000},
    }
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": cluster_name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "isf", "app.kubernetes.io/component": "redis"},
        },
        "spec": merged_values(body, overrides),
    }


class InClusterRedis(RedisStore):
    """The OT redis-operator plus a `RedisCluster` in the platform namespace."""

    def __init__(
        self, name: str, args: InClusterRedisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("isf:data:InClusterRedis", name, None, opts)
        spec = args.spec
        mode_problems(spec.mode, StoreMode.IN_CLUSTER, "InClusterRedis", "redis").raise_if_any()
        provider = args.delivery.k8s_provider
        operator_namespace = k8s.core.v1.Namespace(
            f"{name}-operator-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=OPERATOR_NAMESPACE),
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        # The chart ships the RedisCluster CRD (crds/crds.yaml), so the CR depends on the whole chart.
        operator = helm_chart(
            f"{name}-operator",
            OPERATOR_CHART,
            release=OPERATOR_CHART.chart,
            namespace=OPERATOR_NAMESPACE,
            values=operator_values(spec.operator_values),
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[operator_namespace]),
        )
        cluster_name = f"{name}-redis"
        password = generated_password(f"{name}-password", self)
        namespace = pulumi.Output.from_input(args.delivery.namespace)
        host = namespace.apply(lambda ns: f"{cluster_name}-leader.{ns}.svc.cluster.local")
        # The pods read their password from this Secret at start, so it must exist first.
        secret = self._deliver(name, spec, args.delivery, host=host, port=PORT, password=password, tls=False)
        manifest = namespace.apply(lambda ns: redis_cluster_manifest(cluster_name, ns, spec, spec.cluster_spec))
        k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version=API_VERSION,
            kind=KIND,
            metadata=manifest.apply(lambda m: m["metadata"]),
            spec=manifest.apply(lambda m: m["spec"]),
            opts=stateful_options(spec, parent=self, provider=provider, depends_on=[operator, secret]),
        )
        self._register()
