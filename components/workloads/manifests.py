"""Builders: a `WorkloadSpec` becomes Deployment, Service, NetworkPolicy, PDB, HPA and ServiceMonitor dicts."""

from __future__ import annotations

from typing import Any

from components.workloads.security import (
    TMP_MOUNT,
    TMP_VOLUME,
    container_security_context,
    pod_security_context,
)
from components.workloads.spec import Exposure, Probe, VolumeSource, WorkloadSpec, image_pull_policy
from runtime.contract.kubernetes import MANAGED_BY, MANAGED_BY_LABEL, WORKLOAD_TIER_LABEL
from runtime.contract.scheduling import placement

Manifest = dict[str, Any]

NAME_LABEL = "app.kubernetes.io/name"
# Namespaces allowed through the NetworkPolicy: the ingress gateway's and the Prometheus scraper's.
INGRESS_NAMESPACE = "istio-system"
MONITORING_NAMESPACE = "monitoring"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
CHECKOV_SKIP_PREFIX = "checkov.io/skip"
# Secret files: readable by the pod's group (fsGroup) only, never writable.
SECRET_FILE_MODE = 0o440


def selector_labels(spec: WorkloadSpec) -> dict[str, str]:
    """The labels that select the workload's pods (stable across upgrades)."""
    return {NAME_LABEL: spec.name}


def labels(spec: WorkloadSpec) -> dict[str, str]:
    """Labels on every object of the workload."""
    return {**spec.labels, **selector_labels(spec), MANAGED_BY_LABEL: MANAGED_BY, WORKLOAD_TIER_LABEL: spec.tier.value}


def metadata(spec: WorkloadSpec, namespace: str, name: str | None = None) -> Manifest:
    return {"name": name or spec.name, "namespace": namespace, "labels": labels(spec)}


def check_skip_annotations(spec: WorkloadSpec) -> dict[str, str]:
    """checkov's skip annotations (`checkov.io/skip1: CKV_K8S_38=<reason>`), one per skipped check."""
    return {f"{CHECKOV_SKIP_PREFIX}{n}": f"{check}={reason}"
            for n, (check, reason) in enumerate(sorted(spec.check_skips.items()), start=1)}


def controller_metadata(spec: WorkloadSpec, namespace: str) -> Manifest:
    """Metadata of the object that owns the pods (Deployment, Job, CronJob): scanners read skips there."""
    body = metadata(spec, namespace)
    skips = check_skip_annotations(spec)
    return {**body, "annotations": skips} if skips else body


def _probe(spec: WorkloadSpec, probe: Probe) -> Manifest:
    action: Manifest = (
        {"exec": {"command": probe.command}}
        if probe.command is not None
        else {"httpGet": {"path": probe.path, "port": spec.probe_port(probe)}}
    )
    return {
        **action,
        "initialDelaySeconds": probe.initial_delay_seconds,
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "failureThreshold": probe.failure_threshold,
    }


def _env(spec: WorkloadSpec) -> list[Manifest]:
    plain = [{"name": key, "value": value} for key, value in sorted(spec.env.items())]
    from_secrets = [
        {
            "name": ref.name,
            "valueFrom": {"secretKeyRef": {"name": ref.secret, "key": ref.key, "optional": ref.optional}},
        }
        for ref in spec.secret_env
    ]
    file_paths = [{"name": ref.name, "value": ref.path} for ref in spec.secret_files]
    return plain + file_paths + from_secrets


def _volumes(spec: WorkloadSpec) -> tuple[list[Manifest], list[Manifest]]:
    volumes: list[Manifest] = [{"name": TMP_VOLUME, "emptyDir": {"sizeLimit": "256Mi"}}]
    mounts: list[Manifest] = [{"name": TMP_VOLUME, "mountPath": TMP_MOUNT}]
    for volume in spec.volumes:
        source: Manifest
        if volume.source is VolumeSource.EMPTY_DIR:
            source = {"sizeLimit": volume.size_limit} if volume.size_limit else {}
        elif volume.source is VolumeSource.CONFIG_MAP:
            source = {"name": volume.source_name}
        elif volume.source is VolumeSource.SECRET:
            source = {"secretName": volume.source_name, "defaultMode": SECRET_FILE_MODE}
        else:
            source = {"claimName": volume.source_name, "readOnly": volume.read_only}
        volumes.append({"name": volume.name, volume.source.value: source})
        mounts.append({"name": volume.name, "mountPath": volume.mount_path, "readOnly": volume.read_only})
    for secret in spec.secret_file_secrets():
        refs = [ref for ref in spec.secret_files if ref.secret == secret]
        # Only the keys asked for: the data layer's Secrets also hold host, user and password.
        items = [{"key": key, "path": key} for key in dict.fromkeys(ref.key for ref in refs)]
        volumes.append({"name": f"secret-{secret}",
                        "secret": {"secretName": secret, "items": items, "defaultMode": SECRET_FILE_MODE}})
        mounts.append({"name": f"secret-{secret}", "mountPath": refs[0].directory, "readOnly": True})
    return volumes, mounts


def container(spec: WorkloadSpec) -> Manifest:
    """The workload's one container, hardened, with requests, limits and probes."""
    scheduling = placement(spec.tier, spec.gpus)
    resources = spec.resources
    _, mounts = _volumes(spec)
    body: Manifest = {
        "name": spec.name,
        "image": spec.image,
        "imagePullPolicy": image_pull_policy(spec.image),
        "ports": [
            {"name": port.name, "containerPort": port.container_port, "protocol": port.protocol.value}
            for port in spec.ports
        ],
        "env": _env(spec),
        "envFrom": [{"secretRef": {"name": secret}} for secret in spec.env_from_secrets],
        "resources": {
            "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
            "limits": {
                "cpu": resources.cpu_limit,
                "memory": resources.memory_limit,
                **scheduling.resource_limits,
            },
        },
        "securityContext": container_security_context(spec.run_as_user),
        "volumeMounts": mounts,
    }
    if spec.command:
        body["command"] = spec.command
    if spec.args:
        body["args"] = spec.args
    if spec.probes is not None:
        for role, key in (("liveness", "livenessProbe"), ("readiness", "readinessProbe"), ("startup", "startupProbe")):
            probe = getattr(spec.probes, role)
            if probe is not None:
                body[key] = _probe(spec, probe)
    return body


def pod_template(spec: WorkloadSpec) -> Manifest:
    """Pod template with tier/GPU scheduling from the cluster's placement rules."""
    scheduling = placement(spec.tier, spec.gpus)
    volumes, _ = _volumes(spec)
    pod_spec: Manifest = {
        "containers": [container(spec)],
        "securityContext": pod_security_context(spec.run_as_user),
        "nodeSelector": scheduling.node_selector,
        "tolerations": scheduling.tolerations,
        "volumes": volumes,
        # Only workloads that talk to the API server get a token.
        "automountServiceAccountToken": spec.mounts_token,
    }
    if spec.service_account is not None:
        pod_spec["serviceAccountName"] = spec.service_account
    if spec.termination_grace_period_seconds is not None:
        pod_spec["terminationGracePeriodSeconds"] = spec.termination_grace_period_seconds
    return {"metadata": {"labels": labels(spec), "annotations": dict(spec.annotations)}, "spec": pod_spec}


def deployment(spec: WorkloadSpec, namespace: str) -> Manifest:
    """The Deployment; with autoscaling its replica count belongs to the HPA."""
    body: Manifest = {
        "selector": {"matchLabels": selector_labels(spec)},
        "template": pod_template(spec),
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
    }
    if spec.autoscaling is None:
        body["replicas"] = spec.replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": controller_metadata(spec, namespace), "spec": body}


def service(spec: WorkloadSpec, namespace: str) -> Manifest | None:
    """A ClusterIP Service when the workload is exposed or scraped; None otherwise."""
    if spec.expose is Exposure.NONE and spec.metrics is None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(spec, namespace),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(spec),
            "ports": [
                {
                    "name": port.name,
                    "port": port.service_port or port.container_port,
                    "targetPort": port.name,
                    "protocol": port.protocol.value,
                }
                for port in spec.ports
            ],
        },
    }


def _from_namespace(namespace: str) -> Manifest:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}}


def network_policy(spec: WorkloadSpec, namespace: str) -> Manifest:
    """Default-deny ingress, opened only as far as `expose` and `metrics` ask."""
    rules: list[Manifest] = []
    service_ports = [{"port": port.name, "protocol": port.protocol.value} for port in spec.ports]
    if spec.expose is not Exposure.NONE:
        peers: list[Manifest] = [{"namespaceSelector": {}} if spec.expose is Exposure.CLUSTER else {"podSelector": {}}]
        if spec.expose is Exposure.HTTP:
            peers.append(_from_namespace(INGRESS_NAMESPACE))
        rules.append({"from": peers, "ports": service_ports})
    if spec.metrics is not None:
        rules.append({"from": [_from_namespace(MONITORING_NAMESPACE)], "ports": [{"port": spec.metrics.port}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(spec, namespace),
        "spec": {"podSelector": {"matchLabels": selector_labels(spec)}, "policyTypes": ["Ingress"], "ingress": rules},
    }


def pod_disruption_budget(spec: WorkloadSpec, namespace: str) -> Manifest | None:
    """The configured budget, else maxUnavailable=1 for any workload that can run more than one pod."""
    budget = spec.disruption_budget
    replicated = spec.autoscaling is not None or spec.replicas > 1
    if budget is None and not replicated:
        return None
    bound: Manifest
    if budget is not None and budget.min_available is not None:
        bound = {"minAvailable": budget.min_available}
    else:
        bound = {"maxUnavailable": budget.max_unavailable if budget is not None else 1}
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(spec, namespace),
        "spec": {**bound, "selector": {"matchLabels": selector_labels(spec)}},
    }


def horizontal_pod_autoscaler(spec: WorkloadSpec, namespace: str) -> Manifest | None:
    """An autoscaling/v2 HPA on CPU utilisation, when autoscaling is asked for."""
    scaling = spec.autoscaling
    if scaling is None:
        return None
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(spec, namespace),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": scaling.target_cpu_utilization},
                    },
                }
            ],
        },
    }


def service_monitor(spec: WorkloadSpec, namespace: str) -> Manifest | None:
    """A monitoring.coreos.com/v1 ServiceMonitor for the metrics endpoint."""
    if spec.metrics is None:
        return None
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(spec, namespace),
        "spec": {
            "selector": {"matchLabels": selector_labels(spec)},
            "namespaceSelector": {"matchNames": [namespace]},
            "endpoints": [{"port": spec.metrics.port, "path": spec.metrics.path, "interval": spec.metrics.interval}],
        },
    }


def workload_manifests(spec: WorkloadSpec, namespace: str) -> list[Manifest]:
    """Every object the workload needs, in apply order."""
    candidates = [
        deployment(spec, namespace),
        service(spec, namespace),
        network_policy(spec, namespace),
        pod_disruption_budget(spec, namespace),
        horizontal_pod_autoscaler(spec, namespace),
        service_monitor(spec, namespace),
    ]
    return [manifest for manifest in candidates if manifest is not None]
