"""What the Pulumi program and the runtime must agree on, defined once and imported by both sides.

`scheduling` (tiers, node labels, GPU taint), `kubernetes` (labels, annotations, namespaces the
controllers select on and patch), `environment` (variables the control plane sets and the services
read), `roles` (the services), `metrics` (the Prometheus series the runtime exports and the dashboards
and alerts query). Plain Python only: the runtime image imports it without Pulumi.
"""

from runtime.contract.roles import ServiceRole
from runtime.contract.scheduling import Tier

__all__ = ["ServiceRole", "Tier"]
