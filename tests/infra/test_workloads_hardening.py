"""Images by digest, secrets as files, scanner skips with their reason, run-to-completion workloads, and the
functions namespace's quota, limits and default-deny policy."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from components.workloads import Port, SecretEnv, WorkloadSpec, workload_manifests
from components.workloads.batch import BatchSpec, CronSchedule, cron_job, job
from components.workloads.function import FunctionSpec
from components.workloads.namespace import FunctionsNamespaceArgs, functions_namespace_manifests
from components.workloads.spec import SecretFile

DIGEST = "sha256:" + "ab" * 32


def _container(spec: WorkloadSpec) -> dict[str, Any]:
    return workload_manifests(spec, "apps")[0]["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("image", ["ghcr.io/acme/api:1.2", f"ghcr.io/acme/api@{DIGEST}",
                                   f"ghcr.io/acme/api:1.2@{DIGEST}", "localhost:5000/api:1"])
def test_tags_digests_and_both_are_accepted_everywhere_an_image_is_configured(image: str) -> None:
    assert WorkloadSpec(name="w", image=image, probes=None).image == image
    assert FunctionSpec(name="f", image=image).image == image


@pytest.mark.parametrize("image", ["ghcr.io/acme/api@sha256:short", "Upper/Case:1", "api:1 ", "api@md5:" + "a" * 32])
def test_malformed_image_references_fail_naming_the_field(image: str) -> None:
    with pytest.raises(ValidationError, match="image"):
        WorkloadSpec(name="w", image=image, probes=None)


def test_a_digest_is_pulled_if_not_present_and_a_movable_tag_always() -> None:
    assert _container(WorkloadSpec(name="w", image=f"api@{DIGEST}", probes=None))["imagePullPolicy"] == "IfNotPresent"
    assert _container(WorkloadSpec(name="w", image="api:1", probes=None))["imagePullPolicy"] == "Always"


def test_a_secret_file_mounts_only_its_key_read_only_and_puts_the_path_in_env() -> None:
    spec = WorkloadSpec(name="w", image="api:1", probes=None,
                        secret_files=[SecretFile(name="DATABASE_URL_FILE", secret="db", key="url")])
    pod = workload_manifests(spec, "apps")[0]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert {"name": "DATABASE_URL_FILE", "value": "/var/run/secrets/isf/db/url"} in container["env"]
    assert not any("valueFrom" in e for e in container["env"])
    assert {"name": "secret-db", "mountPath": "/var/run/secrets/isf/db", "readOnly": True} in container["volumeMounts"]
    volume = next(v for v in pod["volumes"] if v["name"] == "secret-db")
    assert volume["secret"] == {"secretName": "db", "items": [{"key": "url", "path": "url"}], "defaultMode": 0o440}


def test_a_check_skip_is_a_checkov_annotation_with_its_reason_on_the_deployment() -> None:
    spec = WorkloadSpec(name="w", image="api:1", probes=None, check_skips={"CKV_K8S_38": "it calls the API server"})
    assert workload_manifests(spec, "apps")[0]["metadata"]["annotations"] == {
        "checkov.io/skip1": "CKV_K8S_38=it calls the API server"}
    with pytest.raises(ValidationError):
        WorkloadSpec(name="w", image="api:1", check_skips={"CKV_K8S_38": "a=b"})  # checkov splits on '='


def test_jobs_and_cron_jobs_are_valid_hardened_and_bounded(validate_manifests: Any) -> None:
    batch = BatchSpec(workload=WorkloadSpec(name="task", image="api:1", command=["true"], probes=None,
                                            secret_env=[SecretEnv(name="X", secret="s", key="k")]))
    objects = [job(batch, "apps"), cron_job(batch, CronSchedule(), "apps")]
    assert validate_manifests(objects) == 2
    assert objects[0]["spec"]["activeDeadlineSeconds"] == 600
    assert objects[1]["spec"]["concurrencyPolicy"] == "Forbid"
    pod = objects[1]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    with pytest.raises(ValidationError, match="schedule"):
        CronSchedule(schedule="every hour")
    with pytest.raises(ValidationError, match="a Job has no autoscaling"):
        BatchSpec(workload=WorkloadSpec(name="t", image="a:1", ports=[Port(name="http", container_port=80)],
                                        autoscaling={"max_replicas": 2}))


def _namespace_objects(**changes: Any) -> dict[str, dict[str, Any]]:
    return {m["kind"]: m for m in functions_namespace_manifests("functions", FunctionsNamespaceArgs(**changes))}


def test_the_functions_namespace_gets_a_quota_container_defaults_and_they_validate(validate_manifests: Any) -> None:
    objects = _namespace_objects(quota={"requests_cpu": "10", "pods": 50})
    assert validate_manifests(objects.values()) == 4
    assert objects["ResourceQuota"]["spec"]["hard"]["requests.cpu"] == "10"
    assert objects["ResourceQuota"]["spec"]["hard"]["pods"] == "50"
    limits = objects["LimitRange"]["spec"]["limits"][0]
    assert set(limits) == {"type", "default", "defaultRequest", "max"}
    with pytest.raises(ValidationError, match="not a Kubernetes quantity"):
        FunctionsNamespaceArgs(quota={"limits_memory": "lots"})


def test_the_default_deny_policy_admits_knative_the_gateways_and_the_scraper_and_allows_dns_out() -> None:
    policy = _namespace_objects()["NetworkPolicy"]["spec"]
    assert policy["podSelector"] == {} and policy["policyTypes"] == ["Ingress", "Egress"]
    sources = {p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
               for rule in policy["ingress"] for p in rule["from"] if "namespaceSelector" in p}
    assert sources == {"istio-system", "knative-serving", "monitoring"}
    dns = policy["egress"][0]
    assert dns["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]
    assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}
    assert not any("ipBlock" in peer for rule in policy["egress"] for peer in rule["to"])
    opened = _namespace_objects(egress_cidrs=["0.0.0.0/0"])["NetworkPolicy"]["spec"]["egress"][-1]
    assert opened == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}
