"""Typed specs of the platform's data stores, as the stack config states them (defaults from the guide).

`PostgresSpec` and `RedisSpec` are pure configuration; the components add the wiring (network, provider,
namespace) through their own Args. Fields that only apply to one placement say so in their description.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from components.input_errors import InputProblems
from runtime.contract import Tier

_MEMORY = re.compile(r"^(\d+)\s*(kB|MB|GB|TB)$")
_UNIT_KB = {"kB": 1, "MB": 1024, "GB": 1024**2, "TB": 1024**3}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreMode(StrEnum):
    """Where a data store runs."""

    MANAGED = "managed"  # RDS / ElastiCache on AWS, Cloud SQL / Memorystore on GCP
    IN_CLUSTER = "in_cluster"  # CloudNativePG / OT redis-operator inside the Kubernetes cluster


def memory_kb(value: str) -> int:
    """PostgreSQL memory setting ('4GB', '16MB', '512kB') in kB; raises naming the bad value."""
    match = _MEMORY.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a PostgreSQL memory size like '4GB', '16MB' or '512kB'")
    return int(match.group(1)) * _UNIT_KB[match.group(2)]


class PostgresTuning(_Strict):
    """The guide's `ALTER SYSTEM` settings, sized for a 16 GB instance; memory in PostgreSQL units."""

    shared_buffers: str = "4GB"
    effective_cache_size: str = "12GB"
    maintenance_work_mem: str = "1GB"
    checkpoint_completion_target: Annotated[float, Field(gt=0, le=1)] = 0.9
    wal_buffers: str = "16MB"
    default_statistics_target: Annotated[int, Field(ge=1, le=10000)] = 100
    random_page_cost: Annotated[float, Field(gt=0)] = 1.1
    effective_io_concurrency: Annotated[int, Field(ge=0, le=1000)] = 200
    work_mem: str = "20MB"
    min_wal_size: str = "1GB"
    max_wal_size: str = "4GB"

    @field_validator(
        "shared_buffers",
        "effective_cache_size",
        "maintenance_work_mem",
        "wal_buffers",
        "work_mem",
        "min_wal_size",
        "max_wal_size",
    )
    @classmethod
    def _memory_parses(cls, value: str) -> str:
        memory_kb(value)
        return value

    @model_validator(mode="after")
    def _sizes_consistent(self) -> Self:
        if memory_kb(self.min_wal_size) > memory_kb(self.max_wal_size):
            raise ValueError(
                f"min_wal_size ({self.min_wal_size}) must not exceed max_wal_size ({self.max_wal_size})"
            )
        if memory_kb(self.shared_buffers) > memory_kb(self.effective_cache_size):
            raise ValueError(
                f"shared_buffers ({self.shared_buffers}) must not exceed effective_cache_size ({self.effective_cache_size})"
            )
        return self


class PostgresSpec(_Strict):
    """PostgreSQL for the control plane (metrics history, models, placements)."""

    mode: StoreMode = StoreMode.MANAGED
    version: Annotated[
        int, Field(ge=15, le=17, description="PostgreSQL major version (the guide needs 15+)")
    ] = 16
    database: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "serverless_framework"
    username: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "isf"
    storage_gb: Annotated[int, Field(ge=20, le=65536)] = 100
    high_availability: bool = Field(default=False, description="managed: Multi-AZ / REGIONAL availability")
    deletion_protection: bool = False
    backup_retention_days: Annotated[int, Field(ge=1, le=35)] = 7
    instance_class: str | None = Field(
        default=None, description="managed: RDS class / Cloud SQL tier; empty = a 4 vCPU / 16 GB default"
    )
    tuning: PostgresTuning = PostgresTuning()
    secret_name: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")] = "db-credentials"
    instances: Annotated[
        int, Field(ge=1, le=9, description="in_cluster: PostgreSQL instances (1 primary)")
    ] = 3
    storage_class: str | None = Field(
        default=None, description="in_cluster: StorageClass; empty = the default"
    )
    cpu: str = Field(default="2", description="in_cluster: CPU request and limit per instance")
    memory: str = Field(default="16Gi", description="in_cluster: memory request and limit per instance")
    tier: Tier = Field(default=Tier.CLOUD, description="in_cluster: node tier the instances run on")
    operator_values: dict[str, Any] = Field(
        default_factory=dict, description="in_cluster: merged over the CloudNativePG chart's curated values"
    )

    @model_validator(mode="after")
    def _backups_when_protected(self) -> Self:
        if self.deletion_protection and self.backup_retention_days < 7:
            raise ValueError(
                "deletion_protection implies a production database: keep backup_retention_days >= 7"
            )
        return self


class RedisSpec(_Strict):
    """Redis 7 in cluster mode for hot state and caches (the guide: 6 nodes = 3 shards x 1 replica)."""

    mode: StoreMode = StoreMode.MANAGED
    shards: Annotated[int, Field(ge=3, le=100, description="primaries; Redis Cluster needs at least 3")] = 3
    replicas_per_shard: Annotated[int, Field(ge=0, le=5)] = 1
    high_availability: bool = Field(default=False, description="managed: Multi-AZ / zones spread")
    deletion_protection: bool = False
    node_type: str | None = Field(
        default=None,
        description="managed: ElastiCache node type / Memorystore node type; empty = a small default",
    )
    snapshot_retention_days: Annotated[int, Field(ge=0, le=35)] = 1
    persistence_gb: Annotated[int, Field(ge=1, le=1024, description="in_cluster: volume per node")] = 20
    storage_class: str | None = Field(
        default=None, description="in_cluster: StorageClass; empty = the default"
    )
    tier: Tier = Field(default=Tier.REGIONAL, description="in_cluster: node tier the Redis pods run on")
    secret_name: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")] = "redis-credentials"
    cluster_spec: dict[str, Any] = Field(
        default_factory=dict,
        description="in_cluster: merged over the curated RedisCluster spec (OT redis-operator v1beta2)",
    )
    operator_values: dict[str, Any] = Field(
        default_factory=dict, description="in_cluster: merged over the redis-operator chart's curated values"
    )

    @property
    def nodes(self) -> int:
        """Total Redis nodes: every shard's primary plus its replicas."""
        return self.shards * (1 + self.replicas_per_shard)

    @model_validator(mode="after")
    def _ha_needs_replicas(self) -> Self:
        if self.high_availability and self.replicas_per_shard < 1:
            raise ValueError("high_availability needs replicas_per_shard >= 1 (a failover needs a replica)")
        return self


def mode_problems(spec_mode: StoreMode, wanted: StoreMode, component: str, key: str) -> InputProblems:
    """A component's input problems, starting with a spec handed to the component of the other placement."""
    problems = InputProblems(component)
    problems.require(
        spec_mode is wanted,
        f"{key}.mode",
        f"{key}.mode is {spec_mode.value!r} but {component} runs {wanted.value!r} stores; "
        f"set {key}.mode to {wanted.value!r} or use the {spec_mode.value} component",
    )
    return problems
