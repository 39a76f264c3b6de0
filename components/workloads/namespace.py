"""The namespace user workloads and functions run in, labelled for the mesh and for pod security."""

from __future__ import annotations

from components.workloads.manifests import Manifest
from runtime.contract.kubernetes import MANAGED_BY, MANAGED_BY_LABEL

ISTIO_INJECTION_LABEL = "istio-injection"
PART_OF_LABEL = "app.kubernetes.io/part-of"
# Pod Security Admission levels; `restricted` is what every builder here already satisfies.
POD_SECURITY_LEVEL = "restricted"
POD_SECURITY_MODES = ("warn", "audit")


def functions_namespace(name: str) -> Manifest:
    """A Namespace with Istio sidecar injection on and Pod Security `restricted` warnings and audits."""
    # Not `enforce`: the injected istio-init container needs NET_ADMIN, which `restricted` (and even
    # `baseline`) reject unless the cluster runs the Istio CNI plugin.
    labels = {
        PART_OF_LABEL: "isf",
        MANAGED_BY_LABEL: MANAGED_BY,
        ISTIO_INJECTION_LABEL: "enabled",
        **{f"pod-security.kubernetes.io/{mode}": POD_SECURITY_LEVEL for mode in POD_SECURITY_MODES},
    }
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
