"""The serving layer in one component: Istio, then Knative Serving on top of it, and cert-manager."""

from __future__ import annotations

import pulumi
from pydantic import BaseModel, ConfigDict

from components.serving.cert_manager import CertManager, CertManagerArgs
from components.serving.istio import Istio, IstioArgs
from components.serving.knative import KnativeArgs, KnativeServing


class ServingArgs(BaseModel):
    """Everything the serving layer needs; each part keeps its own defaults and `values` overrides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    istio: IstioArgs = IstioArgs()
    knative: KnativeArgs = KnativeArgs()
    cert_manager: CertManagerArgs = CertManagerArgs()


class Serving(pulumi.ComponentResource):
    """Istio, Knative Serving (after Istio) and cert-manager, with the cluster's provider from `opts`."""

    def __init__(self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("isf:serving:Serving", name, None, opts)
        self.istio = Istio(f"{name}-istio", args.istio, pulumi.ResourceOptions(parent=self))
        # Knative's shared Gateway must point at the gateway Service of the Istio installed just above.
        knative = args.knative.model_copy(update={"istio_namespace": args.istio.namespace})
        self.knative = KnativeServing(
            f"{name}-knative", knative, pulumi.ResourceOptions(parent=self, depends_on=[self.istio])
        )
        self.cert_manager = CertManager(f"{name}-cert-manager", args.cert_manager, pulumi.ResourceOptions(parent=self))
        self.register_outputs(
            {
                "istio_namespace": args.istio.namespace,
                "knative_namespace": args.knative.namespace,
                "issuer": self.cert_manager.issuer_name,
            }
        )
