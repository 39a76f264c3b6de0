"""Workload specs become secure, valid Kubernetes objects derived from intent."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pydantic import ValidationError

from components.workloads import (
    Autoscaling,
    DisruptionBudget,
    Exposure,
    Metrics,
    Port,
    Probe,
    Probes,
    SecretEnv,
    Volume,
    VolumeSource,
    Workload,
    WorkloadArgs,
    WorkloadSpec,
    workload_manifests,
)
from components.workloads.manifests import INGRESS_NAMESPACE, MONITORING_NAMESPACE
from runtime.contract import Tier

HTTP = Port(name="http", container_port=8080)


def by_kind(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["kind"]: m for m in manifests}


def pod_spec(spec: WorkloadSpec) -> dict[str, Any]:
    return by_kind(workload_manifests(spec, "apps"))["Deployment"]["spec"]["template"]["spec"]


def full_spec(**changes: Any) -> WorkloadSpec:
    base: dict[str, Any] = {
        "name": "api", "image": "registry.example/api:1.2.3", "ports": [HTTP, Port(name="metrics", container_port=9090)],
        "env": {"LOG_LEVEL": "info"}, "secret_env": [SecretEnv(name="DATABASE_URL", secret="db", key="url")],
        "replicas": 3, "tier": Tier.EDGE, "expose": Exposure.HTTP, "metrics": Metrics(port="metrics"),
        "volumes": [Volume(name="config", mount_path="/etc/app", source=VolumeSource.CONFIG_MAP,
                           source_name="app-config", read_only=True)],
        "autoscaling": Autoscaling(min_replicas=2, max_replicas=6),
    }
    return WorkloadSpec(**(base | changes))


@pytest.mark.parametrize(
    "spec",
    [
        full_spec(),
        full_spec(gpus=1, tier=Tier.CLOUD, autoscaling=None),
        WorkloadSpec(name="worker", image="w:1", probes=Probes(liveness=Probe(command=["true"]), readiness=None)),
        full_spec(expose=Exposure.CLUSTER, disruption_budget=DisruptionBudget(min_available=1)),
    ],
    ids=["web", "gpu", "no-ports", "cluster"],
)
def test_every_object_passes_strict_kubernetes_validation(spec: WorkloadSpec, validate_manifests: Any) -> None:
    assert validate_manifests(workload_manifests(spec, "apps")) == len(workload_manifests(spec, "apps"))


def test_every_container_is_non_root_read_only_and_drops_all_capabilities() -> None:
    pod = pod_spec(full_spec())
    security = pod["containers"][0]["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "tmp", "mountPath": "/tmp"} in pod["containers"][0]["volumeMounts"]


def test_every_container_has_requests_limits_and_probes_by_default() -> None:
    container = pod_spec(WorkloadSpec(name="web", image="w:1", ports=[HTTP]))["containers"][0]
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_edge_tier_selects_edge_nodes_and_tolerates_their_taint() -> None:
    pod = pod_spec(full_spec(tier=Tier.EDGE))
    assert pod["nodeSelector"] == {"tier": "edge"}
    assert {"key": "tier", "operator": "Equal", "value": "edge", "effect": "NoSchedule"} in pod["tolerations"]


def test_gpu_workload_lands_on_gpu_nodes_with_a_gpu_limit() -> None:
    pod = pod_spec(full_spec(gpus=2, tier=Tier.CLOUD))
    assert pod["nodeSelector"]["nvidia.com/gpu.present"] == "true"
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_http_exposure_admits_the_ingress_gateway_and_the_scraper_only() -> None:
    policy = by_kind(workload_manifests(full_spec(), "apps"))["NetworkPolicy"]
    peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    namespaces = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                  for p in peers if "namespaceSelector" in p}
    assert namespaces == {INGRESS_NAMESPACE, MONITORING_NAMESPACE}
    assert policy["spec"]["policyTypes"] == ["Ingress"]


def test_unexposed_unscraped_workload_has_no_service_and_denies_all_ingress() -> None:
    manifests = by_kind(workload_manifests(WorkloadSpec(name="batch", image="b:1", ports=[HTTP]), "apps"))
    assert "Service" not in manifests and "ServiceMonitor" not in manifests
    assert manifests["NetworkPolicy"]["spec"]["ingress"] == []


def test_autoscaled_workload_leaves_replicas_to_its_hpa_and_gets_a_budget() -> None:
    manifests = by_kind(workload_manifests(full_spec(), "apps"))
    assert "replicas" not in manifests["Deployment"]["spec"]
    assert manifests["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] == 6
    assert manifests["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1


def test_single_replica_workload_gets_no_disruption_budget_that_would_block_drains() -> None:
    kinds = by_kind(workload_manifests(WorkloadSpec(name="one", image="o:1", ports=[HTTP]), "apps"))
    assert "PodDisruptionBudget" not in kinds


def test_service_monitor_scrapes_the_declared_metrics_port() -> None:
    monitor = by_kind(workload_manifests(full_spec(), "apps"))["ServiceMonitor"]
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]
    assert monitor["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "api"}


def test_secret_env_is_a_secret_key_ref_never_a_literal() -> None:
    env = pod_spec(full_spec())["containers"][0]["env"]
    assert {"name": "DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": "db", "key": "url", "optional": False}}} in env


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Bad_Name"}, "name"),
        ({"resources": {"cpu_request": "2", "cpu_limit": "1"}}, "cpu_request (2) must not exceed cpu_limit (1)"),
        ({"resources": {"memory_limit": "lots"}}, "memory_limit: 'lots' is not a Kubernetes quantity"),
        ({"metrics": {"port": "nope"}}, "metrics.port 'nope'"),
        ({"ports": [], "expose": "http", "probes": None, "metrics": None}, "expose=http needs at least one port"),
        ({"ports": [], "expose": "none", "metrics": None}, "probes.liveness"),
        (
            {"ports": [{"name": "udp", "container_port": 9000, "protocol": "UDP"}], "metrics": None},
            "probes.liveness: an HTTP probe needs a declared TCP port",
        ),
        ({"autoscaling": {"min_replicas": 5, "max_replicas": 2}}, "min_replicas (5) must not exceed max_replicas (2)"),
        ({"volumes": [{"name": "data", "mount_path": "/d", "source": "secret"}]}, "needs 'source_name'"),
        ({"gpus": -1}, "gpus"),
        ({"tier": "moon"}, "tier"),
    ],
)
def test_bad_specs_fail_naming_the_field(changes: dict[str, Any], message: str) -> None:
    base = full_spec().model_dump()
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        WorkloadSpec.model_validate(base | changes)


def test_workload_component_registers_each_object_with_the_given_provider(run_pulumi: Any) -> None:
    import pulumi_kubernetes as k8s

    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="{}")
        Workload("api", WorkloadArgs(spec=full_spec(), namespace="apps"), pulumi.ResourceOptions(provider=provider))

    records = run_pulumi(program)
    children = [r for r in records if r.parent_name == "api"]
    assert sorted(r.type.split(":")[-1] for r in children) == sorted(
        ["Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ServiceMonitor"]
    )
    assert all(r.provider is not None and "::cluster::" in r.provider for r in children)
    deployment = records.one("kubernetes:apps/v1:Deployment", "api-deployment-api").plain_inputs
    assert deployment["spec"]["template"]["spec"]["nodeSelector"] == {"tier": "edge"}
