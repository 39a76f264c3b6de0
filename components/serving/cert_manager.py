"""cert-manager (Helm, CRDs enabled) and the ClusterIssuer that signs the platform's certificates."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, Self

import pulumi
from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.helm import ChartRef, Values, helm_chart, merged_values, namespace_manifest
from components.workloads.registration import register_manifest

CERT_MANAGER_CHART = ChartRef(chart="cert-manager", version="v1.21.1", repo="https://charts.jetstack.io")
LETSENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"
ISSUER_NAME = "isf-issuer"


class IssuerKind(StrEnum):
    ACME = "acme"
    SELF_SIGNED = "self-signed"


class CertManagerArgs(BaseModel):
    """cert-manager knobs; ACME needs a contact email, self-signed suits staging only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: str = "cert-manager"
    replicas: Annotated[int, Field(ge=1, le=5)] = 1
    issuer: IssuerKind = IssuerKind.SELF_SIGNED
    acme_email: str | None = None
    acme_server: str = LETSENCRYPT_PRODUCTION
    acme_ingress_class: str = "istio"
    monitoring: bool = Field(
        default=True, description="create the chart's ServiceMonitor (only once the Prometheus CRDs are installed)"
    )
    values: dict[str, Any] = {}

    @model_validator(mode="after")
    def _acme_has_contact(self) -> Self:
        if self.issuer is IssuerKind.ACME and not self.acme_email:
            raise ValueError("issuer=acme needs 'acme_email' (Let's Encrypt's expiry notices go there)")
        return self


def cert_manager_values(args: CertManagerArgs, *, service_monitor: bool = True) -> Values:
    """Chart values: CRDs installed and kept, HA with a PDB when replicated, metrics scraped.

    `service_monitor` is False when nothing installs the ServiceMonitor CRD before this chart.
    """
    defaults: Values = {
        "crds": {"enabled": True, "keep": True},
        "replicaCount": args.replicas,
        "podDisruptionBudget": {"enabled": args.replicas > 1},
        "prometheus": {"enabled": args.monitoring, "servicemonitor": {"enabled": args.monitoring and service_monitor}},
    }
    return merged_values(defaults, args.values)


def cluster_issuer(args: CertManagerArgs) -> dict[str, Any]:
    """The `cert-manager.io/v1` ClusterIssuer: ACME HTTP-01 through the Istio ingress, or self-signed."""
    spec: dict[str, Any]
    if args.issuer is IssuerKind.ACME:
        spec = {
            "acme": {
                "email": args.acme_email,
                "server": args.acme_server,
                "privateKeySecretRef": {"name": f"{ISSUER_NAME}-account-key"},
                "solvers": [{"http01": {"ingress": {"class": args.acme_ingress_class}}}],
            }
        }
    else:
        spec = {"selfSigned": {}}
    return {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": ISSUER_NAME}, "spec": spec}


class CertManager(pulumi.ComponentResource):
    """cert-manager and its ClusterIssuer (registered after the chart, whose CRDs it needs)."""

    def __init__(
        self,
        name: str,
        args: CertManagerArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        prometheus_crds: Sequence[pulumi.Resource] = (),
    ) -> None:
        """`prometheus_crds`: what installs the ServiceMonitor CRD (kube-prometheus-stack); the chart's
        ServiceMonitor is created only when given, after it (a missing CRD fails the chart's install)."""
        super().__init__("isf:serving:CertManager", name, None, opts)
        namespace = register_manifest(
            f"{name}-namespace", namespace_manifest(args.namespace), pulumi.ResourceOptions(parent=self)
        )
        self.chart = helm_chart(
            f"{name}-chart", CERT_MANAGER_CHART, release="cert-manager", namespace=args.namespace,
            values=cert_manager_values(args, service_monitor=bool(prometheus_crds)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *prometheus_crds]),
        )
        self.issuer = register_manifest(
            f"{name}-issuer", cluster_issuer(args), pulumi.ResourceOptions(parent=self, depends_on=[self.chart])
        )
        self.issuer_name = ISSUER_NAME
        self.register_outputs({"namespace": args.namespace, "issuer": ISSUER_NAME})
