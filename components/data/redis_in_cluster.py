"""Redis 7 inside the cluster: the Bitnami redis-cluster chart, 3 shards x 1 replica, AOF on volumes.

The password comes from our Secret (`existingSecret`), so the chart never generates one of its own.
Values keys are those of the pinned chart's values.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.cluster.helm_release import PinnedChart, helm_release, merge_values
from components.cluster.scheduling import placement
from components.data.credentials import SecretDelivery, generated_password
from components.data.redis_store import RedisStore
from components.data.spec import RedisSpec, StoreMode, require_mode

CHART = PinnedChart(repository="https://charts.bitnami.com/bitnami", chart="redis-cluster", version="9.0.8")
PORT = 6379
PASSWORD_KEY = "password"


@dataclass(frozen=True)
class InClusterRedisArgs:
    """The spec plus where the release and its connection Secret go."""

    spec: RedisSpec
    delivery: SecretDelivery


def redis_cluster_values(spec: RedisSpec, fullname: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Curated chart values: node count from shards x replicas, our Secret, persistence, tier placement."""
    where = placement(spec.tier)
    persistence: dict[str, Any] = {"enabled": True, "size": f"{spec.persistence_gb}Gi"}
    if spec.storage_class:
        persistence["storageClass"] = spec.storage_class
    defaults: dict[str, Any] = {
        "fullnameOverride": fullname,
        "usePassword": True,
        "existingSecret": spec.secret_name,
        "existingSecretPasswordKey": PASSWORD_KEY,
        "cluster": {"nodes": spec.nodes, "replicas": spec.replicas_per_shard},
        "persistence": persistence,
        "redis": {
            "useAOFPersistence": "yes",
            "nodeSelector": where.node_selector,
            "tolerations": where.tolerations,
            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
        },
    }
    return merge_values(defaults, overrides)


class InClusterRedis(RedisStore):
    """A Redis Cluster StatefulSet (via Helm) in the platform namespace."""

    def __init__(
        self, name: str, args: InClusterRedisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("isf:data:InClusterRedis", name, None, opts)
        spec = args.spec
        require_mode(spec.mode, StoreMode.IN_CLUSTER, "InClusterRedis", "redis")
        fullname = f"{name}-redis"
        password = generated_password(f"{name}-password", self)
        namespace = pulumi.Output.from_input(args.delivery.namespace)
        host = namespace.apply(lambda ns: f"{fullname}.{ns}.svc.cluster.local")
        secret = self._deliver(name, spec, args.delivery, host=host, port=PORT, password=password, tls=False)
        helm_release(
            f"{name}-release",
            CHART,
            namespace=args.delivery.namespace,
            release_name=fullname,
            values=redis_cluster_values(spec, fullname, spec.values),
            create_namespace=False,
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.delivery.k8s_provider, depends_on=[secret]
            ),
        )
        self._register()
