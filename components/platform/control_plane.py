"""The control plane: `isf serve predictor|warming|placement|api` as hardened workloads.

Each service reads `settings.yaml` (rendered from `RuntimeSettings.to_yaml()`) from a ConfigMap at
$ISF_SETTINGS_FILE, DATABASE_URL / REDIS_URL from the data layer's Secrets, and serves `/healthz`,
`/readyz` and `/metrics` on its `http` port. The controllers hold a ServiceAccount that may patch
Knative services and take coordination.k8s.io leases for leader election.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from components import helm
from components.workloads.manifests import Manifest
from components.workloads.spec import (
    Autoscaling,
    Exposure,
    Metrics,
    Port,
    Resources,
    SecretEnv,
    Volume,
    VolumeSource,
    WorkloadSpec,
)
from runtime.contract import Tier, environment
from runtime.contract.kubernetes import (
    KNATIVE_GROUP,
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
SERVICE_ACCOUNT = "isf-control-plane"
HTTP_PORT = 8080


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


class ControlPlaneArgs(_Strict):
    """The control plane of one environment; A wires the data-layer secret names in."""

    namespace: str = PLATFORM_NAMESPACE
    create_namespace: bool = True
    image: str = "ghcr.io/isf/runtime:0.1.0"
    settings: RuntimeSettings = RuntimeSettings()
    database_url: SecretKeyRef = SecretKeyRef(secret="isf-postgres", key="DATABASE_URL")
    redis_url: SecretKeyRef = SecretKeyRef(secret="isf-redis", key="REDIS_URL")
    # Every Redis the data layer builds (ElastiCache, Memorystore, in-cluster) runs in cluster mode.
    redis_cluster: bool = True
    services: dict[ServiceRole, ServiceSize] = Field(default_factory=_default_sizes)
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


def rbac_manifests(namespace: str) -> list[Manifest]:
    """ServiceAccount, cluster-wide read/patch of Knative serving objects and nodes, namespaced leases."""
    meta = {"labels": _labels()}
    subject = [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace}]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": SERVICE_ACCOUNT, "namespace": namespace, **meta}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": SERVICE_ACCOUNT, **meta},
            "rules": [
                {"apiGroups": [KNATIVE_GROUP], "resources": ["services", "revisions", "routes"],
                 "verbs": ["get", "list", "watch", "patch"]},
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": SERVICE_ACCOUNT, **meta},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": SERVICE_ACCOUNT},
            "subjects": subject,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": f"{SERVICE_ACCOUNT}-leader-election", "namespace": namespace, **meta},
            "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                       "verbs": ["get", "list", "watch", "create", "update", "patch"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{SERVICE_ACCOUNT}-leader-election", "namespace": namespace, **meta},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                        "name": f"{SERVICE_ACCOUNT}-leader-election"},
            "subjects": subject,
        },
    ]


def settings_hash(settings: RuntimeSettings) -> str:
    """Digest of the rendered settings; a pod annotation, so a settings change rolls the pods."""
    return hashlib.sha256(settings.to_yaml().encode()).hexdigest()


def service_spec(role: ServiceRole, args: ControlPlaneArgs) -> WorkloadSpec:
    """The workload running `isf serve <role>`."""
    size = args.services.get(role) or _default_sizes()[role]
    env: dict[str, str] = {environment.SETTINGS_FILE: f"{SETTINGS_DIR}/{SETTINGS_KEY}", environment.SERVICE: role.value,
                           environment.NAMESPACE: args.namespace, environment.HTTP_PORT: str(HTTP_PORT),
                           environment.REDIS_CLUSTER: str(args.redis_cluster).lower()}
    if role is ServiceRole.API and args.prometheus_url is not None:
        env[environment.PROMETHEUS_URL] = args.prometheus_url
    if args.otlp_endpoint is not None:
        env |= {environment.OTEL_ENDPOINT: args.otlp_endpoint, environment.OTEL_SERVICE_NAME: f"isf-{role.value}"}
    return WorkloadSpec(
        name=f"isf-{role.value}",
        image=args.image,
        command=["isf", "serve", role.value],
        ports=[Port(name="http", container_port=HTTP_PORT, service_port=80)],
        env=env,
        secret_env=[
            SecretEnv(name="DATABASE_URL", secret=args.database_url.secret, key=args.database_url.key),
            SecretEnv(name="REDIS_URL", secret=args.redis_url.secret, key=args.redis_url.key),
        ],
        resources=size.resources,
        replicas=size.replicas,
        autoscaling=size.autoscaling,
        tier=size.tier,
        expose=Exposure.HTTP if role is ServiceRole.API else Exposure.NAMESPACE,
        metrics=Metrics(port="http"),
        volumes=[Volume(name="settings", mount_path=SETTINGS_DIR, source=VolumeSource.CONFIG_MAP,
                        source_name=SETTINGS_CONFIG_MAP, read_only=True)],
        service_account=SERVICE_ACCOUNT if role in CONTROLLERS else None,
        labels={"app.kubernetes.io/part-of": "isf", "app.kubernetes.io/component": role.value},
        annotations={SETTINGS_HASH_ANNOTATION: settings_hash(args.settings)},
    )


def control_plane_specs(args: ControlPlaneArgs) -> list[WorkloadSpec]:
    """One workload per service role, in a stable order."""
    return [service_spec(role, args) for role in ServiceRole]


def namespace_manifest(args: ControlPlaneArgs) -> dict[str, Any]:
    """The platform namespace with the platform's part-of/managed-by labels (no Istio injection label)."""
    return helm.namespace_manifest(args.namespace, _labels())
