"""Redis 7 on ElastiCache: cluster mode enabled, TLS in transit, encryption at rest, an AUTH token."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.data.credentials import SecretDelivery, generated_password
from components.data.protection import stateful_options
from components.data.redis_store import RedisStore
from components.data.spec import RedisSpec, StoreMode, mode_problems

ENGINE_VERSION = "7.1"
PARAMETER_GROUP = "default.redis7.cluster.on"  # cluster mode needs the cluster.on family defaults
DEFAULT_NODE_TYPE = "cache.r7g.large"
PORT = 6379


@dataclass(frozen=True)
class ElastiCacheRedisArgs:
    """The spec plus where the replication group lives and who may connect (the cluster's VPC)."""

    spec: RedisSpec
    delivery: SecretDelivery
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    client_cidr_blocks: Sequence[str]


class ElastiCacheRedis(RedisStore):
    """An ElastiCache replication group in cluster mode (shards x replicas) inside the VPC."""

    def __init__(
        self, name: str, args: ElastiCacheRedisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("isf:data:ElastiCacheRedis", name, None, opts)
        spec = args.spec
        problems = mode_problems(spec.mode, StoreMode.MANAGED, "ElastiCacheRedis", "redis")
        problems.require(
            bool(args.client_cidr_blocks),
            "client_cidr_blocks",
            "is empty: name the cluster's VPC CIDR so pods can connect",
        )
        problems.raise_if_any()
        child = pulumi.ResourceOptions(parent=self)
        tags = {"isf/store": name}
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"Redis clients of {name}",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp", from_port=PORT, to_port=PORT, cidr_blocks=list(args.client_cidr_blocks)
                )
            ],
            tags=tags,
            opts=child,
        )
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-subnets", subnet_ids=list(args.subnet_ids), tags=tags, opts=child
        )
        token = generated_password(f"{name}-auth-token", self)
        group = aws.elasticache.ReplicationGroup(
            f"{name}-group",
            description=f"isf Redis cluster {name}",
            engine="redis",
            engine_version=ENGINE_VERSION,
            node_type=spec.node_type or DEFAULT_NODE_TYPE,
            port=PORT,
            parameter_group_name=PARAMETER_GROUP,
            cluster_mode="enabled",
            num_node_groups=spec.shards,
            replicas_per_node_group=spec.replicas_per_shard,
            automatic_failover_enabled=True,
            multi_az_enabled=spec.high_availability,
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            auth_token=token,
            subnet_group_name=subnets.name,
            security_group_ids=[security_group.id],
            snapshot_retention_limit=spec.snapshot_retention_days,
            final_snapshot_identifier=f"{name}-final" if spec.deletion_protection else None,
            auto_minor_version_upgrade=True,
            tags=tags,
            opts=stateful_options(spec, parent=self),
        )
        self._deliver(
            name,
            spec,
            args.delivery,
            host=group.configuration_endpoint_address,
            port=PORT,
            password=token,
            tls=True,
        )
        self._register()
