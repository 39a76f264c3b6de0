"""Monitoring layer: kube-prometheus-stack, the guide's dashboards and alerts, Jaeger v2 tracing."""

from components.observability.alertmanager import SmtpSettings
from components.observability.alerts import AlertThresholds
from components.observability.prometheus_stack import MonitoringArgs
from components.observability.stack import Monitoring
from components.observability.tracing import TracingArgs

__all__ = ["AlertThresholds", "Monitoring", "MonitoringArgs", "SmtpSettings", "TracingArgs"]
