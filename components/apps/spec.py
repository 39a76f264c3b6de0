"""Typed stack config of the application systems (`isf:apps`): each off by default, sized per stack.

Every system states what it runs (images pinned by tag or digest, never `:latest`), how big and how
many, and which platform components it needs (`AppsConfig.addons`); the composition installs those once
for every enabled system.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from components.platform_addons.storage_classes import FAST_SSD, SHARED_STORAGE, STANDARD_STORAGE
from components.workloads.autoscaling import (
    HorizontalScaling,
    PodsMetric,
    ScalingBehavior,
    ScalingPolicy,
    ScalingRules,
    VerticalScaling,
)
from components.workloads.spec import IMAGE_REFERENCE, DisruptionBudget, DnsLabel, Resources
from components.workloads.stateful import AccessMode, VolumeClaim
from runtime.contract import Tier


def _pinned(image: str) -> str:
    if not IMAGE_REFERENCE.match(image):
        raise ValueError(f"{image!r} is not an image reference (name:tag or name@sha256:...)")
    name = image.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else None
    if tag is None and "@sha256:" not in image:
        raise ValueError(f"{image!r} names no tag or digest; pin it (e.g. :1.0.0)")
    if tag == "latest":
        raise ValueError(f"{image!r}: ':latest' moves under you; pin a version tag or a digest")
    return image


PinnedImage = Annotated[str, Field(min_length=1), AfterValidator(_pinned)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class Addon(StrEnum):
    """Platform components an application system can need (`components/platform_addons/`)."""

    GATEWAY_API = "gateway-api"
    PROMETHEUS_ADAPTER = "prometheus-adapter"
    VPA = "vertical-pod-autoscaler"
    DCGM_EXPORTER = "dcgm-exporter"
    STORAGE_CLASSES = "storage-classes"
    KSERVE = "kserve"
    MLFLOW = "mlflow"


# --- 1. Serverless LLM serving -----------------------------------------------------------------------------


class WorkerScaling(_Spec):
    """The worker StatefulSet's replica bounds (the guide: 3 to 20 at 80 % CPU)."""

    min_replicas: Annotated[int, Field(ge=1)] = 3
    max_replicas: Annotated[int, Field(ge=1)] = 20
    target_cpu_utilization: Annotated[int, Field(ge=1, le=100)] = 80


class LlmServingArgs(_Spec):
    """A UDP coordinator (Deployment) and its workers (StatefulSet behind a headless Service)."""

    enabled: bool = False
    namespace: DnsLabel = "sllm-system"
    coordinator_image: PinnedImage = "docker.io/sllm/central-coordinator:1.0.0"
    worker_image: PinnedImage = "docker.io/sllm/worker:1.0.0"
    log_level: LogLevel = LogLevel.INFO
    coordinator_port: Annotated[int, Field(ge=1, le=65535)] = 9000
    worker_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    health_port: Annotated[int, Field(ge=1, le=65535)] = Field(
        default=8080, description="TCP port of /healthz, /readyz and /metrics on both parts (the UDP ports cannot be probed)"
    )
    report_interval_seconds: Annotated[float, Field(gt=0)] = 1.0
    worker_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    workers: WorkerScaling = WorkerScaling()
    worker_min_available: Annotated[int, Field(ge=1)] = 2
    worker_gpus: Annotated[int, Field(ge=0, le=8)] = 0
    worker_tier: Tier = Field(default=Tier.REGIONAL, description="with worker_gpus > 0: the GPU pool's tier")
    coordinator_tier: Tier = Tier.REGIONAL
    coordinator_resources: Resources = Resources(cpu_request="250m", memory_request="256Mi", cpu_limit="1",
                                                 memory_limit="512Mi")
    worker_resources: Resources = Resources(cpu_request="500m", memory_request="512Mi", cpu_limit="2",
                                            memory_limit="1Gi")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.workers.min_replicas > self.workers.max_replicas:
            raise ValueError("workers.min_replicas must not exceed workers.max_replicas")
        if self.worker_min_available >= self.workers.min_replicas:
            raise ValueError(f"worker_min_available ({self.worker_min_available}) must be below workers.min_replicas "
                             f"({self.workers.min_replicas}), or no worker could ever be evicted")
        ports = [self.coordinator_port, self.worker_port, self.health_port]
        if len(set(ports)) != len(ports) and self.health_port in (self.coordinator_port, self.worker_port):
            raise ValueError("health_port must differ from the UDP ports")
        return self


# --- 3. Continual transformer serving ------------------------------------------------------------------------


class Colour(StrEnum):
    BLUE = "blue"
    GREEN = "green"

    @property
    def other(self) -> Colour:
        return Colour.GREEN if self is Colour.BLUE else Colour.BLUE


def _guide_behavior() -> ScalingBehavior:
    # The guide's HPA: up at most doubling every 30 s after 60 s stable; down at most halving per minute after 5 min.
    return ScalingBehavior(
        scale_up=ScalingRules(stabilization_window_seconds=60,
                              policies=[ScalingPolicy(value=100, period_seconds=30)]),
        scale_down=ScalingRules(stabilization_window_seconds=300,
                                policies=[ScalingPolicy(value=50, period_seconds=60)]),
    )


INFERENCE_RPS_METRIC = "inference_requests_per_second"


def _guide_scaling() -> HorizontalScaling:
    return HorizontalScaling(
        min_replicas=3, max_replicas=10, cpu_utilization=70, memory_utilization=80,
        pods_metrics=[PodsMetric(name=INFERENCE_RPS_METRIC, average_value="100")], behavior=_guide_behavior(),
    )


class RateLimit(_Spec):
    """Requests per gateway instance per window (the guide's ingress: 100 per minute)."""

    requests: Annotated[int, Field(ge=1)] = 100
    window_seconds: Annotated[int, Field(ge=1)] = 60


class ContinualTransformerArgs(_Spec):
    """A 1-GPU model server: blue and green Deployments, the active colour behind HTTPS on the Gateway API."""

    enabled: bool = False
    namespace: DnsLabel = "continual-transformer"
    images: dict[Colour, PinnedImage] = Field(
        default_factory=lambda: {Colour.BLUE: "ghcr.io/continual-transformer/server:1.0.0",
                                 Colour.GREEN: "ghcr.io/continual-transformer/server:1.0.0"},
        description="image per colour; roll a new version out on the preview colour, then switch `active`",
    )
    active: Colour = Colour.BLUE
    preview_replicas: Annotated[int, Field(ge=0)] = 1
    hostname: str = Field(default="api.continual-transformer.example.com", pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    gpus: Annotated[int, Field(ge=1, le=8)] = 1
    tier: Tier = Field(default=Tier.CLOUD, description="the GPU pool's tier")
    environment: str = "production"
    log_level: str = "info"
    resources: Resources = Resources(cpu_request="1", memory_request="2Gi", cpu_limit="2", memory_limit="4Gi")
    scaling: HorizontalScaling = Field(default_factory=_guide_scaling)
    vertical: VerticalScaling = VerticalScaling()
    rate_limit: RateLimit = RateLimit()

    @model_validator(mode="after")
    def _both_colours(self) -> Self:
        if set(self.images) != set(Colour):
            raise ValueError("images: name an image for both 'blue' and 'green'")
        return self


# --- 4. HSOF -------------------------------------------------------------------------------------------------


class HsofStorage(_Spec):
    """Claim sizes (the guide: models 50-200 Gi, checkpoints 100-500 Gi, shared data 200 Gi, logs 20 Gi)."""

    models: str = "50Gi"
    checkpoints: str = "100Gi"
    data: str = "200Gi"
    logs: str = "20Gi"

    def claims(self, prefix: str) -> list[VolumeClaim]:
        return [
            VolumeClaim(name=f"{prefix}-models", storage_class=FAST_SSD, size=self.models),
            VolumeClaim(name=f"{prefix}-checkpoints", storage_class=FAST_SSD, size=self.checkpoints),
            VolumeClaim(name=f"{prefix}-data", storage_class=SHARED_STORAGE, size=self.data,
                        access_mode=AccessMode.READ_WRITE_MANY),
            VolumeClaim(name=f"{prefix}-logs", storage_class=STANDARD_STORAGE, size=self.logs),
        ]


class HsofSettings(_Spec):
    """The ConfigMap the guide's environment variables and GPU settings come from."""

    julia_num_threads: Annotated[int, Field(ge=1)] = 8
    stage1_timeout_seconds: Annotated[int, Field(ge=1)] = 30
    max_memory_gb: Annotated[int, Field(ge=1)] = 32
    prometheus_enabled: bool = True
    log_level: str = "info"
    memory_pool_size_gb: Annotated[int, Field(ge=1)] = 8
    memory_fraction: Annotated[float, Field(gt=0, le=1)] = 0.8
    target_utilization: Annotated[float, Field(gt=0, le=1)] = 0.85
    memory_warning_threshold: Annotated[float, Field(gt=0, le=1)] = 0.9


class HsofArgs(_Spec):
    """The 2-GPU feature-search service with its volumes, Services, autoscaling, budget and alerts."""

    enabled: bool = False
    namespace: DnsLabel = "hsof"
    image: PinnedImage = "ghcr.io/hsof/hsof:1.0.0"
    gpus: Annotated[int, Field(ge=1, le=8)] = 2
    tier: Tier = Field(default=Tier.CLOUD, description="the GPU pool's tier")
    run_as_user: Annotated[int, Field(ge=1)] = Field(
        default=10001, description="the guide's image user is 1000; any high UID works (volumes are fsGroup-owned) "
        "and keeps clear of host users (checkov CKV_K8S_40)")
    resources: Resources = Resources(cpu_request="4", memory_request="8Gi", cpu_limit="8", memory_limit="16Gi")
    scaling: HorizontalScaling = HorizontalScaling(min_replicas=1, max_replicas=2, cpu_utilization=70,
                                                   memory_utilization=80)
    disruption_budget: DisruptionBudget = DisruptionBudget(max_unavailable=1)
    storage: HsofStorage = HsofStorage()
    settings: HsofSettings = HsofSettings()


# --- 2. ML scheduler -----------------------------------------------------------------------------------------


class MlEnvironment(StrEnum):
    """The guide's three environment profiles."""

    PRODUCTION = "production"
    STAGING = "staging"
    DEVELOPMENT = "development"


class ModelRole(StrEnum):
    XGBOOST = "xgboost"
    QLEARNING = "qlearning"
    ANOMALY = "anomaly"


# The guide's replicas per profile: the scheduler, then each model.
PROFILE_REPLICAS: dict[MlEnvironment, dict[str, int]] = {
    MlEnvironment.PRODUCTION: {"ml_scheduler": 3, ModelRole.XGBOOST: 4, ModelRole.QLEARNING: 2, ModelRole.ANOMALY: 3},
    MlEnvironment.STAGING: {"ml_scheduler": 2, ModelRole.XGBOOST: 2, ModelRole.QLEARNING: 1, ModelRole.ANOMALY: 2},
    MlEnvironment.DEVELOPMENT: {"ml_scheduler": 1, ModelRole.XGBOOST: 1, ModelRole.QLEARNING: 1, ModelRole.ANOMALY: 1},
}


class ModelFormat(StrEnum):
    """KServe model formats the default ClusterServingRuntimes serve."""

    XGBOOST = "xgboost"
    SKLEARN = "sklearn"


class ModelServer(_Spec):
    """One InferenceService: a model format KServe serves, or a custom predictor image."""

    name: DnsLabel
    format: ModelFormat | None = None
    image: PinnedImage | None = None
    path: str = Field(description="path of the model under the artifact bucket (models/<name>)")

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.format is None) == (self.image is None):
            raise ValueError(f"model {self.name!r}: give exactly one of 'format' (a KServe runtime) or 'image'")
        return self


def _default_models() -> dict[ModelRole, ModelServer]:
    return {
        ModelRole.XGBOOST: ModelServer(name="xgboost-predictor", format=ModelFormat.XGBOOST, path="models/xgboost"),
        ModelRole.QLEARNING: ModelServer(name="qlearning-optimizer", image="ghcr.io/hydatis/qlearning-optimizer:1.0.0",
                                         path="models/qlearning"),
        ModelRole.ANOMALY: ModelServer(name="anomaly-detector", format=ModelFormat.SKLEARN, path="models/anomaly"),
    }


class MlSchedulerArgs(_Spec):
    """A secondary kube-scheduler, its models on KServe, MLflow tracking and the remediation webhook."""

    enabled: bool = False
    namespace: DnsLabel = "ml-scheduler"
    environment: MlEnvironment = MlEnvironment.PRODUCTION
    scheduler_name: DnsLabel = "ml-scheduler"
    scheduler_image: PinnedImage = Field(
        default="registry.k8s.io/kube-scheduler:v1.33.4",
        description="kube-scheduler, or the guide's plugin build of it (same flags)",
    )
    scheduler_resources: Resources = Resources(cpu_request="200m", memory_request="256Mi", cpu_limit="1",
                                               memory_limit="512Mi")
    models: dict[ModelRole, ModelServer] = Field(default_factory=_default_models)
    remediation_image: PinnedImage = "ghcr.io/hydatis/aiops-remediation:1.0.0"
    mlflow_database: DnsLabel = Field(
        default="mlflow", description="database on the platform's PostgreSQL server (create it once; see docs/apps.md)"
    )
    replicas: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, description="overrides of the environment profile (ml_scheduler, xgboost, ...)"
    )

    @model_validator(mode="after")
    def _models_complete(self) -> Self:
        if set(self.models) != set(ModelRole):
            raise ValueError(f"models: name all of {[m.value for m in ModelRole]}")
        unknown = set(self.replicas) - {"ml_scheduler", *ModelRole}
        if unknown:
            raise ValueError(f"replicas: unknown parts {sorted(unknown)}")
        return self

    def replicas_of(self, part: str) -> int:
        return self.replicas.get(part, PROFILE_REPLICAS[self.environment][part])


# --- All systems ---------------------------------------------------------------------------------------------


class AppsConfig(_Spec):
    """The application systems of the four guides; each one `enabled` per stack."""

    llm_serving: LlmServingArgs = LlmServingArgs()
    ml_scheduler: MlSchedulerArgs = MlSchedulerArgs()
    continual_transformer: ContinualTransformerArgs = ContinualTransformerArgs()
    hsof: HsofArgs = HsofArgs()

    @model_validator(mode="after")
    def _namespaces_distinct(self) -> Self:
        enabled = [app.namespace for app in (self.llm_serving, self.ml_scheduler, self.continual_transformer, self.hsof)
                   if app.enabled]
        if len(set(enabled)) != len(enabled):
            raise ValueError(f"enabled systems need distinct namespaces (got {enabled})")
        return self

    def addons(self) -> set[Addon]:
        """Platform components the enabled systems need."""
        needed: set[Addon] = set()
        if self.continual_transformer.enabled:
            needed |= {Addon.GATEWAY_API, Addon.PROMETHEUS_ADAPTER, Addon.VPA, Addon.DCGM_EXPORTER}
        if self.hsof.enabled:
            needed |= {Addon.STORAGE_CLASSES, Addon.DCGM_EXPORTER}
        if self.ml_scheduler.enabled:
            needed |= {Addon.KSERVE, Addon.MLFLOW}
        if self.llm_serving.enabled and self.llm_serving.worker_gpus:
            needed.add(Addon.DCGM_EXPORTER)
        return needed

    def gpu_demands(self) -> list[tuple[str, int, Tier]]:
        """(config path, GPUs per pod, tier) of every enabled GPU workload, for the stack's GPU pool checks."""
        demands: list[tuple[str, int, Tier]] = []
        if self.llm_serving.enabled and self.llm_serving.worker_gpus:
            demands.append(("apps.llm_serving.worker_gpus", self.llm_serving.worker_gpus, self.llm_serving.worker_tier))
        if self.continual_transformer.enabled:
            demands.append(("apps.continual_transformer.gpus", self.continual_transformer.gpus,
                            self.continual_transformer.tier))
        if self.hsof.enabled:
            demands.append(("apps.hsof.gpus", self.hsof.gpus, self.hsof.tier))
        return demands
