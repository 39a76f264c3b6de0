"""The monitoring layer: kube-prometheus-stack, our dashboards and alerts, Jaeger v2 tracing, the eBPF monitor."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.helm import helm_chart, namespace_manifest
from components.observability.alertmanager import SECRET_NAME, check_channels, secret_data
from components.observability.alerts import prometheus_rule
from components.observability.dashboards import dashboard_config_maps
from components.observability.ebpf import (
    BEYLA_CHART,
    BEYLA_RELEASE,
    beyla_values,
    ebpf_namespace,
    ebpf_pod_monitor,
)
from components.observability.knative_monitors import knative_monitors
from components.observability.prometheus_stack import (
    GRAFANA_PASSWORD_KEY,
    GRAFANA_SECRET,
    GRAFANA_USER_KEY,
    PROMETHEUS_STACK_CHART,
    RELEASE,
    MonitoringArgs,
    prometheus_stack_values,
)
from components.observability.tracing import JAEGER_CHART, JAEGER_NAME, jaeger_service_monitor, jaeger_values
from components.workloads.registration import register_manifest, register_manifests


def _secret(name: str, namespace: str, string_data: dict[str, pulumi.Input[str]]) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": string_data,
    }


class Monitoring(pulumi.ComponentResource):
    """Namespace, Secrets, the chart, then dashboards, rules and tracing (which need its CRDs)."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("isf:observability:Monitoring", name, None, opts)
        check_channels(args.alerts, args.smtp)
        ns = args.namespace
        namespace = register_manifest(f"{name}-namespace", namespace_manifest(ns), pulumi.ResourceOptions(parent=self))
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        if args.grafana_admin_password is not None:
            password: pulumi.Input[str] = pulumi.Output.secret(args.grafana_admin_password.get_secret_value())
        else:
            password = random.RandomPassword(
                f"{name}-grafana-password", length=24, special=False, opts=pulumi.ResourceOptions(parent=self)
            ).result
        self.grafana_admin_password = pulumi.Output.secret(password)
        grafana_secret = register_manifest(
            f"{name}-grafana-admin",
            _secret(GRAFANA_SECRET, ns, {GRAFANA_USER_KEY: "admin", GRAFANA_PASSWORD_KEY: self.grafana_admin_password}),
            in_namespace,
        )
        channels = {key: pulumi.Output.secret(value) for key, value in secret_data(args.alerts, args.smtp).items()}
        channel_secret = register_manifest(f"{name}-alert-channels", _secret(SECRET_NAME, ns, dict(channels)), in_namespace)

        self.chart = helm_chart(
            f"{name}-prometheus-stack", PROMETHEUS_STACK_CHART, release=RELEASE, namespace=ns,
            values=prometheus_stack_values(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[grafana_secret, channel_secret]),
        )
        after_chart = pulumi.ResourceOptions(parent=self, depends_on=[self.chart])
        register_manifests(f"{name}-dashboard", dashboard_config_maps(ns, ebpf=args.ebpf.enabled), in_namespace)
        self.rules = register_manifest(
            f"{name}-rules", prometheus_rule(args.thresholds, ns, args.platform_namespace), after_chart
        )
        # Knative's queue-proxies, activator and autoscaler (the series of runtime/contract/knative_series.py).
        register_manifests(f"{name}-knative-monitor", knative_monitors(ns), after_chart)
        if args.tracing.enabled:
            self.tracing = helm_chart(
                f"{name}-jaeger", JAEGER_CHART, release=JAEGER_NAME, namespace=ns,
                values=jaeger_values(args.tracing), opts=in_namespace,
            )
            register_manifest(f"{name}-jaeger-monitor", jaeger_service_monitor(ns), after_chart)
        if args.ebpf.enabled:
            # Grafana Beyla: its own Pod Security `privileged` namespace (hostPID, eBPF capabilities; docs/security.md).
            ebpf_ns = register_manifest(f"{name}-ebpf-namespace", ebpf_namespace(args.ebpf),
                                        pulumi.ResourceOptions(parent=self))
            self.ebpf = helm_chart(
                f"{name}-ebpf", BEYLA_CHART, release=BEYLA_RELEASE, namespace=args.ebpf.namespace,
                values=beyla_values(args.ebpf), opts=pulumi.ResourceOptions(parent=self, depends_on=[ebpf_ns]),
            )
            register_manifest(f"{name}-ebpf-monitor", ebpf_pod_monitor(ns, args.ebpf), after_chart)
        self.register_outputs({
            "namespace": ns,
            "chart_version": PROMETHEUS_STACK_CHART.version,
            "grafana_admin_password": self.grafana_admin_password,
        })
