"""The Kubernetes minor versions the platform runs: one definition for the stack config and every cluster's Args."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

MIN_KUBERNETES_MINOR = 28  # the deployment guide's floor
MAX_KUBERNETES_MINOR = 37  # the newest schema kubernetes-validate ships, so renders stay checkable
DEFAULT_KUBERNETES_VERSION = "1.33"


def _supported(value: str) -> str:
    minor = int(value.split(".")[1])
    if not MIN_KUBERNETES_MINOR <= minor <= MAX_KUBERNETES_MINOR:
        raise ValueError(f"must be between 1.{MIN_KUBERNETES_MINOR} and 1.{MAX_KUBERNETES_MINOR} (got {value})")
    return value


KubernetesVersion = Annotated[
    str, Field(pattern=r"^1\.\d+$", description="minor version, like 1.33"), AfterValidator(_supported)
]
"""A Kubernetes minor version (`1.33`) within the supported range."""
