"""Serving layer: Istio, Knative Serving (operator) and cert-manager, from pinned Helm charts."""

from components.serving.cert_manager import CertManager, CertManagerArgs, IssuerKind
from components.serving.istio import Istio, IstioArgs, ServiceType
from components.serving.knative import AutoscalerConfig, KnativeArgs, KnativeServing
from components.serving.stack import Serving, ServingArgs

__all__ = [
    "AutoscalerConfig",
    "CertManager",
    "CertManagerArgs",
    "IssuerKind",
    "Istio",
    "IstioArgs",
    "KnativeArgs",
    "KnativeServing",
    "ServiceType",
    "Serving",
    "ServingArgs",
]
