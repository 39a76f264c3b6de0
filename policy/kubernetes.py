"""Kubernetes guarantees: hardened containers with requests and limits, no LoadBalancer outside the ingress, and a
stated reason on every namespace that lifts Pod Security."""

from __future__ import annotations

from typing import Any

from policy.rule import Props, Rule, items, lookup
from runtime.contract.security import (
    POD_SECURITY_ENFORCE_LABEL,
    POD_SECURITY_PRIVILEGED,
    SECURITY_EXCEPTION_ANNOTATION,
)

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:serving.knative.dev/v1:Service": ("spec", "template", "spec"),
}
SERVICE_TYPE = "kubernetes:core/v1:Service"
NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"
# The Istio ingress gateway's namespace: the one place the platform takes traffic from outside.
INGRESS_NAMESPACES = frozenset({"istio-system"})
_SECCOMP_PROFILES = ("RuntimeDefault", "Localhost")


def _containers(pod: Any) -> list[tuple[str, Any]]:
    return [(str(lookup(c, "name")), c) for key in ("initContainers", "containers") for c in items(lookup(pod, key))]


def _pod(resource_type: str, props: Props) -> Any:
    return lookup(props, *POD_SPEC_PATHS[resource_type])


def containers_are_hardened(resource_type: str, props: Props) -> list[str]:
    """Non-root, no privilege escalation, read-only root FS, all capabilities dropped, RuntimeDefault seccomp."""
    pod = _pod(resource_type, props)
    pod_security = lookup(pod, "securityContext")
    problems = [f"pod uses {key}" for key in ("hostNetwork", "hostPID", "hostIPC") if lookup(pod, key) is True]
    for name, container in _containers(pod):
        security = lookup(container, "securityContext")

        def setting(key: str, security: Any = security) -> Any:
            # Container settings win over the pod's, as in Kubernetes.
            own = lookup(security, key)
            return own if own is not None else lookup(pod_security, key)

        if setting("runAsNonRoot") is not True or setting("runAsUser") == 0:
            problems.append(f"container {name!r} may run as root (set runAsNonRoot: true)")
        if lookup(security, "allowPrivilegeEscalation") is not False:
            problems.append(f"container {name!r} allows privilege escalation (set allowPrivilegeEscalation: false)")
        if lookup(security, "privileged") is True:
            problems.append(f"container {name!r} is privileged")
        if lookup(security, "readOnlyRootFilesystem") is not True:
            problems.append(f"container {name!r} has a writable root filesystem (set readOnlyRootFilesystem: true)")
        if "ALL" not in items(lookup(security, "capabilities", "drop")):
            problems.append(f"container {name!r} keeps Linux capabilities (drop: [ALL])")
        if lookup(setting("seccompProfile"), "type") not in _SECCOMP_PROFILES:
            problems.append(f"container {name!r} has no RuntimeDefault seccomp profile")
    return problems


def containers_have_requests_and_limits(resource_type: str, props: Props) -> list[str]:
    """Every container requests and caps CPU and memory, so it schedules and cannot starve its node."""
    problems: list[str] = []
    for name, container in _containers(_pod(resource_type, props)):
        for bound in ("requests", "limits"):
            missing = [r for r in ("cpu", "memory") if lookup(container, "resources", bound, r) is None]
            if missing:
                problems.append(f"container {name!r} has no {bound} for {' and '.join(missing)}")
    return problems


def load_balancers_only_at_the_ingress(resource_type: str, props: Props) -> list[str]:
    """A LoadBalancer Service opens a public endpoint: only the ingress gateway's namespace may have one."""
    if lookup(props, "spec", "type") != "LoadBalancer":
        return []
    namespace = lookup(props, "metadata", "namespace") or "default"
    if namespace in INGRESS_NAMESPACES:
        return []
    return [f"LoadBalancer Service in namespace {namespace!r}; expose it through the Istio ingress gateway instead"]


def privileged_namespaces_say_why(resource_type: str, props: Props) -> list[str]:
    """A namespace that enforces Pod Security `privileged` carries the reason (runtime/contract/security.py)."""
    if lookup(props, "metadata", "labels", POD_SECURITY_ENFORCE_LABEL) != POD_SECURITY_PRIVILEGED:
        return []
    reason = lookup(props, "metadata", "annotations", SECURITY_EXCEPTION_ANNOTATION)
    if isinstance(reason, str) and reason.strip():
        return []
    name = lookup(props, "metadata", "name")
    reason_missing = f"without saying why (annotation {SECURITY_EXCEPTION_ANNOTATION})"
    return [f"namespace {name!r} enforces Pod Security {POD_SECURITY_PRIVILEGED!r} {reason_missing}"]


RULES = (
    Rule(
        "k8s-containers-hardened",
        "Containers run as non-root, without privilege escalation, with a read-only root filesystem, "
        "no capabilities and the RuntimeDefault seccomp profile.",
        frozenset(POD_SPEC_PATHS),
        containers_are_hardened,
    ),
    Rule(
        "k8s-containers-requests-and-limits",
        "Containers set CPU and memory requests and limits.",
        frozenset(POD_SPEC_PATHS),
        containers_have_requests_and_limits,
    ),
    Rule(
        "k8s-load-balancer-only-at-ingress",
        "No LoadBalancer Service outside the ingress gateway's namespace.",
        frozenset({SERVICE_TYPE}),
        load_balancers_only_at_the_ingress,
        covers_chart_objects=True,
    ),
    Rule(
        "k8s-privileged-namespaces-say-why",
        "A namespace that enforces Pod Security 'privileged' states the reason in its isf.io/security-exception "
        "annotation.",
        frozenset({NAMESPACE_TYPE}),
        privileged_namespaces_say_why,
    ),
)
