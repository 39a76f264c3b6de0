"""The stack configuration: every top-level Pulumi config key of the `isf` project, typed, defaults in code.

Stack files (`Pulumi.<stack>.yaml`) hold only overrides. `StackConfig.from_mapping` validates a whole
config at once and raises `StackConfigError`, which lists every bad key by its dotted path and names the
stack file, before any resource is registered.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from components.apps.spec import AppsConfig
from components.cluster.eks import EksSettings
from components.cluster.existing import ExistingClusterArgs
from components.cluster.gke import GkeSettings
from components.cluster.node_pools import GpuPool, TierPool, default_tier_pools
from components.cluster.versions import DEFAULT_KUBERNETES_VERSION, KubernetesVersion
from components.data.spec import PostgresSpec, RedisSpec, StoreMode
from components.observability.alertmanager import SmtpSettings, check_channels
from components.observability.alerts import AlertThresholds
from components.observability.ebpf import EbpfMonitorArgs
from components.observability.tracing import TracingArgs
from components.platform.control_plane import Retraining
from components.serving.stack import ServingArgs
from components.workloads.function import FunctionSpec
from components.workloads.namespace import FunctionsNamespaceArgs
from components.workloads.spec import DnsLabel, WorkloadSpec
from runtime.contract import Tier
from runtime.contract.kubernetes import FUNCTIONS_NAMESPACE, PLATFORM_NAMESPACE
from runtime.settings import RuntimeSettings

PROJECT = "isf"
"""The Pulumi project name, which is also the namespace of every config key (`isf:cloud`)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cloud(StrEnum):
    """Where the cluster comes from."""

    AWS = "aws"
    GCP = "gcp"
    EXISTING = "existing"


_AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_GCP_REGION = re.compile(r"^[a-z]+-[a-z]+\d+$")
_DEFAULT_REGION = {Cloud.AWS: "us-east-1", Cloud.GCP: "europe-west1", Cloud.EXISTING: ""}


class GcpConfig(GkeSettings):
    """The GKE cluster's knobs, plus the project every GCP resource of the stack lives in."""

    project: str | None = Field(default=None, description="empty = the provider's configured project")


class TierConfig(_Strict):
    """Overrides for one tier's node pool; unset fields keep the tier's defaults."""

    instance_types: list[str] | None = None
    min_nodes: Annotated[int, Field(ge=0)] | None = None
    max_nodes: Annotated[int, Field(ge=1)] | None = None
    disk_gb: Annotated[int, Field(ge=20)] | None = None
    dedicated: bool | None = None
    spot: bool | None = None


class GpuConfig(_Strict):
    """The GPU pool; `enabled: false` leaves it out."""

    enabled: bool = True
    tier: Tier = Tier.CLOUD
    instance_types: list[str] = Field(default_factory=list)
    accelerator: str | None = None
    gpus_per_node: Annotated[int, Field(ge=1, le=16)] = 1
    min_nodes: Annotated[int, Field(ge=0)] = 0
    max_nodes: Annotated[int, Field(ge=1)] = 2


class MonitoringConfig(_Strict):
    """kube-prometheus-stack, alert thresholds and delivery, tracing, the eBPF monitor; alert channels live in `runtime.alerts`."""

    retention: Annotated[str, Field(pattern=r"^[0-9]+(h|d|w|y)$")] = "7d"
    storage_size: Annotated[str, Field(pattern=r"^[0-9]+(Mi|Gi|Ti)$")] = "50Gi"
    replicas: Annotated[int, Field(ge=1, le=5)] | None = Field(
        default=None, description="Prometheus and Alertmanager replicas; empty = 2 with HA, else 1"
    )
    grafana_admin_password: SecretStr | None = Field(default=None, description="empty = a generated one")
    thresholds: AlertThresholds = AlertThresholds()
    smtp: SmtpSettings | None = Field(default=None, description="needed when an email alert channel is configured")
    tracing: TracingArgs = TracingArgs()
    ebpf: EbpfMonitorArgs = EbpfMonitorArgs()
    values: dict[str, Any] = Field(default_factory=dict, description="merged over the curated chart values")


class PlatformConfig(_Strict):
    """The control plane running the `runtime` services."""

    namespace: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)] = PLATFORM_NAMESPACE
    image: Annotated[str, Field(pattern=r"^\S+:\S+$")] = "ghcr.io/intelligent-serverless/isf:0.1.0"
    retraining: Retraining = Field(
        default_factory=Retraining, description="the `isf train --all` CronJob: schedule (hourly), limits, size"
    )


def _merge_tier_pools(overrides: dict[Tier, TierConfig]) -> list[TierPool]:
    """The cluster component's default pool per tier with `overrides` on top; bad bounds name the tier."""
    pools: list[TierPool] = []
    for default in default_tier_pools():
        override = overrides.get(default.tier)
        changes = override.model_dump(exclude_none=True) if override else {}
        try:
            pools.append(TierPool.model_validate({**default.model_dump(), **changes}))
        except ValidationError as error:
            messages = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
            raise ValueError(f"{default.tier.value}: {messages}") from None
    return pools


class StackConfig(_Strict):
    """Everything one stack can set; each field is one top-level Pulumi config key (`isf:<field>`)."""

    cloud: Cloud = Field(default=Cloud.AWS, description="where the cluster comes from (existing = a kubeconfig/context)")
    region: str = Field(default="", description="empty = us-east-1 on AWS, europe-west1 on GCP")
    zones: list[str] = Field(default_factory=list, description="empty = the region's first zone_count zones")
    zone_count: Annotated[int, Field(ge=2, le=6)] | None = Field(default=None, description="empty = 3 if HA else 2")
    high_availability: bool = Field(
        default=False, description="multi-AZ data stores, 3 zones, deletion protection, replicated control plane"
    )
    kubernetes_version: KubernetesVersion = DEFAULT_KUBERNETES_VERSION
    aws: EksSettings = EksSettings()
    gcp: GcpConfig = GcpConfig()
    existing: ExistingClusterArgs = Field(
        default_factory=ExistingClusterArgs,
        description="cloud 'existing': kubeconfig (path or contents) and context; postgres and redis default to in_cluster",
    )
    tiers: dict[Tier, TierConfig] = Field(default_factory=dict, description="per-tier node pool overrides")
    gpu: GpuConfig = GpuConfig()
    postgres: PostgresSpec = PostgresSpec()
    redis: RedisSpec = RedisSpec()
    serving: ServingArgs = ServingArgs()
    monitoring: MonitoringConfig = MonitoringConfig()
    platform: PlatformConfig = PlatformConfig()
    runtime: RuntimeSettings = RuntimeSettings()
    functions_namespace: DnsLabel = Field(
        default=FUNCTIONS_NAMESPACE, description="namespace of the stack's workloads and functions, created with Istio injection"
    )
    workloads: list[WorkloadSpec] = Field(
        default_factory=list, description="long-running Deployments (Service, NetworkPolicy, PDB, HPA derived)"
    )
    functions: list[FunctionSpec] = Field(
        default_factory=list, description="Knative Services, scaled per request, warmed and placed by the platform"
    )
    functions_limits: FunctionsNamespaceArgs = Field(
        default_factory=FunctionsNamespaceArgs,
        description="ResourceQuota, container LimitRange and extra egress (default-deny) of the functions namespace",
    )
    # --- application systems (issue 12): components/apps/ ---
    apps: AppsConfig = Field(
        default_factory=AppsConfig,
        description="the four guides' systems (llm_serving, ml_scheduler, continual_transformer, hsof), each `enabled` per stack",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_region_per_cloud(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("region"):
            try:
                cloud = Cloud(data.get("cloud", Cloud.AWS))
            except ValueError:
                return data  # the `cloud` error is reported on its own
            return {**data, "region": _DEFAULT_REGION[cloud]}
        return data

    @model_validator(mode="before")
    @classmethod
    def _in_cluster_stores_on_existing(cls, data: Any) -> Any:
        # A cluster you bring has no managed database next to it: its stores run inside it unless stated.
        if not isinstance(data, dict) or data.get("cloud") != Cloud.EXISTING:
            return data
        updated = dict(data)
        for store in ("postgres", "redis"):
            section = updated.get(store, {})
            if isinstance(section, dict) and "mode" not in section:
                updated[store] = {**section, "mode": StoreMode.IN_CLUSTER}
        return updated

    @field_validator("tiers")
    @classmethod
    def _tier_pools_build(cls, value: dict[Tier, TierConfig]) -> dict[Tier, TierConfig]:
        _merge_tier_pools(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # Cross-key problems, one "path: message" per line; StackConfigError splits them by path.
        problems: list[str] = []
        if self.cloud is Cloud.AWS and not _AWS_REGION.match(self.region):
            problems.append(f"region: {self.region!r} is not an AWS region (like us-east-1)")
        if self.cloud is Cloud.GCP and not _GCP_REGION.match(self.region):
            problems.append(f"region: {self.region!r} is not a GCP region (like europe-west1)")
        if self.zones and any(not zone.startswith(self.region) for zone in self.zones):
            problems.append(f"zones: {self.zones} must all lie in region {self.region!r}")
        if self.zones and self.zone_count is not None and len(self.zones) != self.zone_count:
            problems.append(f"zone_count: is {self.zone_count} but zones lists {len(self.zones)}")
        if self.high_availability and self.effective_zone_count < 3:
            problems.append("high_availability: needs at least 3 zones (set zone_count: 3 or list 3 zones)")
        if self.cloud is Cloud.GCP and not self.gcp.project:
            problems.append("gcp.project: cloud 'gcp' needs the GCP project id")
        if self.cloud is Cloud.EXISTING:
            problems += [
                f"{store}.mode: cloud 'existing' has no managed {store}; set it to in_cluster (the default there)"
                for store in ("postgres", "redis")
                if getattr(self, store).mode is StoreMode.MANAGED
            ]
        problems += self._user_workload_problems()
        problems += self._app_gpu_problems()  # issue 12: components/apps/
        try:
            check_channels(self.runtime.alerts, self.monitoring.smtp)
        except ValueError as error:
            problems.append(f"monitoring.smtp: {error}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _user_workload_problems(self) -> list[str]:
        """Names clash within the shared namespace; GPU requests the GPU pool cannot serve."""
        problems: list[str] = []
        first_use: dict[str, str] = {}
        specs: list[tuple[str, WorkloadSpec | FunctionSpec]] = [
            *((f"workloads[{i}]", spec) for i, spec in enumerate(self.workloads)),
            *((f"functions[{i}]", spec) for i, spec in enumerate(self.functions)),
        ]
        for path, spec in specs:
            if spec.name in first_use:
                problems.append(f"{path}.name: {spec.name!r} is already used by {first_use[spec.name]} "
                                f"(workloads and functions share namespace {self.functions_namespace!r})")
            first_use.setdefault(spec.name, path)
            if spec.gpus == 0 or self.cloud is Cloud.EXISTING:
                continue  # on a cluster you bring, its GPU nodes are its owner's business
            if not self.gpu.enabled:
                problems.append(f"{path}.gpus: asks for {spec.gpus} GPU(s) but the GPU pool is off (gpu.enabled)")
            elif spec.tier is not self.gpu.tier:
                problems.append(f"{path}.tier: GPU pods run in the GPU pool's tier {self.gpu.tier.value!r} "
                                f"(got {spec.tier.value!r}); set gpu.tier or this tier")
            elif spec.gpus > self.gpu.gpus_per_node:
                problems.append(f"{path}.gpus: {spec.gpus} exceeds gpu.gpus_per_node ({self.gpu.gpus_per_node})")
        return problems

    def _app_gpu_problems(self) -> list[str]:
        """GPU systems of `apps` the GPU pool cannot serve (the same rules as for `workloads`)."""
        if self.cloud is Cloud.EXISTING:
            return []
        problems: list[str] = []
        for path, gpus, tier in self.apps.gpu_demands():
            if not self.gpu.enabled:
                problems.append(f"{path}: asks for {gpus} GPU(s) but the GPU pool is off (gpu.enabled)")
            elif tier is not self.gpu.tier:
                problems.append(f"{path}: GPU pods run in the GPU pool's tier {self.gpu.tier.value!r} (got {tier.value!r})")
            elif gpus > self.gpu.gpus_per_node:
                problems.append(f"{path}: {gpus} GPU(s) per pod exceed gpu.gpus_per_node ({self.gpu.gpus_per_node})")
        return problems

    @property
    def effective_zone_count(self) -> int:
        """How many zones the cluster and data stores span."""
        if self.zones:
            return len(self.zones)
        return self.zone_count or (3 if self.high_availability else 2)

    def tier_pools(self) -> list[TierPool]:
        """One pool per tier: the cluster component's defaults with this stack's overrides on top."""
        return _merge_tier_pools(self.tiers)

    def gpu_pool(self) -> GpuPool | None:
        """The GPU pool, or None when disabled."""
        if not self.gpu.enabled:
            return None
        fields = self.gpu.model_dump(exclude={"enabled"}, exclude_none=True)
        return GpuPool.model_validate(fields)

    @classmethod
    def from_mapping(cls, data: dict[str, Any], *, source: str) -> StackConfig:
        """Validate a whole config, or raise `StackConfigError` naming `source` and every bad key."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise StackConfigError.from_validation(error, source) from None


class StackConfigError(ValueError):
    """An invalid stack config: one line per bad key, with its dotted path."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"  {path or '(top level)'}: {message}" for path, message in problems]
        super().__init__(f"invalid stack config in {source} ({len(problems)} problem(s)):\n" + "\n".join(lines))

    @classmethod
    def from_validation(cls, error: ValidationError, source: str) -> StackConfigError:
        problems: list[tuple[str, str]] = []
        for item in error.errors():
            path = dotted_path(item["loc"])
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                problems.append((path, "unknown key (check its spelling)"))
            elif item["type"] == "value_error":
                # Validators report "sub.path: message" lines for problems below or across their field.
                for line in message.splitlines():
                    sub, text = _split_path(line)
                    # A field validator may name its own field again ("cpu_request: ...").
                    joined = path if path.endswith(f".{sub}") or path == sub else ".".join(p for p in (path, sub) if p)
                    problems.append((joined, text))
            else:
                scalar = isinstance(item.get("input"), str | int | float | bool)
                if scalar and not _is_secret_path(path) and "got" not in message:
                    message = f"{message} (got {item['input']!r})"
                problems.append((path, message))
        return cls(source, problems)


def dotted_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as the path users write: `functions[1].tier`, `tiers.edge`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":  # pydantic's marker for a bad dict key; the key itself is already in the path
            path += f".{part}" if path else part
    return path


def _split_path(line: str) -> tuple[str, str]:
    path, _, message = line.partition(": ")
    return (path, message) if message and re.fullmatch(r"[\w.\[\]]+", path) else ("", line)


def _is_secret_path(path: str) -> bool:
    return any(word in path for word in ("password", "webhook", "token", "secret"))
