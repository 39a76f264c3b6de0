"""Redis 7 on Memorystore for Redis Cluster: private (Private Service Connect), TLS, AOF persistence.

Memorystore Redis Cluster authenticates with IAM or not at all (no passwords), so the Secret's password is
empty and access is limited to the VPC through PSC; in-transit TLS is still required. Its server certificates
are signed by a per-cluster Google-managed CA (server_ca_mode's default, SERVER_CA_MODE_GOOGLE_MANAGED_PER_
INSTANCE_CA), not by public roots; pulumi-gcp 10.2.0 exposes it as the cluster's `managed_server_cas`
output ("populated if transit_encryption_mode is TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION",
`pulumi_gcp/redis/cluster.py`), which the Secret carries under `ca.crt` for the runtime to verify with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.data.credentials import SecretDelivery
from components.data.protection import stateful_options
from components.data.redis_store import RedisStore
from components.data.spec import RedisSpec, StoreMode, mode_problems

DEFAULT_NODE_TYPE = "REDIS_STANDARD_SMALL"
PORT = 6379


@dataclass(frozen=True)
class MemorystoreRedisArgs:
    """The spec plus the project, region, VPC network and the subnetwork PSC endpoints take addresses from."""

    spec: RedisSpec
    delivery: SecretDelivery
    project: str
    region: str
    network_id: pulumi.Input[str]
    subnetwork_id: pulumi.Input[str]


def ca_bundle(cas: Sequence[gcp.redis.outputs.ClusterManagedServerCa] | None) -> str:
    """Every certificate of the cluster's managed CAs as one PEM bundle (more than one while a CA rotates)."""
    pems = [
        pem.strip()
        for ca in cas or []
        for chain in ca.ca_certs or []
        for pem in chain.certificates or []
    ]
    return "\n".join(pems) + "\n" if pems else ""


class MemorystoreRedis(RedisStore):
    """A Memorystore Redis Cluster (shards x replicas) reachable from the cluster's VPC."""

    def __init__(
        self, name: str, args: MemorystoreRedisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("isf:data:MemorystoreRedis", name, None, opts)
        spec = args.spec
        mode_problems(spec.mode, StoreMode.MANAGED, "MemorystoreRedis", "redis").raise_if_any()
        policy = gcp.networkconnectivity.ServiceConnectionPolicy(
            f"{name}-psc-policy",
            name=f"{name}-redis-psc",
            project=args.project,
            location=args.region,
            service_class="gcp-memorystore-redis",
            network=args.network_id,
            psc_config=gcp.networkconnectivity.ServiceConnectionPolicyPscConfigArgs(
                subnetworks=[args.subnetwork_id]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        cluster = gcp.redis.Cluster(
            f"{name}-cluster",
            name=name,
            project=args.project,
            region=args.region,
            shard_count=spec.shards,
            replica_count=spec.replicas_per_shard,
            node_type=spec.node_type or DEFAULT_NODE_TYPE,
            authorization_mode="AUTH_MODE_DISABLED",
            transit_encryption_mode="TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION",
            psc_configs=[gcp.redis.ClusterPscConfigArgs(network=args.network_id)],
            persistence_config=gcp.redis.ClusterPersistenceConfigArgs(
                mode="AOF",
                aof_config=gcp.redis.ClusterPersistenceConfigAofConfigArgs(append_fsync="EVERYSEC"),
            ),
            zone_distribution_config=gcp.redis.ClusterZoneDistributionConfigArgs(mode="MULTI_ZONE"),
            deletion_protection_enabled=spec.deletion_protection,
            opts=stateful_options(spec, parent=self, depends_on=[policy]),
        )
        host = cluster.discovery_endpoints.apply(
            lambda endpoints: (endpoints[0].address or "") if endpoints else ""
        )
        self._deliver(
            name,
            spec,
            args.delivery,
            host=host,
            port=PORT,
            password=pulumi.Output.secret(""),
            tls=True,
            ca_cert=cluster.managed_server_cas.apply(ca_bundle),
        )
        self._register()
