"""The Gateway API's standard-channel CRDs (kubernetes-sigs/gateway-api v1.6.1); Istio implements them.

istiod serves `Gateway`s of class `istio` and deploys a proxy per Gateway (Istio's "automated deployment"),
so HTTPS exposure uses Gateway + HTTPRoute instead of an Ingress. ingress-nginx, which the continual-transformer
guide uses, is retired; the Gateway API is its successor in Kubernetes and what Istio 1.30 recommends.
The CRDs ship as one release asset (not a chart); `ConfigFile` applies it.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

GATEWAY_API_VERSION = "v1.6.1"
STANDARD_INSTALL = (
    f"https://github.com/kubernetes-sigs/gateway-api/releases/download/{GATEWAY_API_VERSION}/standard-install.yaml"
)


def gateway_api_crds(name: str, opts: pulumi.ResourceOptions) -> k8s.yaml.v2.ConfigFile:
    """The standard-channel CRDs (GatewayClass, Gateway, HTTPRoute, GRPCRoute, ReferenceGrant, …)."""
    return k8s.yaml.v2.ConfigFile(name, file=STANDARD_INSTALL, opts=opts)
