"""The hardened pod and container security settings every workload gets, Knative functions included."""

from __future__ import annotations

from typing import Any

# Read-only root filesystems still need a writable scratch directory.
TMP_VOLUME = "tmp"
TMP_MOUNT = "/tmp"


def pod_security_context(run_as_user: int) -> dict[str, Any]:
    """Pod-level: non-root user and group, RuntimeDefault seccomp."""
    return {
        "runAsNonRoot": True,
        "runAsUser": run_as_user,
        "runAsGroup": run_as_user,
        "fsGroup": run_as_user,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(run_as_user: int) -> dict[str, Any]:
    """Container-level: read-only root, no privilege escalation, every capability dropped."""
    return {
        "runAsNonRoot": True,
        "runAsUser": run_as_user,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
