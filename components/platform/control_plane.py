"""The control plane: `isf serve predictor|warming|placement|api` as hardened workloads, the schema
migration Job that runs before them, and the hourly retraining CronJob.

Each service reads `settings.yaml` (rendered from `RuntimeSettings.to_yaml()`) from a ConfigMap at
$ISF_SETTINGS_FILE, the database and Redis URLs from the data layer's Secrets mounted as files
(DATABASE_URL_FILE / REDIS_URL_FILE, so the URLs never enter the environment), and serves `/healthz`,
`/readyz` and `/metrics` on its `http` port. Every workload runs as its own ServiceAccount; only the
controllers (warming, placement) get a token, with the rules of `components/platform/rbac.py`.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from components import helm
from components.platform.auth import TOKEN_ROLES, tokens_env, tokens_volume
from components.platform.rbac import ACCESS, rbac_manifests, service_account, service_account_name
from components.workloads.batch import BatchSpec, CronSchedule, RunLimits
from components.workloads.manifests import Manifest
from components.workloads.spec import (
    Autoscaling,
    DnsLabel,
    Exposure,
    ImageReference,
    Metrics,
    Port,
    Resources,
    SecretFile,
    Volume,
    VolumeSource,
    WorkloadSpec,
)
from runtime.contract import Tier, environment
from runtime.contract.kubernetes import (
    FUNCTIONS_NAMESPACE,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    PLATFORM_NAMESPACE,
    SETTINGS_HASH_ANNOTATION,
)
from runtime.contract.roles import CONTROLLERS, ServiceRole
from runtime.settings import RuntimeSettings

SETTINGS_CONFIG_MAP = "isf-settings"
SETTINGS_DIR = "/etc/isf"
SETTINGS_KEY = "settings.yaml"
HTTP_PORT = 8080
MIGRATION_JOB = "isf-migrate"
RETRAINING_CRON_JOB = "isf-train"

# Shutdown, longest path (runtime/api/server.py, runtime/api/service.py, runtime/api/loop.py): on SIGTERM
# uvicorn stops accepting and lets in-flight requests finish for up to GRACEFUL_SHUTDOWN_S (20 s), then
# runs the lifespan shutdown, which stops every background loop in parallel, each waiting up to
# PeriodicLoop.stop's timeout_s (30 s) for its pass in progress, then disposes of the engine. The Lease is
# not released: it lapses after lease_duration_s (15 s) on its own, so it adds nothing here.
# 20 + 30 = 50 s, plus 10 s for the pool close and log flush: 60 s, before Kubernetes sends SIGKILL.
UVICORN_DRAIN_S = 20
LOOP_STOP_S = 30
SHUTDOWN_MARGIN_S = 10
TERMINATION_GRACE_S = UVICORN_DRAIN_S + LOOP_STOP_S + SHUTDOWN_MARGIN_S

CONTROLLER_TOKEN_SKIP = (
    "a controller: it patches Knative objects and holds a leader Lease through the API server with this token"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretKeyRef(_Strict):
    """One key of a Secret in the platform namespace."""

    secret: str
    key: str


class ServiceSize(_Strict):
    """How much of one service runs."""

    replicas: Annotated[int, Field(ge=1)] = 2
    resources: Resources = Resources()
    autoscaling: Autoscaling | None = None
    tier: Tier = Tier.REGIONAL


def _default_sizes() -> dict[ServiceRole, ServiceSize]:
    return {
        ServiceRole.PREDICTOR: ServiceSize(
            replicas=1, resources=Resources(cpu_request="500m", memory_request="1Gi", cpu_limit="2", memory_limit="4Gi")
        ),
        ServiceRole.WARMING: ServiceSize(replicas=2),
        ServiceRole.PLACEMENT: ServiceSize(
            replicas=2, resources=Resources(cpu_request="250m", memory_request="256Mi", cpu_limit="1", memory_limit="1Gi")
        ),
        ServiceRole.API: ServiceSize(replicas=2),
    }


class Retraining(_Strict):
    """The retraining CronJob: `isf train --all` on a schedule (hourly by default)."""

    enabled: bool = True
    schedule: CronSchedule = CronSchedule()
    # Under the hourly schedule, so with concurrencyPolicy Forbid a slow run ends before the next is due.
    limits: RunLimits = RunLimits(active_deadline_seconds=3000, backoff_limit=1)
    resources: Resources = Resources(cpu_request="500m", memory_request="1Gi", cpu_limit="2", memory_limit="4Gi")
    tier: Tier = Tier.REGIONAL


class Migration(_Strict):
    """The schema migration Job (`isf migrate`) that runs before the services roll."""

    limits: RunLimits = RunLimits(active_deadline_seconds=600, backoff_limit=3)
    resources: Resources = Resources()
    tier: Tier = Tier.REGIONAL


class ControlPlaneArgs(_Strict):
    """The control plane of one environment; the composition wires the data-layer secret names in."""

    namespace: str = PLATFORM_NAMESPACE
    create_namespace: bool = True
    image: ImageReference = "ghcr.io/isf/runtime:0.1.0"
    settings: RuntimeSettings = RuntimeSettings()
    database_url: SecretKeyRef = SecretKeyRef(secret="isf-postgres", key=environment.DATABASE_URL)
    redis_url: SecretKeyRef = SecretKeyRef(secret="isf-redis", key=environment.REDIS_URL)
    redis_ca_cert: SecretKeyRef | None = Field(
        default=None, description="the CA (PEM) Redis's TLS certificate chains to, from the data layer's Redis Secret"
    )
    # Every Redis the data layer builds (ElastiCache, Memorystore, in-cluster) runs in cluster mode.
    redis_cluster: bool = True
    services: dict[ServiceRole, ServiceSize] = Field(default_factory=_default_sizes)
    function_namespaces: Annotated[list[DnsLabel], Field(min_length=1)] = Field(
        default_factory=lambda: [FUNCTIONS_NAMESPACE],
        description="where functions run: the controllers' Roles and their $ISF_FUNCTION_NAMESPACES",
    )
    migration: Migration = Migration()
    retraining: Retraining = Retraining()
    otlp_endpoint: str | None = Field(default=None, description="OTLP/gRPC collector, e.g. Jaeger's")
    prometheus_url: str | None = Field(
        default=None, description="Prometheus query API; the api service collects Knative request counts from it"
    )


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/part-of": MANAGED_BY, MANAGED_BY_LABEL: MANAGED_BY}


def settings_config_map(args: ControlPlaneArgs) -> Manifest:
    """The runtime settings as `settings.yaml` (secrets masked: webhooks live in Alertmanager's Secret)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": SETTINGS_CONFIG_MAP, "namespace": args.namespace, "labels": _labels()},
        "data": {SETTINGS_KEY: args.settings.to_yaml()},
    }


def settings_hash(settings: RuntimeSettings) -> str:
    """Digest of the rendered settings; a pod annotation, so a settings change rolls the pods."""
    return hashlib.sha256(settings.to_yaml().encode()).hexdigest()


def _database_file(args: ControlPlaneArgs) -> SecretFile:
    return SecretFile(name=environment.DATABASE_URL_FILE, secret=args.database_url.secret, key=args.database_url.key)


def _redis_file(args: ControlPlaneArgs) -> SecretFile:
    return SecretFile(name=environment.REDIS_URL_FILE, secret=args.redis_url.secret, key=args.redis_url.key)


def _redis_ca_files(args: ControlPlaneArgs) -> list[SecretFile]:
    ref = args.redis_ca_cert
    return [] if ref is None else [SecretFile(name=environment.REDIS_CA_CERT_FILE, secret=ref.secret, key=ref.key)]


def _settings_volume() -> Volume:
    return Volume(name="settings", mount_path=SETTINGS_DIR, source=VolumeSource.CONFIG_MAP,
                  source_name=SETTINGS_CONFIG_MAP, read_only=True)


def _component_labels(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "isf", "app.kubernetes.io/component": component}


def service_spec(role: ServiceRole, args: ControlPlaneArgs) -> WorkloadSpec:
    """The workload running `isf serve <role>`."""
    size = args.services.get(role) or _default_sizes()[role]
    name = f"isf-{role.value}"
    env: dict[str, str] = {environment.SETTINGS_FILE: f"{SETTINGS_DIR}/{SETTINGS_KEY}", environment.SERVICE: role.value,
                           environment.NAMESPACE: args.namespace, environment.HTTP_PORT: str(HTTP_PORT),
                           environment.REDIS_CLUSTER: str(args.redis_cluster).lower(),
                           # The migration Job has brought the schema to head before this pod rolls.
                           environment.MIGRATE_ON_START: "false"}
    if role in CONTROLLERS:
        env[environment.FUNCTION_NAMESPACES] = ",".join(args.function_namespaces)
    if role is ServiceRole.API and args.prometheus_url is not None:
        env[environment.PROMETHEUS_URL] = args.prometheus_url
    if role in TOKEN_ROLES:  # serves guarded routes: the API tokens Secret as files (components/platform/auth.py)
        env |= tokens_env()
    if args.otlp_endpoint is not None:
        env |= {environment.OTEL_ENDPOINT: args.otlp_endpoint, environment.OTEL_SERVICE_NAME: f"isf-{role.value}"}
    return WorkloadSpec(
        name=name,
        image=args.image,
        command=["isf", "serve", role.value],
        ports=[Port(name="http", container_port=HTTP_PORT, service_port=80)],
        env=env,
        secret_files=[_database_file(args), _redis_file(args), *_redis_ca_files(args)],
        resources=size.resources,
        replicas=size.replicas,
        autoscaling=size.autoscaling,
        tier=size.tier,
        expose=Exposure.HTTP if role is ServiceRole.API else Exposure.NAMESPACE,
        metrics=Metrics(port="http"),
        volumes=[_settings_volume(), *([tokens_volume()] if role in TOKEN_ROLES else [])],
        service_account=service_account_name(name),
        service_account_token=role in CONTROLLERS,
        labels=_component_labels(role.value),
        annotations={SETTINGS_HASH_ANNOTATION: settings_hash(args.settings)},
        termination_grace_period_seconds=TERMINATION_GRACE_S,
        check_skips={"CKV_K8S_38": CONTROLLER_TOKEN_SKIP} if role in CONTROLLERS else {},
    )


def control_plane_specs(args: ControlPlaneArgs) -> list[WorkloadSpec]:
    """One workload per service role, in a stable order."""
    return [service_spec(role, args) for role in ServiceRole]


def migration_spec(args: ControlPlaneArgs) -> BatchSpec:
    """`isf migrate` against the platform's database: the Job every service Deployment waits for."""
    return BatchSpec(
        workload=WorkloadSpec(
            name=MIGRATION_JOB, image=args.image, command=["isf", "migrate"], probes=None,
            secret_files=[_database_file(args)], resources=args.migration.resources, tier=args.migration.tier,
            service_account=service_account_name(MIGRATION_JOB), service_account_token=False, labels=_component_labels("migrate"),
        ),
        limits=args.migration.limits,
    )


def retraining_spec(args: ControlPlaneArgs) -> BatchSpec:
    """`isf train --all` with the stack's prediction settings: each run's Job."""
    retraining = args.retraining
    return BatchSpec(
        workload=WorkloadSpec(
            name=RETRAINING_CRON_JOB, image=args.image, command=["isf", "train", "--all"], probes=None,
            env={environment.SETTINGS_FILE: f"{SETTINGS_DIR}/{SETTINGS_KEY}"},
            secret_files=[_database_file(args)], volumes=[_settings_volume()], resources=retraining.resources,
            tier=retraining.tier, service_account=service_account_name(RETRAINING_CRON_JOB), service_account_token=False,
            labels=_component_labels("train"), annotations={SETTINGS_HASH_ANNOTATION: settings_hash(args.settings)},
        ),
        limits=retraining.limits,
    )


def service_accounts(args: ControlPlaneArgs) -> list[Manifest]:
    """One ServiceAccount per workload; a token only for the services with RBAC rules."""
    accounts = [(spec.name, role in ACCESS) for role, spec in zip(ServiceRole, control_plane_specs(args), strict=True)]
    accounts += [(MIGRATION_JOB, False), (RETRAINING_CRON_JOB, False)]
    return [service_account(name, args.namespace, token=token) for name, token in accounts]


def control_plane_rbac(args: ControlPlaneArgs) -> list[Manifest]:
    """Every service's Roles and bindings (`components/platform/rbac.py`)."""
    return [manifest for role in ServiceRole
            for manifest in rbac_manifests(role, service_account_name(f"isf-{role.value}"), args.namespace,
                                           list(args.function_namespaces))]


def namespace_manifest(args: ControlPlaneArgs) -> dict[str, Any]:
    """The platform namespace, labelled part-of/managed-by and Pod Security `restricted` enforced (not injected)."""
    return helm.namespace_manifest(args.namespace, {**_labels(), **platform_pod_security_labels()})


def platform_pod_security_labels() -> dict[str, str]:
    """Pod Security Admission `restricted` enforced: no pod here is Istio-injected, so none needs NET_ADMIN."""
    from components.workloads.namespace import pod_security_labels

    return pod_security_labels(enforce=True)
