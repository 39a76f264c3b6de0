"""The serving layer in one component: Istio, then Knative Serving on top of it, and cert-manager."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
from pydantic import BaseModel, ConfigDict

from components.serving.cert_manager import ISSUER_NAME, CertManager, CertManagerArgs, IssuerKind
from components.serving.istio import Istio, IstioArgs
from components.serving.knative import KnativeArgs, KnativeServing


class ServingArgs(BaseModel):
    """Everything the serving layer needs; each part keeps its own defaults and `values` overrides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    istio: IstioArgs = IstioArgs()
    knative: KnativeArgs = KnativeArgs()
    cert_manager: CertManagerArgs = CertManagerArgs()


def external_tls_issuer(args: ServingArgs) -> str | None:
    """The ClusterIssuer Knative takes external-domain certificates from, or None for plain HTTP: by default
    only an ACME issuer (a public CA) turns TLS on; self-signed stacks stay on HTTP unless `external_tls`."""
    enabled = args.knative.external_tls
    if enabled is None:
        enabled = args.cert_manager.issuer is IssuerKind.ACME
    return ISSUER_NAME if enabled else None


class Serving(pulumi.ComponentResource):
    """cert-manager, Istio, then Knative Serving (after Istio, and after cert-manager when serving TLS)."""

    def __init__(
        self,
        name: str,
        args: ServingArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        prometheus_crds: Sequence[pulumi.Resource] = (),
    ) -> None:
        """`prometheus_crds`: what installs the Prometheus Operator CRDs (cert-manager's ServiceMonitor waits on it)."""
        super().__init__("isf:serving:Serving", name, None, opts)
        self.cert_manager = CertManager(
            f"{name}-cert-manager", args.cert_manager, pulumi.ResourceOptions(parent=self),
            prometheus_crds=prometheus_crds,
        )
        self.istio = Istio(f"{name}-istio", args.istio, pulumi.ResourceOptions(parent=self))
        # Knative's shared Gateway must point at the gateway Service of the Istio installed just above.
        issuer = external_tls_issuer(args)
        knative = args.knative.model_copy(update={"istio_namespace": args.istio.namespace, "tls_issuer": issuer})
        self.knative = KnativeServing(
            f"{name}-knative", knative, pulumi.ResourceOptions(parent=self, depends_on=[self.istio]),
            certificates=[self.cert_manager.chart, self.cert_manager.issuer] if issuer else [],
        )
        self.register_outputs(
            {
                "istio_namespace": args.istio.namespace,
                "knative_namespace": args.knative.namespace,
                "issuer": self.cert_manager.issuer_name,
            }
        )
