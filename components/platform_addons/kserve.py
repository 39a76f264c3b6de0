"""KServe v0.20.0 (charts kserve-crd and kserve-resources, oci://ghcr.io/kserve/charts): InferenceServices on
the platform's Knative Serving and Istio, with webhook certificates from its cert-manager."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.helm import ChartRef, Values, helm_chart

KSERVE_VERSION = "v0.20.0"
KSERVE_CRD_CHART = ChartRef("kserve-crd", KSERVE_VERSION, "oci://ghcr.io/kserve/charts")
KSERVE_CHART = ChartRef("kserve-resources", KSERVE_VERSION, "oci://ghcr.io/kserve/charts")
KSERVE_NAMESPACE = "kserve"


def kserve_values(domain: str | None) -> Values:
    controller: Values = {"deploymentMode": "Knative"}
    if domain:
        controller["gateway"] = {"domain": domain}
    return {"kserve": {"controller": controller}}


def kserve(
    name: str, domain: str | None, opts: pulumi.ResourceOptions, *, after: Sequence[pulumi.Resource]
) -> tuple[pulumi.Resource, pulumi.Resource]:
    """The CRDs, then the controller (after cert-manager and Knative Serving: `after`)."""
    crds = helm_chart(f"{name}-crd", KSERVE_CRD_CHART, release="kserve-crd", namespace=KSERVE_NAMESPACE, values={},
                      opts=opts)
    controller = helm_chart(
        name, KSERVE_CHART, release="kserve", namespace=KSERVE_NAMESPACE, values=kserve_values(domain),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[crds, *after])),
    )
    return crds, controller
