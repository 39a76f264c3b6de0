"""Pod Security per namespace and the functions namespace's guards, as a real stack renders them."""

from __future__ import annotations

from tests.infra.conftest import Render


def _labels(rendered, name: str) -> dict[str, str]:
    return next(m for m in rendered.manifests if m["kind"] == "Namespace" and m["metadata"]["name"] == name)[
        "metadata"]["labels"]


def test_the_platform_namespace_enforces_restricted_and_the_injected_functions_namespace_warns(render: Render) -> None:
    rendered = render("production")
    platform = _labels(rendered, rendered.config.platform.namespace)
    assert platform["pod-security.kubernetes.io/enforce"] == "restricted"
    functions = _labels(rendered, rendered.config.functions_namespace)
    assert "pod-security.kubernetes.io/enforce" not in functions  # istio-init needs NET_ADMIN without Istio CNI
    assert functions["pod-security.kubernetes.io/warn"] == "restricted" and functions["istio-injection"] == "enabled"


def test_the_functions_namespace_has_its_quota_limits_and_default_deny_policy(render: Render) -> None:
    rendered = render("staging", "functions_limits.quota.pods=40")
    namespace = rendered.config.functions_namespace
    kinds = {m["kind"]: m for m in rendered.manifests if m["metadata"].get("namespace") == namespace
             and m["kind"] in ("ResourceQuota", "LimitRange", "NetworkPolicy")}
    assert set(kinds) == {"ResourceQuota", "LimitRange", "NetworkPolicy"}
    assert kinds["ResourceQuota"]["spec"]["hard"]["pods"] == "40"


def test_the_stack_deploys_the_migration_job_and_the_retraining_cron_job(render: Render) -> None:
    rendered = render("production")
    names = {(m["kind"], m["metadata"]["name"]) for m in rendered.manifests}
    assert {("Job", "isf-migrate"), ("CronJob", "isf-train")} <= names
