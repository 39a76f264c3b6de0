"""The control plane that runs the runtime services on the cluster."""

from components.platform.component import ControlPlane
from components.platform.control_plane import (
    ControlPlaneArgs,
    Migration,
    Retraining,
    SecretKeyRef,
    ServiceRole,
    ServiceSize,
)

__all__ = ["ControlPlane", "ControlPlaneArgs", "Migration", "Retraining", "SecretKeyRef", "ServiceRole", "ServiceSize"]
