"""Redis 7 inside the cluster: the Bitnami redis-cluster chart, 3 shards x 1 replica, AOF on volumes.

The password comes from our Secret (`existingSecret`), so the chart never generates one of its own.
Values keys are those of the pinned chart's values.yaml. Bitnami stopped publishing these images under
`docker.io/bitnami` (August 2025) and keeps the old tags, unmaintained, under `docker.io/bitnamilegacy`;
the chart pins tags, so every image repository points there. Mirror them to your own registry (the
`values` override) before relying on it in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.data.credentials import SecretDelivery, generated_password
from components.data.protection import stateful_options
from components.data.redis_store import RedisStore
from components.data.spec import RedisSpec, StoreMode, require_mode
from components.helm import ChartRef, helm_chart, merged_values
from runtime.contract.scheduling import placement

CHART = ChartRef(chart="redis-cluster", version="9.0.8", repo="https://charts.bitnami.com/bitnami")
IMAGE_NAMESPACE = "bitnamilegacy"
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
        "image": {"repository": f"{IMAGE_NAMESPACE}/redis-cluster"},
        "volumePermissions": {"image": {"repository": f"{IMAGE_NAMESPACE}/os-shell"}},
        "sysctlImage": {"repository": f"{IMAGE_NAMESPACE}/os-shell"},
        "metrics": {"image": {"repository": f"{IMAGE_NAMESPACE}/redis-exporter"}},
        "redis": {
            "useAOFPersistence": "yes",
            "nodeSelector": where.node_selector,
            "tolerations": where.tolerations,
            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
        },
    }
    return merged_values(defaults, overrides)


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
        helm_chart(
            f"{name}-chart",
            CHART,
            release=fullname,
            namespace=args.delivery.namespace,
            values=redis_cluster_values(spec, fullname, spec.values),
            # The chart's StatefulSet owns the PVCs; protecting the chart protects its children.
            opts=stateful_options(spec, parent=self, provider=args.delivery.k8s_provider, depends_on=[secret]),
        )
        self._register()
