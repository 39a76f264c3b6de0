"""kube-prometheus-stack values: retention, selectors that find our monitors/rules, Grafana, Alertmanager."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from components.helm import ChartRef, Values, merged_values
from components.observability.alertmanager import SECRET_NAME, SmtpSettings, alertmanager_config
from components.observability.alerts import AlertThresholds
from components.observability.dashboards import DASHBOARD_LABEL, DASHBOARD_LABEL_VALUE
from components.observability.ebpf import EbpfMonitorArgs
from components.observability.tracing import TracingArgs, jaeger_query_url
from runtime.contract.kubernetes import PLATFORM_NAMESPACE
from runtime.settings import AlertSettings

PROMETHEUS_STACK_CHART = ChartRef(
    chart="kube-prometheus-stack", version="88.5.3", repo="https://prometheus-community.github.io/helm-charts"
)
GRAFANA_SECRET = "isf-grafana-admin"
GRAFANA_USER_KEY = "admin-user"
GRAFANA_PASSWORD_KEY = "admin-password"


class MonitoringArgs(BaseModel):
    """The monitoring stack of one environment; `values` merges over the curated chart values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: str = "monitoring"
    platform_namespace: str = Field(default=PLATFORM_NAMESPACE, description="where the control plane runs")
    retention: Annotated[str, Field(pattern=r"^[0-9]+(h|d|w|y)$")] = "15d"
    storage_size: Annotated[str, Field(pattern=r"^[0-9]+(Mi|Gi|Ti)$")] = "50Gi"
    prometheus_replicas: Annotated[int, Field(ge=1, le=5)] = 1
    alertmanager_replicas: Annotated[int, Field(ge=1, le=5)] = 1
    grafana_admin_password: SecretStr | None = Field(default=None, description="generated when unset")
    alerts: AlertSettings = AlertSettings()
    thresholds: AlertThresholds = AlertThresholds()
    smtp: SmtpSettings | None = None
    tracing: TracingArgs = TracingArgs()
    ebpf: EbpfMonitorArgs = EbpfMonitorArgs()
    values: dict[str, Any] = {}


RELEASE = "prometheus"


def prometheus_url(namespace: str) -> str:
    """The in-cluster query URL of the chart's Prometheus (its fullname truncates to 26 characters)."""
    fullname = f"{RELEASE}-kube-prometheus-stack"[:26].rstrip("-")
    return f"http://{fullname}-prometheus.{namespace}.svc:9090"


def prometheus_stack_values(args: MonitoringArgs) -> Values:
    """Final chart values; no secret appears in them (Grafana and Alertmanager read Secrets)."""
    data_sources: list[dict[str, Any]] = []
    if args.tracing.enabled:
        data_sources.append(
            {"name": "Jaeger", "uid": "jaeger", "type": "jaeger", "access": "proxy",
             "url": jaeger_query_url(args.namespace)}
        )
    defaults: Values = {
        "prometheus": {
            "prometheusSpec": {
                "retention": args.retention,
                "replicas": args.prometheus_replicas,
                # Select every ServiceMonitor/PodMonitor/PrometheusRule in every namespace, not only the
                # chart's own (which carry its release label): ours live in the platform namespace.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "storageSpec": {
                    "volumeClaimTemplate": {
                        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": args.storage_size}}}
                    }
                },
            }
        },
        "grafana": {
            "admin": {"existingSecret": GRAFANA_SECRET, "userKey": GRAFANA_USER_KEY, "passwordKey": GRAFANA_PASSWORD_KEY},
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL,
                    "labelValue": DASHBOARD_LABEL_VALUE,
                    "searchNamespace": "ALL",
                }
            },
            "additionalDataSources": data_sources,
        },
        "alertmanager": {
            "config": alertmanager_config(args.alerts, args.smtp),
            "alertmanagerSpec": {"secrets": [SECRET_NAME], "replicas": args.alertmanager_replicas},
        },
    }
    return merged_values(defaults, args.values)
