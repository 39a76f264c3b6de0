"""Monitoring: chart values, the guide's dashboards and alerts over the runtime's metric names, secrets kept out."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import SecretStr

from components.observability import AlertThresholds, Monitoring, MonitoringArgs, SmtpSettings
from components.observability.alertmanager import SECRET_NAME, alertmanager_config
from components.observability.alerts import alert_rules, prometheus_rule
from components.observability.dashboards import DASHBOARDS, dashboard_config_maps
from components.observability.metrics import series_names
from components.observability.prometheus_stack import prometheus_stack_values
from components.observability.tracing import TracingArgs, jaeger_spec
from components.workloads import workload_manifests
from infra.mocks import is_secret
from runtime.settings import AlertChannel, AlertChannelType, AlertSettings

WEBHOOK = "https://hooks.slack.com/services/T000/B000/very-secret"
CHANNELS = AlertSettings(channels=[
    AlertChannel(type=AlertChannelType.SLACK, webhook=SecretStr(WEBHOOK)),
    AlertChannel(type=AlertChannelType.EMAIL, addresses=["ops@example.com", "oncall@example.com"]),
])
SMTP = SmtpSettings(smarthost="smtp.example.com:587", from_address="isf@example.com", username="isf",
                    password=SecretStr("smtp-secret"))
ISF_SERIES = re.compile(r"\bisf_[a-z_]+\b")
# Series the platform scrapes from Kubernetes itself (kubelet/cAdvisor, kube-state-metrics, Prometheus).
EXTERNAL_SERIES = {"up", "ALERTS", "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
                   "kube_pod_container_status_restarts_total"}


def all_queries() -> list[str]:
    return [expr for d in DASHBOARDS for p in d.panels for expr, _ in p.queries]


def test_the_guides_six_dashboards_exist() -> None:
    assert {d.title for d in DASHBOARDS} == {"Cold Start Analytics", "Prediction Accuracy", "Placement Optimization",
                                            "Cost Analysis", "Resource Utilization", "System Health"}


def test_dashboards_only_query_metrics_the_runtime_exports() -> None:
    used = {name for expr in all_queries() for name in ISF_SERIES.findall(expr)}
    assert used and used <= series_names(), f"unknown series: {used - series_names()}"
    for expr in all_queries():
        if not ISF_SERIES.search(expr):
            assert any(name in expr for name in EXTERNAL_SERIES), expr


def test_dashboard_config_maps_are_valid_and_labelled_for_the_sidecar(validate_manifests: Any) -> None:
    maps = dashboard_config_maps("monitoring")
    assert validate_manifests(maps) == 6
    for config_map in maps:
        assert config_map["metadata"]["labels"] == {"grafana_dashboard": "1"}
        (body,) = config_map["data"].values()
        model = json.loads(body)
        assert len(model["panels"]) >= 4 and all(panel["targets"] for panel in model["panels"])


def test_alerts_cover_the_guides_symptoms_with_its_thresholds() -> None:
    rules = {r["alert"]: r["expr"] for r in alert_rules(AlertThresholds(daily_budget_usd=250), "isf-system")}
    assert set(rules) == {"IsfHighColdStartRate", "IsfPoorPredictionAccuracy", "IsfHighP99Latency",
                          "IsfModelPerformanceDegradation", "IsfServiceDown", "IsfCostOverBudget"}
    assert rules["IsfHighColdStartRate"].endswith("> 0.2")
    assert rules["IsfPoorPredictionAccuracy"].endswith("> 0.2")
    assert rules["IsfHighP99Latency"].endswith("> 0.2")
    assert rules["IsfCostOverBudget"].endswith("> 250")
    assert 'namespace="isf-system"' in rules["IsfServiceDown"]
    used = {name for expr in rules.values() for name in ISF_SERIES.findall(expr)}
    assert used <= series_names()


def test_cost_alert_is_only_created_with_a_budget() -> None:
    assert "IsfCostOverBudget" not in {r["alert"] for r in alert_rules(AlertThresholds(), "isf-system")}


def test_prometheus_rule_envelope_is_valid(validate_manifest: Any) -> None:
    validate_manifest(prometheus_rule(AlertThresholds(), "monitoring", "isf-system"))


def test_alertmanager_routes_to_slack_and_email_reading_secrets_from_files() -> None:
    config = alertmanager_config(CHANNELS, SMTP)
    (receiver,) = [r for r in config["receivers"] if r["name"] == "isf"]
    assert config["route"]["receiver"] == "isf"
    assert receiver["slack_configs"][0]["api_url_file"].startswith(f"/etc/alertmanager/secrets/{SECRET_NAME}/")
    assert receiver["email_configs"] == [{"to": "ops@example.com, oncall@example.com", "send_resolved": True}]
    assert config["global"]["smtp_auth_password_file"].endswith("/smtp-password")
    assert WEBHOOK not in json.dumps(config) and "smtp-secret" not in json.dumps(config)


def test_disabled_alerts_route_everything_to_null() -> None:
    settings = AlertSettings(enabled=False, channels=CHANNELS.channels)
    assert alertmanager_config(settings, SMTP)["route"]["receiver"] == "null"


def test_email_channel_without_smtp_is_rejected() -> None:
    with pytest.raises(ValueError, match="email channel but monitoring.smtp is not set"):
        alertmanager_config(CHANNELS, None)


def test_chart_values_select_our_monitors_and_keep_passwords_in_secrets() -> None:
    values = prometheus_stack_values(MonitoringArgs(retention="30d", alerts=CHANNELS, smtp=SMTP))
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "30d"
    for key in ("serviceMonitorSelectorNilUsesHelmValues", "ruleSelectorNilUsesHelmValues"):
        assert spec[key] is False
    assert values["grafana"]["admin"]["existingSecret"] == "isf-grafana-admin"
    assert values["grafana"]["sidecar"]["dashboards"]["enabled"] is True
    assert values["alertmanager"]["alertmanagerSpec"]["secrets"] == [SECRET_NAME]
    assert "adminPassword" not in values["grafana"]


def test_chart_values_override_is_merged_last() -> None:
    values = prometheus_stack_values(MonitoringArgs(values={"prometheus": {"prometheusSpec": {"retention": "2d"}}}))
    assert values["prometheus"]["prometheusSpec"]["retention"] == "2d"
    assert values["prometheus"]["prometheusSpec"]["ruleSelectorNilUsesHelmValues"] is False


def test_jaeger_is_a_hardened_valid_workload_reachable_from_every_namespace(validate_manifests: Any) -> None:
    manifests = workload_manifests(jaeger_spec(TracingArgs()), "monitoring")
    validate_manifests(manifests)
    policy = next(m for m in manifests if m["kind"] == "NetworkPolicy")
    assert {"namespaceSelector": {}} in policy["spec"]["ingress"][0]["from"]


def test_monitoring_component_stores_secrets_as_pulumi_secrets(run_pulumi: Any) -> None:
    args = MonitoringArgs(alerts=CHANNELS, smtp=SMTP, grafana_admin_password=SecretStr("grafana-pw"))
    records = run_pulumi(lambda: Monitoring("monitoring", args))
    chart = records.one("kubernetes:helm.sh/v4:Chart")
    assert chart.plain_inputs["version"] and WEBHOOK not in json.dumps(chart.inputs)
    channels = records.one("kubernetes:core/v1:Secret", "monitoring-alert-channels")
    assert is_secret(channels.inputs["stringData"])
    assert channels.plain_inputs["stringData"]["slack-webhook-0"] == WEBHOOK
    grafana = records.one("kubernetes:core/v1:Secret", "monitoring-grafana-admin").plain_inputs
    assert grafana["stringData"]["admin-password"] == "grafana-pw"
    assert len(records.of_type("kubernetes:core/v1:ConfigMap")) == 6
    assert records.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    assert records.one("kubernetes:apps/v1:Deployment").plain_inputs["metadata"]["name"] == "jaeger"


def test_grafana_password_is_generated_when_not_given(run_pulumi: Any) -> None:
    records = run_pulumi(lambda: Monitoring("monitoring", MonitoringArgs(tracing=TracingArgs(enabled=False))))
    assert records.one("random:index/randomPassword:RandomPassword")
    assert not records.of_type("kubernetes:apps/v1:Deployment")
