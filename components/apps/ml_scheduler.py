"""ML scheduler (the ML-scheduler deployment guide): a secondary kube-scheduler, its models on KServe, the
remediation webhook, and the objects that tie them to MLflow, Redis and Alertmanager.

- `ml-scheduler`: a Deployment of kube-scheduler (or the guide's plugin build) with a `KubeSchedulerConfiguration`
  (one profile, `schedulerName: ml-scheduler`; leader election on a Lease of the same name) from a ConfigMap,
  and the RBAC the Kubernetes docs give a second scheduler ("Configure Multiple Schedulers"): bindings to the
  `system:kube-scheduler` and `system:volume-scheduler` ClusterRoles, the
  `extension-apiserver-authentication-reader` Role in kube-system, and a Role for its own Lease.
  Pods opt in with `schedulerName: ml-scheduler`.
- `InferenceService`s (KServe v1beta1) for the XGBoost predictor, the Q-learning optimizer and the anomaly
  detector, reading their models from the artifact bucket with the `ml-models` identity.
- `aiops-remediation-service` (Deployment + Service) and an `AlertmanagerConfig` routing this namespace's alerts
  to its `/webhook`.
Replicas follow the guide's environment profiles (`PROFILE_REPLICAS`).
"""

from __future__ import annotations

from typing import Any

import pulumi
import yaml

from components.apps.spec import MlSchedulerArgs, ModelRole, ModelServer
from components.workloads.manifests import (
    MONITORING_NAMESPACE,
    Manifest,
    deployment,
    labels,
    pod_disruption_budget,
    selector_labels,
    service,
)
from components.workloads.network_rules import Flow, Peer, flow_policy
from components.workloads.pod_patches import spread_across_nodes, with_https_probes
from components.workloads.security import container_security_context
from components.workloads.spec import (
    Exposure,
    Metrics,
    Port,
    Probe,
    Probes,
    Resources,
    SecretFile,
    Volume,
    VolumeSource,
    WorkloadSpec,
)
from runtime.contract.environment import REDIS_URL_FILE

PART_OF = {"app.kubernetes.io/part-of": "ml-scheduler"}
CONFIG_MAP = "ml-scheduler-config"
CONFIG_DIR = "/etc/kubernetes/ml-scheduler"
SECURE_PORT = 10259  # kube-scheduler's HTTPS port (/healthz, /readyz, /metrics)
REMEDIATION = "aiops-remediation-service"
REMEDIATION_PORT = 8080
MODELS_SERVICE_ACCOUNT = "ml-models"
REDIS_SECRET = "ml-scheduler-redis"
RBAC = "rbac.authorization.k8s.io"


def scheduler_configuration(args: MlSchedulerArgs) -> dict[str, Any]:
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "leaderElection": {"leaderElect": True, "resourceNamespace": args.namespace,
                           "resourceName": args.scheduler_name, "resourceLock": "leases"},
        "profiles": [{"schedulerName": args.scheduler_name}],
    }


def _meta(name: str, namespace: str | None = None) -> Manifest:
    body: Manifest = {"name": name, "labels": dict(PART_OF)}
    if namespace is not None:
        body["namespace"] = namespace
    return body


def scheduler_spec(args: MlSchedulerArgs) -> WorkloadSpec:
    return WorkloadSpec(
        name=args.scheduler_name,
        image=args.scheduler_image,
        command=["kube-scheduler", f"--config={CONFIG_DIR}/config.yaml", f"--secure-port={SECURE_PORT}",
                 "--profiling=false"],
        ports=[Port(name="https", container_port=SECURE_PORT)],
        resources=args.scheduler_resources,
        replicas=args.replicas_of("ml_scheduler"),
        probes=Probes(liveness=Probe(path="/healthz", initial_delay_seconds=15),
                      readiness=Probe(path="/readyz")),
        volumes=[Volume(name="config", mount_path=CONFIG_DIR, source=VolumeSource.CONFIG_MAP, source_name=CONFIG_MAP,
                        read_only=True)],
        service_account=args.scheduler_name,
        labels=dict(PART_OF),
        check_skips={
            "CKV_K8S_38": "a scheduler binds pods through the API server: it needs its token",
            # A control-plane scheduler binds 127.0.0.1 on the host network; this one is a pod whose probes reach its
            # pod IP, and its NetworkPolicy admits no traffic at all.
            "CKV_K8S_115": "kubelet probes reach the pod IP; the NetworkPolicy admits nothing else",
        },
    )


def scheduler_rbac(args: MlSchedulerArgs) -> list[Manifest]:
    """ServiceAccount, the two ClusterRoleBindings, the authentication reader and its own Lease."""
    name, namespace = args.scheduler_name, args.namespace
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]

    def cluster_binding(role: str, suffix: str) -> Manifest:
        return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": _meta(f"{name}-as-{suffix}"),
                "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role}, "subjects": subject}

    lease_role = {
        "apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": _meta(f"{name}-leader-election", namespace),
        "rules": [
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [name],
             "verbs": ["get", "update", "patch"]},
        ],
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name, namespace)},
        cluster_binding("system:kube-scheduler", "kube-scheduler"),
        cluster_binding("system:volume-scheduler", "volume-scheduler"),
        {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
         "metadata": _meta(f"{name}-extension-apiserver-authentication-reader", "kube-system"),
         "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "extension-apiserver-authentication-reader"},
         "subjects": subject},
        lease_role,
        {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": _meta(f"{name}-leader-election", namespace),
         "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": f"{name}-leader-election"}, "subjects": subject},
    ]


def remediation_spec(args: MlSchedulerArgs, mlflow_url: str) -> WorkloadSpec:
    return WorkloadSpec(
        name=REMEDIATION,
        image=args.remediation_image,
        ports=[Port(name="http", container_port=REMEDIATION_PORT)],
        env={"MLFLOW_TRACKING_URI": mlflow_url, "HYDATIS_NAMESPACE": args.namespace},
        secret_files=[SecretFile(name=REDIS_URL_FILE, secret=REDIS_SECRET, key="url")],
        replicas=2 if args.replicas_of("ml_scheduler") > 1 else 1,
        expose=Exposure.NAMESPACE,
        metrics=Metrics(port="http"),
        labels=dict(PART_OF),
    )


def alertmanager_config(args: MlSchedulerArgs) -> Manifest:
    """This namespace's alerts (the operator adds the namespace matcher) to the remediation webhook."""
    url = f"http://{REMEDIATION}.{args.namespace}.svc:{REMEDIATION_PORT}/webhook"
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1", "kind": "AlertmanagerConfig",
        "metadata": _meta("aiops-remediation", args.namespace),
        "spec": {
            "route": {"receiver": "aiops-remediation", "groupBy": ["alertname"], "groupWait": "30s",
                      "groupInterval": "5m", "repeatInterval": "4h"},
            "receivers": [{"name": "aiops-remediation", "webhookConfigs": [{"url": url, "sendResolved": True}]}],
        },
    }


MODEL_RESOURCES = Resources(cpu_request="500m", memory_request="1Gi", cpu_limit="1", memory_limit="2Gi")


def inference_service(args: MlSchedulerArgs, role: ModelRole, model: ModelServer, artifact_root: pulumi.Input[str]) -> Manifest:
    replicas = args.replicas_of(role)
    uri = pulumi.Output.from_input(artifact_root).apply(lambda root: f"{root.rstrip('/')}/{model.path}")
    container: Manifest = {
        "resources": {"requests": {"cpu": MODEL_RESOURCES.cpu_request, "memory": MODEL_RESOURCES.memory_request},
                      "limits": {"cpu": MODEL_RESOURCES.cpu_limit, "memory": MODEL_RESOURCES.memory_limit}},
        "securityContext": container_security_context(1000),
    }
    predictor: Manifest = {
        "minReplicas": replicas,
        "maxReplicas": max(replicas * 2, 1),
        "serviceAccountName": MODELS_SERVICE_ACCOUNT,
    }
    if model.format is not None:
        predictor["model"] = {**container, "modelFormat": {"name": model.format.value}, "storageUri": uri}
    else:
        predictor["containers"] = [{**container, "name": "kserve-container", "image": model.image,
                                    "env": [{"name": "STORAGE_URI", "value": uri}],
                                    "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {**_meta(model.name, args.namespace),
                         "annotations": {"serving.kserve.io/deploymentMode": "Knative"}},
            "spec": {"predictor": predictor}}


def models_service_account(args: MlSchedulerArgs, annotations: dict[str, pulumi.Input[str]]) -> Manifest:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {**_meta(MODELS_SERVICE_ACCOUNT, args.namespace), "annotations": annotations}}


def ml_scheduler_manifests(args: MlSchedulerArgs, *, mlflow_url: str) -> list[Manifest]:
    """The scheduler, its RBAC and config, and the remediation service (models: `inference_service`)."""
    namespace = args.namespace
    scheduler = scheduler_spec(args)
    controller = with_https_probes(deployment(scheduler, namespace))
    controller = spread_across_nodes(controller, selector_labels(scheduler), required=False)
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(CONFIG_MAP, namespace),
              "data": {"config.yaml": yaml.safe_dump(scheduler_configuration(args), sort_keys=False)}}
    # The scheduler serves nothing the cluster calls (kubelet probes are not subject to NetworkPolicy).
    scheduler_policy = flow_policy(scheduler.name, namespace, labels(scheduler), selector_labels(scheduler), ingress=[])
    remediation = remediation_spec(args, mlflow_url)
    remediation_service = service(remediation, namespace)
    assert remediation_service is not None
    remediation_policy = flow_policy(
        REMEDIATION, namespace, labels(remediation), selector_labels(remediation),
        ingress=[Flow(peers=[Peer(namespace=MONITORING_NAMESPACE)], ports=[("http", "TCP")]),
                 Flow(peers=[Peer(pods={})], ports=[("http", "TCP")])],
    )
    budgets = [b for b in (pod_disruption_budget(scheduler, namespace), pod_disruption_budget(remediation, namespace)) if b]
    return [
        *scheduler_rbac(args),
        config,
        controller,
        scheduler_policy,
        deployment(remediation, namespace),
        remediation_service,
        remediation_policy,
        *budgets,
        alertmanager_config(args),
    ]
