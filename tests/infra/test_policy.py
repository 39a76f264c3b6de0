"""The CrossGuard pack: every rendered stack passes it, and each rule catches the violation it exists for."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from infra.render import Rendered
from policy.pack import RULES, inside_helm_chart, resource_policies, violations
from tests.infra.conftest import USER_OVERRIDES, VARIANTS, Render, render_variant

Mutation = Callable[[dict[str, Any]], None]


def _resources(rendered: Rendered, type_: str, name_part: str = "") -> list[dict[str, Any]]:
    return [copy.deepcopy(item["inputs"]) for item in rendered.inventory
            if item["type"] == type_ and name_part in item["name"]]


def test_every_resource_of_every_stack_variant_passes_every_policy(variant: Rendered) -> None:
    found = {(item["type"], item["name"]): violations(item["type"], item["inputs"]) for item in variant.inventory}
    assert {key: found_here for key, found_here in found.items() if found_here} == {}


def test_user_workloads_and_functions_pass_every_policy(render: Render) -> None:
    rendered = render("staging", *USER_OVERRIDES)
    assert not [v for item in rendered.inventory for v in violations(item["type"], item["inputs"])]


def test_every_rule_judges_some_resource_of_the_rendered_stacks(render: Render, lab_kubeconfig: Path) -> None:
    rendered = [render_variant(render, name, lab_kubeconfig) for name in VARIANTS]
    types = {item["type"] for stack in rendered for item in stack.inventory}
    unexercised = {rule.name for rule in RULES if not rule.resource_types & types}
    # Basic Memorystore instances are a fallback the stacks do not use; the negative tests cover the rule.
    # The stacks create no buckets yet; test_policy_rules.py seeds the violations buckets-private exists for.
    assert unexercised <= {"redis-memorystore-tls", "buckets-private"}, unexercised


def _set(path: str, value: Any) -> Mutation:
    def mutate(props: dict[str, Any]) -> None:
        node: Any = props
        *parents, last = path.split(".")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if value is _DELETE:
            node.pop(last, None)
        else:
            node[last] = value

    return mutate


_DELETE = object()
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
KNATIVE = "kubernetes:serving.knative.dev/v1:Service"
POD = "spec.template.spec"
CONTAINER = f"{POD}.containers.0"


@pytest.mark.parametrize(
    ("variant_name", "type_", "name_part", "mutations", "rule", "fragment"),
    [
        ("staging-aws", DEPLOYMENT, "", [_set(f"{POD}.securityContext.runAsNonRoot", False),
                                         _set(f"{CONTAINER}.securityContext.runAsNonRoot", _DELETE)],
         "k8s-containers-hardened", "may run as root"),
        ("staging-aws", DEPLOYMENT, "", [_set(f"{CONTAINER}.securityContext.allowPrivilegeEscalation", True)],
         "k8s-containers-hardened", "allows privilege escalation"),
        ("staging-aws", DEPLOYMENT, "", [_set(f"{CONTAINER}.securityContext.readOnlyRootFilesystem", False)],
         "k8s-containers-hardened", "writable root filesystem"),
        ("staging-aws", DEPLOYMENT, "", [_set(f"{CONTAINER}.securityContext.capabilities", {"add": ["NET_ADMIN"]})],
         "k8s-containers-hardened", "keeps Linux capabilities"),
        ("staging-aws", DEPLOYMENT, "", [_set(f"{CONTAINER}.securityContext.privileged", True)],
         "k8s-containers-hardened", "is privileged"),
        ("staging-aws", DEPLOYMENT, "", [_set(f"{POD}.hostNetwork", True)], "k8s-containers-hardened", "hostNetwork"),
        ("staging-aws", KNATIVE, "hello", [_set(f"{CONTAINER}.securityContext.seccompProfile", _DELETE)],
         "k8s-containers-hardened", "seccomp"),
        ("staging-aws", KNATIVE, "hello", [_set(f"{CONTAINER}.resources.limits", _DELETE)],
         "k8s-containers-requests-and-limits", "no limits for cpu and memory"),
        ("staging-aws", DEPLOYMENT, "", [_set(f"{CONTAINER}.resources.requests.memory", _DELETE)],
         "k8s-containers-requests-and-limits", "no requests for memory"),
        ("staging-aws", "kubernetes:core/v1:Service", "", [_set("spec.type", "LoadBalancer")],
         "k8s-load-balancer-only-at-ingress", "LoadBalancer Service in namespace"),
        ("staging-aws", "aws:rds/instance:Instance", "", [_set("storageEncrypted", False)],
         "postgres-rds-encrypted-private-protected", "not encrypted"),
        ("staging-aws", "aws:rds/instance:Instance", "", [_set("publiclyAccessible", True)],
         "postgres-rds-encrypted-private-protected", "publicly accessible"),
        ("production-aws", "aws:rds/instance:Instance", "", [_set("deletionProtection", False)],
         "postgres-rds-encrypted-private-protected", "multi-AZ (HA) instance must have deletionProtection"),
        ("production-gcp", "gcp:sql/databaseInstance:DatabaseInstance", "",
         [_set("settings.ipConfiguration.ipv4Enabled", True)], "postgres-cloud-sql-private-tls-protected",
         "public IPv4"),
        ("production-gcp", "gcp:sql/databaseInstance:DatabaseInstance", "",
         [_set("settings.ipConfiguration.sslMode", "ALLOW_UNENCRYPTED_AND_ENCRYPTED")],
         "postgres-cloud-sql-private-tls-protected", "TLS"),
        ("production-gcp", "gcp:sql/databaseInstance:DatabaseInstance", "", [_set("deletionProtection", False)],
         "postgres-cloud-sql-private-tls-protected", "REGIONAL (HA) instance must have deletionProtection"),
        ("staging-aws", "aws:elasticache/replicationGroup:ReplicationGroup", "",
         [_set("transitEncryptionEnabled", False)], "redis-elasticache-tls-and-auth", "TLS in transit is off"),
        ("staging-aws", "aws:elasticache/replicationGroup:ReplicationGroup", "", [_set("authToken", _DELETE)],
         "redis-elasticache-tls-and-auth", "need no credentials"),
        ("production-gcp", "gcp:redis/cluster:Cluster", "", [_set("transitEncryptionMode", "TRANSIT_ENCRYPTION_MODE_DISABLED")],
         "redis-memorystore-tls", "TLS in transit is off"),
        ("staging-aws", "aws:eks/nodeGroup:NodeGroup", "gpu", [_set("taints", [])], "gpu-node-pools-tainted",
         "not tainted nvidia.com/gpu"),
        ("production-gcp", "gcp:container/nodePool:NodePool", "gpu", [_set("nodeConfig.taints", _DELETE)],
         "gpu-node-pools-tainted", "not tainted nvidia.com/gpu"),
    ],
)
def test_each_rule_catches_the_violation_it_exists_for(
    render: Render, lab_kubeconfig: Path, variant_name: str, type_: str, name_part: str,
    mutations: list[Mutation], rule: str, fragment: str,
) -> None:
    compliant = _resources(render_variant(render, variant_name, lab_kubeconfig), type_, name_part)[0]
    assert violations(type_, compliant) == []
    for mutate in mutations:
        mutate(compliant)
    found = violations(type_, compliant)
    assert [v.rule for v in found] == [rule], found
    assert fragment in found[0].message


def test_a_basic_memorystore_instance_needs_tls_and_auth() -> None:
    found = violations("gcp:redis/instance:Instance", {"transitEncryptionMode": "DISABLED", "authEnabled": False})
    assert [v.message for v in found] == [
        "TLS in transit is off (transitEncryptionMode: SERVER_AUTHENTICATION)",
        "clients need no credentials (authEnabled: true)",
    ]
    assert violations("gcp:redis/instance:Instance",
                      {"transitEncryptionMode": "SERVER_AUTHENTICATION", "authEnabled": True}) == []


def test_a_load_balancer_is_allowed_in_the_ingress_namespace_and_nowhere_else() -> None:
    service = {"metadata": {"namespace": "istio-system"}, "spec": {"type": "LoadBalancer"}}
    assert violations("kubernetes:core/v1:Service", service) == []
    assert violations("kubernetes:core/v1:Service", {"spec": {"type": "LoadBalancer"}})[0].message.startswith(
        "LoadBalancer Service in namespace 'default'")


ROOT_POD = {"spec": {"template": {"spec": {"containers": [{"name": "exporter", "image": "x"}]}}}}


def test_objects_inside_a_helm_chart_skip_hardening_but_not_the_load_balancer_rule() -> None:
    assert {v.rule for v in violations(DEPLOYMENT, ROOT_POD)} == {
        "k8s-containers-hardened", "k8s-containers-requests-and-limits"}
    assert violations(DEPLOYMENT, ROOT_POD, from_chart=True) == []
    public = {"metadata": {"namespace": "monitoring"}, "spec": {"type": "LoadBalancer"}}
    assert violations("kubernetes:core/v1:Service", public, from_chart=True)
    chart_child = "urn:pulumi:prod::isf::kubernetes:helm.sh/v4:Chart$kubernetes:apps/v1:DaemonSet::node-exporter"
    assert inside_helm_chart(chart_child)
    assert not inside_helm_chart("urn:pulumi:prod::isf::isf:workloads:Workload$kubernetes:apps/v1:Deployment::api")


def _args(type_: str, props: dict[str, Any], urn: str) -> ResourceValidationArgs:
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    # The SDK hands validations its unknown-checking proxies, not dicts; the rules must read those too.
    return ResourceValidationArgs(type_, unknown_checking_proxy(props), urn, urn.rsplit("::", 1)[-1], options, None)


def test_the_crossguard_policies_report_each_violation_against_the_resource(render: Render) -> None:
    reported: list[tuple[str, str | None]] = []
    urn = "urn:pulumi:staging::isf::isf:workloads:Workload$kubernetes:apps/v1:Deployment::api"
    policies = {policy.name: policy for policy in resource_policies()}
    assert set(policies) == {rule.name for rule in RULES}
    for policy in policies.values():
        policy.validate(_args(DEPLOYMENT, copy.deepcopy(ROOT_POD), urn), lambda m, u: reported.append((m, u)))
    assert reported and all(u == urn for _, u in reported)
    assert any("may run as root" in message for message, _ in reported)

    reported.clear()
    for item in render("staging").inventory:
        for policy in policies.values():
            item_urn = f"urn:pulumi:staging::isf::{item['type']}::{item['name']}"
            policy.validate(_args(item["type"], copy.deepcopy(item["inputs"]), item_urn),
                            lambda m, u: reported.append((m, u)))
    assert reported == []
