"""`Applications`: the enabled systems of `isf:apps` and the platform components they need, on one cluster.

Order: the platform components first (each once), then per system its namespace and objects; every
custom resource waits for what installs its CRD (monitoring's chart for ServiceMonitor / PodMonitor /
PrometheusRule / AlertmanagerConfig, cert-manager for Certificate, Istio's base chart for EnvoyFilter, the
Gateway API CRDs for Gateway / HTTPRoute, the VPA chart for VerticalPodAutoscaler, KServe for InferenceService).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pulumi
import pulumi_kubernetes as k8s

from components.apps.continual_transformer import PROMETHEUS_ADAPTER_RULE, continual_transformer_manifests
from components.apps.hsof import hsof_manifests
from components.apps.llm_serving import llm_serving_manifests
from components.apps.ml_scheduler import (
    MODELS_SERVICE_ACCOUNT,
    REDIS_SECRET,
    inference_service,
    ml_scheduler_manifests,
    models_service_account,
)
from components.apps.spec import Addon, AppsConfig
from components.data.credentials import redis_secret_data
from components.platform_addons.artifact_bucket import ArtifactStore, aws_artifact_store, gcp_artifact_store
from components.platform_addons.dcgm_exporter import DCGM_NAMESPACE, dcgm_exporter
from components.platform_addons.gateway_api import gateway_api_crds
from components.platform_addons.kserve import KSERVE_NAMESPACE, kserve
from components.platform_addons.mlflow import MLFLOW_SERVICE_ACCOUNT, mlflow, mlflow_url, mlflow_values
from components.platform_addons.prometheus_adapter import prometheus_adapter
from components.platform_addons.storage_classes import (
    SHARED_STORAGE,
    aws_storage_classes,
    gcp_storage_classes,
)
from components.platform_addons.vpa import vertical_pod_autoscaler
from components.workloads.manifests import Manifest
from components.workloads.namespace import pod_security_labels
from components.workloads.registration import register_manifest, resource_name
from runtime.contract import Tier
from runtime.contract.kubernetes import MANAGED_BY, MANAGED_BY_LABEL

MLFLOW_CREDENTIALS = "mlflow-postgres"
MLFLOW_ARTIFACTS_CLAIM = "ml-artifacts"


def artifacts_claim(namespace: str) -> Manifest:
    """Without a cloud bucket: one ReadWriteMany claim MLflow writes and the model servers read (`pvc://`)."""
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": MLFLOW_ARTIFACTS_CLAIM, "namespace": namespace,
                         "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
            "spec": {"storageClassName": SHARED_STORAGE, "accessModes": ["ReadWriteMany"],
                     "resources": {"requests": {"storage": "100Gi"}}}}


class AppCloud(StrEnum):
    AWS = "aws"
    GCP = "gcp"
    EXISTING = "existing"


@dataclass(frozen=True)
class AwsContext:
    cluster_name: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    private_subnet_ids: Sequence[pulumi.Input[str]]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]


@dataclass(frozen=True)
class GcpContext:
    project: str
    region: str
    network: pulumi.Input[str]


@dataclass(frozen=True)
class PlatformHandles:
    """What the systems wait for and point at: the platform's charts, issuer, stores and endpoints."""

    monitoring_namespace: str
    prometheus_url: str
    monitoring_crds: Sequence[pulumi.Resource]
    cert_manager: Sequence[pulumi.Resource]
    istio_crds: Sequence[pulumi.Resource]
    knative: Sequence[pulumi.Resource]
    issuer: str
    knative_domain: str | None
    postgres_host: pulumi.Input[str] | None = None
    postgres_port: pulumi.Input[int] | None = None
    postgres_username: str = ""
    postgres_password: pulumi.Input[str] | None = None
    redis_host: pulumi.Input[str] | None = None
    redis_port: pulumi.Input[int] | None = None
    redis_password: pulumi.Input[str] | None = None
    redis_tls: bool = False


@dataclass(frozen=True)
class ApplicationsArgs:
    apps: AppsConfig
    cloud: AppCloud
    gpu_tier: Tier
    platform: PlatformHandles
    aws: AwsContext | None = None
    gcp: GcpContext | None = None
    replicated: bool = False


_EXTRA_TYPED = {("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim}


def _register(prefix: str, manifests: Sequence[Manifest], opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    registered: list[pulumi.Resource] = []
    for manifest in manifests:
        name = resource_name(prefix, manifest)
        factory = _EXTRA_TYPED.get((manifest["apiVersion"], manifest["kind"]))
        if factory is not None:
            registered.append(factory(name, metadata=manifest["metadata"], spec=manifest["spec"], opts=opts))
        else:
            registered.append(register_manifest(name, manifest, opts))
    return registered


def app_namespace(name: str, *, enforce_restricted: bool) -> Manifest:
    labels = {"app.kubernetes.io/part-of": name, MANAGED_BY_LABEL: MANAGED_BY,
              **pod_security_labels(enforce=enforce_restricted)}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


# Which platform resources a kind must wait for (filled per stack in `Applications`).
_CRD_KINDS = {
    "monitoring.coreos.com": "monitoring",
    "cert-manager.io": "cert_manager",
    "networking.istio.io": "istio",
    "gateway.networking.k8s.io": "gateway_api",
    "autoscaling.k8s.io": "vpa",
    "serving.kserve.io": "kserve",
}


@dataclass
class _Installed:
    waits: dict[str, list[pulumi.Resource]] = field(default_factory=dict)
    artifacts: ArtifactStore | None = None
    storage: list[pulumi.Resource] = field(default_factory=list)


class Applications(pulumi.ComponentResource):
    """The platform components the enabled systems need, then each system in its own namespace."""

    def __init__(self, name: str, args: ApplicationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("isf:apps:Applications", name, None, opts)
        self._name = name
        self._args = args
        self.installed = self._addons(args.apps.addons())
        apps = args.apps
        systems: list[str] = []
        if apps.llm_serving.enabled:
            self._system("llm-serving", apps.llm_serving.namespace, llm_serving_manifests(apps.llm_serving),
                         enforce=True)
            systems.append("llm_serving")
        if apps.continual_transformer.enabled:
            self._system("continual-transformer", apps.continual_transformer.namespace,
                         continual_transformer_manifests(apps.continual_transformer, args.platform.issuer),
                         enforce=False)  # the Gateway's Istio proxy runs here (its pod is not `restricted`)
            systems.append("continual_transformer")
        if apps.hsof.enabled:
            self._system("hsof", apps.hsof.namespace, hsof_manifests(apps.hsof), enforce=True,
                         extra=self.installed.storage)
            systems.append("hsof")
        if apps.ml_scheduler.enabled:
            self._ml_scheduler()
            systems.append("ml_scheduler")
        self.systems = systems
        self.register_outputs({"systems": systems, "addons": sorted(a.value for a in apps.addons())})

    # --- platform components --------------------------------------------------------------------------------

    def _addons(self, needed: set[Addon]) -> _Installed:
        args, platform, name = self._args, self._args.platform, self._name
        child = pulumi.ResourceOptions(parent=self)
        installed = _Installed(waits={"monitoring": list(platform.monitoring_crds),
                                      "cert_manager": list(platform.cert_manager),
                                      "istio": list(platform.istio_crds)})
        if Addon.GATEWAY_API in needed:
            installed.waits["gateway_api"] = [gateway_api_crds(f"{name}-gateway-api", child)]
        if Addon.VPA in needed:
            installed.waits["vpa"] = [vertical_pod_autoscaler(f"{name}-vpa", child)]
        if Addon.PROMETHEUS_ADAPTER in needed:
            prometheus_adapter(f"{name}-prometheus-adapter", platform.monitoring_namespace, platform.prometheus_url,
                               [PROMETHEUS_ADAPTER_RULE],
                               pulumi.ResourceOptions(parent=self, depends_on=list(platform.monitoring_crds)),
                               replicas=2 if args.replicated else 1)
        if Addon.DCGM_EXPORTER in needed:
            namespace = register_manifest(f"{name}-dcgm-namespace", app_namespace(DCGM_NAMESPACE, enforce_restricted=False),
                                          child)
            dcgm_exporter(f"{name}-dcgm-exporter", args.gpu_tier,
                          pulumi.ResourceOptions(parent=self, depends_on=[namespace, *platform.monitoring_crds]))
        if Addon.STORAGE_CLASSES in needed:
            installed.storage = self._storage_classes(child)
        if Addon.KSERVE in needed:
            namespace = register_manifest(f"{name}-kserve-namespace", app_namespace(KSERVE_NAMESPACE, enforce_restricted=False),
                                          child)
            crds, controller = kserve(f"{name}-kserve", platform.knative_domain,
                                      pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
                                      after=[*platform.cert_manager, *platform.knative])
            installed.waits["kserve"] = [crds, controller]
        if Addon.MLFLOW in needed:
            installed.artifacts = self._artifact_store(child)
        return installed

    def _storage_classes(self, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        args = self._args
        if args.cloud is AppCloud.AWS and args.aws is not None:
            aws = args.aws
            return aws_storage_classes(f"{self._name}-storage", cluster_name=aws.cluster_name, vpc_id=aws.vpc_id,
                                       vpc_cidr=aws.vpc_cidr, private_subnet_ids=aws.private_subnet_ids,
                                       oidc_provider_arn=aws.oidc_provider_arn, oidc_issuer_url=aws.oidc_issuer_url,
                                       opts=opts)
        if args.cloud is AppCloud.GCP and args.gcp is not None:
            return gcp_storage_classes(f"{self._name}-storage", network=args.gcp.network, opts=opts)
        return []  # a cluster you bring provides fast-ssd, shared-storage and standard itself

    def _artifact_store(self, opts: pulumi.ResourceOptions) -> ArtifactStore | None:
        args = self._args
        accounts = {MLFLOW_SERVICE_ACCOUNT: True, MODELS_SERVICE_ACCOUNT: False}
        namespace = args.apps.ml_scheduler.namespace
        if args.cloud is AppCloud.AWS and args.aws is not None:
            return aws_artifact_store(f"{self._name}-ml", namespace=namespace, accounts=accounts,
                                      oidc_provider_arn=args.aws.oidc_provider_arn,
                                      oidc_issuer_url=args.aws.oidc_issuer_url, opts=opts)
        if args.cloud is AppCloud.GCP and args.gcp is not None:
            return gcp_artifact_store(f"{self._name}-ml", namespace=namespace, accounts=accounts,
                                      project=args.gcp.project, location=args.gcp.region, opts=opts)
        return None

    # --- systems --------------------------------------------------------------------------------------------

    def _waits_for(self, manifest: Manifest) -> list[pulumi.Resource]:
        group = str(manifest["apiVersion"]).rpartition("/")[0]
        key = _CRD_KINDS.get(group)
        return list(self.installed.waits.get(key, [])) if key else []

    def _system(self, system: str, namespace: str, manifests: Sequence[Manifest], *, enforce: bool,
                extra: Sequence[pulumi.Resource] = ()) -> list[pulumi.Resource]:
        prefix = f"{self._name}-{system}"
        ns = register_manifest(f"{prefix}-namespace", app_namespace(namespace, enforce_restricted=enforce),
                               pulumi.ResourceOptions(parent=self))
        registered: list[pulumi.Resource] = []
        for manifest in manifests:
            depends = [ns, *extra, *self._waits_for(manifest)]
            registered += _register(prefix, [manifest], pulumi.ResourceOptions(parent=self, depends_on=depends))
        return registered

    def _ml_scheduler(self) -> None:
        args, platform = self._args, self._args.platform
        ml = args.apps.ml_scheduler
        namespace = ml.namespace
        prefix = f"{self._name}-ml-scheduler"
        url = mlflow_url(namespace)
        registered = self._system("ml-scheduler", namespace, ml_scheduler_manifests(ml, mlflow_url=url), enforce=False)
        ns = registered[0]  # the ServiceAccount; the namespace is its dependency
        after_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        # Copies of the platform's store credentials: a Secret is only readable in its own namespace.
        redis_url = pulumi.Output.all(platform.redis_host, platform.redis_port, platform.redis_password).apply(
            lambda parts: redis_secret_data(str(parts[0]), int(parts[1] or 6379), str(parts[2] or ""),
                                            tls=platform.redis_tls)["url"])
        k8s.core.v1.Secret(f"{prefix}-redis", metadata={"name": REDIS_SECRET, "namespace": namespace},
                           string_data={"url": redis_url}, opts=after_ns)
        credentials = k8s.core.v1.Secret(
            f"{prefix}-mlflow-postgres", metadata={"name": MLFLOW_CREDENTIALS, "namespace": namespace},
            type="kubernetes.io/basic-auth",
            string_data={"username": platform.postgres_username,
                         "password": pulumi.Output.secret(pulumi.Output.from_input(platform.postgres_password or ""))},
            opts=after_ns)
        artifacts = self.installed.artifacts
        annotations = artifacts.annotations if artifacts is not None else {}
        root: pulumi.Input[str] = artifacts.root if artifacts is not None else f"pvc://{MLFLOW_ARTIFACTS_CLAIM}"
        claim: list[pulumi.Resource] = []
        if artifacts is None:
            claim = _register(prefix, [artifacts_claim(namespace)], after_ns)
        mlflow(f"{prefix}-mlflow", namespace, mlflow_values(
            postgres_host=platform.postgres_host or "", postgres_port=platform.postgres_port or 5432,
            database=ml.mlflow_database, credentials_secret=MLFLOW_CREDENTIALS,
            artifact_scheme=artifacts.scheme if artifacts is not None else None,
            bucket=artifacts.bucket if artifacts is not None else None,
            service_account_annotations=annotations.get(MLFLOW_SERVICE_ACCOUNT, {}),
            replicas=2 if args.replicated else 1, artifacts_claim=MLFLOW_ARTIFACTS_CLAIM if artifacts is None else None,
        ), pulumi.ResourceOptions(parent=self, depends_on=[credentials, *claim, *platform.monitoring_crds]))
        models = [models_service_account(ml, annotations.get(MODELS_SERVICE_ACCOUNT, {}))]
        models += [inference_service(ml, role, model, root) for role, model in sorted(ml.models.items())]
        for manifest in models:
            _register(prefix, [manifest], pulumi.ResourceOptions(parent=self, depends_on=[ns, *self._waits_for(manifest)]))

