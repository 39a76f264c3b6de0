"""The runtime's services: what `isf serve <role>` runs and what the control plane deploys."""

from __future__ import annotations

from enum import StrEnum


class ServiceRole(StrEnum):
    """The runtime services, as `isf serve <role>` names them."""

    PREDICTOR = "predictor"
    WARMING = "warming"
    PLACEMENT = "placement"
    API = "api"


# Services that talk to the Kubernetes API (patch Knative objects, read nodes, elect a leader): only these
# get a service-account token. The predictor reads and writes the store only (runtime/services/apps.py).
CONTROLLERS = frozenset({ServiceRole.WARMING, ServiceRole.PLACEMENT})
