"""The platform, in order: cloud provider, cluster, platform namespace, data, serving, monitoring, control plane,
then the stack's own workloads and functions.

The config is validated and planned once: `plan` turns a `StackConfig` into every component's Args without
touching the engine, so a config the components reject still fails before any resource is registered;
`compose` registers the components of that plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ValidationError

from components.cluster.aws_network import NatMode
from components.cluster.eks import EksCluster, EksClusterArgs
from components.cluster.existing import ExistingCluster, ExistingClusterArgs, KubeconfigError, load_kubeconfig
from components.cluster.gke import GkeCluster, GkeClusterArgs
from components.data.credentials import REDIS_CA_KEY, SecretDelivery
from components.data.spec import PostgresSpec, RedisSpec, StoreMode
from components.observability.prometheus_stack import MonitoringArgs, prometheus_url
from components.observability.tracing import OTLP_GRPC_PORT, otlp_endpoint, otlp_service
from components.platform.control_plane import ControlPlaneArgs, SecretKeyRef, platform_pod_security_labels
from components.serving.istio import ServiceType, TracingBackend
from components.serving.stack import ServingArgs
from components.workloads.namespace import functions_namespace, functions_namespace_manifests
from infra.config import Cloud, StackConfig, StackConfigError, dotted_path
from infra.engine_config import EngineConfig

HA_REPLICAS = 2
Cluster = EksCluster | GkeCluster | ExistingCluster
_ArgsT = TypeVar("_ArgsT", bound=BaseModel)


@dataclass(frozen=True)
class PlatformPlan:
    """Every component's Args for one stack."""

    config: StackConfig
    cluster: EksClusterArgs | GkeClusterArgs | ExistingClusterArgs
    postgres: PostgresSpec
    redis: RedisSpec
    serving: ServingArgs
    monitoring: MonitoringArgs
    control_plane: ControlPlaneArgs


def _unset(model: BaseModel, field: str) -> bool:
    return field not in model.model_fields_set


def _with_ha(model: BaseModel, settings: dict[str, Any]) -> dict[str, Any]:
    """HA settings (replicas, protection), only where the stack did not choose its own."""
    return {field: value for field, value in settings.items() if _unset(model, field)}


def _build(section: str, model: type[_ArgsT], data: dict[str, Any]) -> _ArgsT:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            (dotted_path((section, *item["loc"])), item["msg"].removeprefix("Value error, "))
            for item in error.errors()
        ]
        raise StackConfigError("", problems) from None


def _cluster_args(config: StackConfig) -> EksClusterArgs | GkeClusterArgs | ExistingClusterArgs:
    pools: dict[str, Any] = {"tier_pools": config.tier_pools(), "gpu_pool": config.gpu_pool()}
    ha = config.high_availability
    if config.cloud is Cloud.AWS:
        zones: dict[str, Any] = (
            {"availability_zones": config.zones} if config.zones else {"zone_count": config.effective_zone_count}
        )
        return _build(
            "aws",
            EksClusterArgs,
            {
                **config.aws.model_dump(),
                "region": config.region,
                "kubernetes_version": config.kubernetes_version,
                **zones,
                "nat": NatMode.PER_ZONE if ha else NatMode.SINGLE,
                "deletion_protection": ha,
                **pools,
            },
        )
    if config.cloud is Cloud.GCP:
        return _build(
            "gcp",
            GkeClusterArgs,
            {
                **config.gcp.model_dump(),
                "region": config.region,
                "zones": config.zones,
                "kubernetes_version": config.kubernetes_version,
                "deletion_protection": ha,
                **pools,
            },
        )
    try:
        load_kubeconfig(config.existing)
    except KubeconfigError as error:
        raise StackConfigError("", [(f"existing.{error.key}", str(error))]) from None
    return config.existing


def plan(config: StackConfig, *, source: str = "the stack config") -> PlatformPlan:
    """Every component's Args for `config`; raises `StackConfigError` (naming `source`) for what they reject."""
    try:
        return _plan(config)
    except StackConfigError as error:
        raise StackConfigError(source, error.problems) from None


def plan_stack(engine: EngineConfig) -> PlatformPlan:
    """Validate and plan a stack's engine config; raises `StackConfigError` naming its stack file."""
    return plan(engine.validate(), source=engine.source)


def _plan(config: StackConfig) -> PlatformPlan:
    ha = config.high_availability
    serving = config.serving
    if ha:
        istio = serving.istio.model_copy(update=_with_ha(serving.istio, {"istiod_replicas": HA_REPLICAS, "gateway_min_replicas": HA_REPLICAS}))
        knative = serving.knative.model_copy(update=_with_ha(serving.knative, {"high_availability_replicas": HA_REPLICAS}))
        cert_manager = serving.cert_manager.model_copy(update=_with_ha(serving.cert_manager, {"replicas": HA_REPLICAS}))
        serving = serving.model_copy(update={"istio": istio, "knative": knative, "cert_manager": cert_manager})
    serving = _serving_defaults(config, serving)
    serving = _build("serving", ServingArgs, serving.model_dump())

    monitoring_config = config.monitoring
    replicas = monitoring_config.replicas or (HA_REPLICAS if ha else 1)
    monitoring = _build(
        "monitoring",
        MonitoringArgs,
        {
            "platform_namespace": config.platform.namespace,
            "retention": monitoring_config.retention,
            "storage_size": monitoring_config.storage_size,
            "prometheus_replicas": replicas,
            "alertmanager_replicas": replicas,
            "grafana_admin_password": monitoring_config.grafana_admin_password,
            "alerts": config.runtime.alerts,
            "thresholds": monitoring_config.thresholds,
            "smtp": monitoring_config.smtp,
            "tracing": monitoring_config.tracing,
            # Beyla instruments the pods of the stack's function namespace.
            "ebpf": monitoring_config.ebpf.model_copy(update={"function_namespaces": [config.functions_namespace]}),
            "values": monitoring_config.values,
        },
    )
    data_ha = {"high_availability": ha, "deletion_protection": ha}
    postgres = config.postgres.model_copy(update=_with_ha(config.postgres, data_ha))
    redis = config.redis.model_copy(update=_with_ha(config.redis, data_ha))
    control_plane = _build(
        "platform",
        ControlPlaneArgs,
        {
            "namespace": config.platform.namespace,
            "create_namespace": False,  # the composition creates it: the data Secrets land there first
            "database_url": SecretKeyRef(secret=postgres.secret_name, key="url"),
            "redis_url": SecretKeyRef(secret=redis.secret_name, key="url"),
            "redis_ca_cert": SecretKeyRef(secret=redis.secret_name, key=REDIS_CA_KEY),
            "image": config.platform.image,
            "settings": config.runtime,
            "otlp_endpoint": otlp_endpoint(monitoring.namespace) if monitoring.tracing.enabled else None,
            "prometheus_url": prometheus_url(monitoring.namespace),
            "function_namespaces": [config.functions_namespace],
            "retraining": config.platform.retraining,
        },
    )
    if monitoring.tracing.enabled:
        # The mesh's spans go to the tracing backend's OTLP/gRPC port (Istio extensionProviders + Telemetry).
        tracing = TracingBackend(service=otlp_service(monitoring.namespace), port=OTLP_GRPC_PORT)
        serving = serving.model_copy(update={"istio": serving.istio.model_copy(update={"tracing": tracing})})
    return PlatformPlan(config, _cluster_args(config), postgres, redis, serving, monitoring, control_plane)


def _serving_defaults(config: StackConfig, serving: ServingArgs) -> ServingArgs:
    """On a cluster you already run, a LoadBalancer gateway may never get an address: default to NodePort and,
    if the stack still asks for a LoadBalancer, do not wait for one."""
    if config.cloud is not Cloud.EXISTING:
        return serving
    istio = serving.istio.model_copy(update=_with_ha(
        serving.istio, {"gateway_service_type": ServiceType.NODE_PORT, "await_gateway_address": False}))
    return serving.model_copy(update={"istio": istio})


def _cloud_provider(config: StackConfig) -> pulumi.ProviderResource | None:
    """An explicit provider per cloud, so the stack's region wins over ambient `aws:region` / `gcp:region`."""
    if config.cloud is Cloud.AWS:
        import pulumi_aws as aws

        return aws.Provider("aws", region=config.region)
    if config.cloud is Cloud.GCP:
        import pulumi_gcp as gcp

        return gcp.Provider("gcp", project=config.gcp.project, region=config.region)
    return None


def _cluster(plan: PlatformPlan, cloud_provider: pulumi.ProviderResource | None) -> Cluster:
    """The cluster component; each exposes `provider` (Kubernetes) and `kubeconfig` (secret)."""
    opts = pulumi.ResourceOptions(providers=[cloud_provider] if cloud_provider else [])
    if isinstance(plan.cluster, EksClusterArgs):
        return EksCluster("isf-cluster", plan.cluster, opts)
    if isinstance(plan.cluster, GkeClusterArgs):
        return GkeCluster("isf-cluster", plan.cluster, opts)
    return ExistingCluster("isf-cluster", plan.cluster, opts)


def _data(plan: PlatformPlan, cluster: Cluster, delivery: SecretDelivery, opts: pulumi.ResourceOptions) -> list[pulumi.ComponentResource]:
    """PostgreSQL and Redis where the stack wants them, delivering their Secrets to the platform namespace."""
    config = plan.config
    stores: list[pulumi.ComponentResource] = []
    if plan.postgres.mode is StoreMode.IN_CLUSTER:
        from components.data.postgres_cnpg import InClusterPostgres, InClusterPostgresArgs

        stores.append(InClusterPostgres("isf-postgres", InClusterPostgresArgs(plan.postgres, delivery), opts))
    elif isinstance(cluster, EksCluster):
        from components.data.postgres_rds import RdsPostgres, RdsPostgresArgs

        stores.append(RdsPostgres("isf-postgres", RdsPostgresArgs(
            plan.postgres, delivery, cluster.vpc_id, cluster.private_subnet_ids, [cluster.vpc_cidr]), opts))
    elif isinstance(cluster, GkeCluster):
        from components.data.postgres_cloudsql import CloudSqlPostgres, CloudSqlPostgresArgs

        stores.append(CloudSqlPostgres("isf-postgres", CloudSqlPostgresArgs(
            plan.postgres, delivery, str(config.gcp.project), config.region, cluster.network_id), opts))
    if plan.redis.mode is StoreMode.IN_CLUSTER:
        from components.data.redis_in_cluster import InClusterRedis, InClusterRedisArgs

        stores.append(InClusterRedis("isf-redis", InClusterRedisArgs(plan.redis, delivery), opts))
    elif isinstance(cluster, EksCluster):
        from components.data.redis_elasticache import ElastiCacheRedis, ElastiCacheRedisArgs

        stores.append(ElastiCacheRedis("isf-redis", ElastiCacheRedisArgs(
            plan.redis, delivery, cluster.vpc_id, cluster.private_subnet_ids, [cluster.vpc_cidr]), opts))
    elif isinstance(cluster, GkeCluster):
        from components.data.redis_memorystore import MemorystoreRedis, MemorystoreRedisArgs

        stores.append(MemorystoreRedis("isf-redis", MemorystoreRedisArgs(
            plan.redis, delivery, str(config.gcp.project), config.region, cluster.network_id,
            cluster.subnetwork_id), opts))
    return stores


def _user_workloads(
    config: StackConfig, kubernetes: pulumi.ProviderResource, cluster: Cluster, platform: list[pulumi.Resource]
) -> None:
    """The functions namespace, then the stack's workloads and functions once serving and monitoring are up."""
    from components.workloads.component import FunctionArgs, KnativeFunction, Workload, WorkloadArgs
    from components.workloads.registration import register_manifest, register_manifests

    # Created even when the stack lists nothing: it is where `kn service create` and CI deploy functions.
    namespace = register_manifest(
        "isf-functions-namespace",
        functions_namespace(config.functions_namespace),
        pulumi.ResourceOptions(provider=kubernetes, depends_on=[cluster]),
    )
    # Quota, container limits and the default-deny NetworkPolicy (components/workloads/namespace.py).
    _, *guards = functions_namespace_manifests(config.functions_namespace, config.functions_limits)
    register_manifests("isf-functions", guards, pulumi.ResourceOptions(provider=kubernetes, depends_on=[namespace]))
    # Knative Services and ServiceMonitors are custom resources: their CRDs come with serving and monitoring.
    after_platform = pulumi.ResourceOptions(providers=[kubernetes], depends_on=[namespace, *platform])
    for spec in config.workloads:
        Workload(f"isf-workload-{spec.name}", WorkloadArgs(spec, config.functions_namespace), after_platform)
    for function in config.functions:
        KnativeFunction(f"isf-function-{function.name}", FunctionArgs(function, config.functions_namespace), after_platform)


# --- application systems (issue 12): components/apps/ ---------------------------------------------------------


def _applications(
    platform_plan: PlatformPlan,
    cluster: Cluster,
    kubernetes: pulumi.ProviderResource,
    cloud_provider: pulumi.ProviderResource | None,
    stores: list[pulumi.ComponentResource],
    serving: Any,
    monitoring: Any,
) -> None:
    """The enabled systems of `apps` and the platform components they need, after serving and monitoring."""
    from components.apps.component import (
        AppCloud,
        Applications,
        ApplicationsArgs,
        AwsContext,
        GcpContext,
        PlatformHandles,
    )
    from components.data.postgres_store import PostgresStore
    from components.data.redis_store import RedisStore

    config = platform_plan.config
    if not any(app.enabled for app in (config.apps.llm_serving, config.apps.ml_scheduler,
                                       config.apps.continual_transformer, config.apps.hsof)):
        return
    postgres = next((s for s in stores if isinstance(s, PostgresStore)), None)
    redis = next((s for s in stores if isinstance(s, RedisStore)), None)
    platform = PlatformHandles(
        monitoring_namespace=platform_plan.monitoring.namespace,
        prometheus_url=prometheus_url(platform_plan.monitoring.namespace),
        monitoring_crds=[monitoring.chart],
        cert_manager=[serving.cert_manager.chart, serving.cert_manager.issuer],
        istio_crds=[serving.istio.base, serving.istio.istiod],
        knative=[serving.knative],
        issuer=serving.cert_manager.issuer_name,
        knative_domain=platform_plan.serving.knative.domain,
        postgres_host=postgres.host if postgres else None,
        postgres_port=postgres.port if postgres else None,
        postgres_username=postgres.username if postgres else "",
        postgres_password=postgres.password if postgres else None,
        redis_host=redis.host if redis else None,
        redis_port=redis.port if redis else None,
        redis_password=redis.password if redis else None,
        redis_tls=bool(redis.tls) if redis else False,
    )
    aws = gcp = None
    if isinstance(cluster, EksCluster):
        aws = AwsContext(cluster.cluster_name, cluster.vpc_id, cluster.vpc_cidr, cluster.private_subnet_ids,
                         cluster.oidc_provider_arn, cluster.oidc_issuer_url)
    elif isinstance(cluster, GkeCluster):
        gcp = GcpContext(str(config.gcp.project), config.region, cluster.network.network.name)
    args = ApplicationsArgs(apps=config.apps, cloud=AppCloud(config.cloud.value), gpu_tier=config.gpu.tier,
                            platform=platform, aws=aws, gcp=gcp, replicated=config.high_availability)
    providers = [p for p in (cloud_provider, kubernetes) if p is not None]
    Applications("isf-apps", args, pulumi.ResourceOptions(providers=providers, depends_on=[cluster]))


def compose(platform_plan: PlatformPlan) -> None:
    """Register the whole platform of a planned stack and export its entry points."""
    from components.observability.stack import Monitoring
    from components.platform.component import ControlPlane
    from components.serving.stack import Serving

    config = platform_plan.config
    cloud_provider = _cloud_provider(config)
    cluster = _cluster(platform_plan, cloud_provider)
    kubernetes: pulumi.ProviderResource = cluster.provider
    on_cluster = pulumi.ResourceOptions(providers=[kubernetes])
    namespace = k8s.core.v1.Namespace(
        "isf-platform-namespace",
        # Pod Security `restricted` enforced: nothing here is Istio-injected (docs/security.md).
        metadata={"name": config.platform.namespace,
                  "labels": {"app.kubernetes.io/part-of": "isf", **platform_pod_security_labels()}},
        # Waiting for the whole cluster component (its StorageClass too) holds back everything placed in the
        # namespace, in-cluster stores' volumes included; depends_on on a component would not reach its children.
        opts=pulumi.ResourceOptions(provider=kubernetes, depends_on=[cluster]),
    )
    delivery = SecretDelivery(namespace=namespace.metadata.name, k8s_provider=cluster.provider)
    cloud_opts = pulumi.ResourceOptions(providers=[p for p in (cloud_provider, kubernetes) if p is not None])
    stores = _data(platform_plan, cluster, delivery, cloud_opts)
    monitoring = Monitoring("isf-monitoring", platform_plan.monitoring, on_cluster)
    # cert-manager's ServiceMonitor needs the Prometheus Operator CRDs kube-prometheus-stack installs.
    serving = Serving("isf-serving", platform_plan.serving, on_cluster, prometheus_crds=[monitoring.chart])
    ControlPlane(
        "isf-platform",
        platform_plan.control_plane,
        pulumi.ResourceOptions(providers=[kubernetes], depends_on=[namespace, *stores, serving, monitoring]),
    )
    _user_workloads(config, kubernetes, cluster, [serving, monitoring])
    _applications(platform_plan, cluster, kubernetes, cloud_provider, stores, serving, monitoring)  # issue 12
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("platform_namespace", config.platform.namespace)
    pulumi.export("grafana_admin_password", monitoring.grafana_admin_password)
    pulumi.export("functions_namespace", config.functions_namespace)
