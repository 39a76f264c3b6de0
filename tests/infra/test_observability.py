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
from components.observability.prometheus_stack import PROMETHEUS_STACK_CHART, prometheus_stack_values
from components.observability.tracing import (
    JAEGER_CHART,
    TracingArgs,
    jaeger_service_monitor,
    jaeger_values,
    otlp_service,
)
from infra.mocks import is_secret
from runtime.contract.knative_series import external_series_names
from runtime.contract.metrics import series_names
from runtime.settings import AlertChannel, AlertChannelType, AlertSettings
from tests.support.crd_schemas import crd_errors
from tests.support.helm_keys import (
    FREE_FORM,
    KeyTree,
    chart_defaults,
    unknown_chart_paths,
    unknown_value_paths,
)

WEBHOOK = "https://hooks.slack.com/services/T000/B000/very-secret"
CHANNELS = AlertSettings(channels=[
    AlertChannel(type=AlertChannelType.SLACK, webhook=SecretStr(WEBHOOK)),
    AlertChannel(type=AlertChannelType.EMAIL, addresses=["ops@example.com", "oncall@example.com"]),
])
SMTP = SmtpSettings(smarthost="smtp.example.com:587", from_address="isf@example.com", username="isf",
                    password=SecretStr("smtp-secret"))
ISF_SERIES = re.compile(r"\bisf_[a-z_]+\b")
# Series the platform scrapes from Kubernetes itself (kubelet/cAdvisor, kube-state-metrics, Prometheus).
# Knative 1.23, kube-state-metrics, cAdvisor, Prometheus (tests/infra/test_series_coverage.py checks every name).
EXTERNAL_SERIES = external_series_names()

# Alertmanager configuration file keys (prometheus.io/docs/alerting/latest/configuration; chart 88.5.3
# runs a newer Alertmanager, which has `api_url_file` and `smtp_auth_password_file`).
ALERTMANAGER_CONFIG_KEYS: KeyTree = {
    "global": {"resolve_timeout": None, "smtp_from": None, "smtp_smarthost": None, "smtp_hello": None,
               "smtp_auth_username": None, "smtp_auth_password": None, "smtp_auth_password_file": None,
               "smtp_auth_identity": None, "smtp_auth_secret": None, "smtp_require_tls": None,
               "slack_api_url": None, "slack_api_url_file": None, "http_config": FREE_FORM},
    "route": {"receiver": None, "group_by": None, "continue": None, "matchers": None, "group_wait": None,
              "group_interval": None, "repeat_interval": None, "mute_time_intervals": None,
              "active_time_intervals": None, "routes": None},
    "receivers": None, "inhibit_rules": None, "templates": None, "time_intervals": None,
}
RECEIVER_KEYS = {"name", "email_configs", "slack_configs", "webhook_configs", "pagerduty_configs"}
SLACK_CONFIG_KEYS = {"send_resolved", "api_url", "api_url_file", "channel", "username", "color", "title", "title_link",
                     "text", "pretext", "fallback", "icon_emoji", "icon_url", "http_config", "actions", "fields"}
EMAIL_CONFIG_KEYS = {"send_resolved", "to", "from", "smarthost", "hello", "auth_username", "auth_password",
                     "auth_password_file", "auth_secret", "auth_identity", "require_tls", "tls_config", "html",
                     "text", "headers"}
# monitoring.coreos.com/v1 PrometheusRule: spec.groups[] and their rules[] (prometheus-operator API reference).
RULE_GROUP_KEYS = {"name", "interval", "rules", "limit", "partial_response_strategy", "query_offset", "labels"}
RULE_KEYS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}


def all_queries() -> list[str]:
    return [expr for d in DASHBOARDS for p in d.panels for expr, _ in p.queries]


def test_the_guides_six_dashboards_exist() -> None:
    # ... and the eBPF monitor's, deployed only with it (tests/infra/test_ebpf_monitor.py)
    assert {d.title for d in DASHBOARDS} == {"Cold Start Analytics", "Prediction Accuracy", "Placement Optimization",
                                            "Cost Analysis", "Resource Utilization", "System Health",
                                            "Function Latency (eBPF)"}


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


def test_jaeger_is_the_v2_chart_hardened_pinned_to_its_tier_and_scraped() -> None:
    assert (JAEGER_CHART.repo, JAEGER_CHART.chart, JAEGER_CHART.version) == (
        "https://jaegertracing.github.io/helm-charts", "jaeger", "4.11.1")
    jaeger = jaeger_values(TracingArgs())["jaeger"]
    assert jaeger["podSecurityContext"]["runAsNonRoot"] is True
    assert jaeger["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert jaeger["securityContext"]["readOnlyRootFilesystem"] is True
    assert jaeger["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {"cpu", "memory"} <= set(jaeger["resources"]["limits"]) and jaeger["nodeSelector"] == {"tier": "cloud"}
    defaults = chart_defaults("jaeger", JAEGER_CHART.version)
    paths = unknown_chart_paths(jaeger_values(TracingArgs()), defaults, pass_through={"jaeger.podSecurityContext"})
    assert paths == ["jaeger.resources"]  # read by templates/jaeger/jaeger-deploy.yaml, commented in values.yaml
    monitor = jaeger_service_monitor("monitoring")
    assert crd_errors(monitor) == []
    assert otlp_service("monitoring") == "isf-jaeger.monitoring.svc.cluster.local"


def test_monitoring_component_stores_secrets_as_pulumi_secrets(run_pulumi: Any) -> None:
    args = MonitoringArgs(alerts=CHANNELS, smtp=SMTP, grafana_admin_password=SecretStr("grafana-pw"))
    records = run_pulumi(lambda: Monitoring("monitoring", args))
    chart = records.one("kubernetes:helm.sh/v4:Chart", "monitoring-prometheus-stack")
    assert chart.plain_inputs["version"] and WEBHOOK not in json.dumps(chart.inputs)
    channels = records.one("kubernetes:core/v1:Secret", "monitoring-alert-channels")
    assert is_secret(channels.inputs["stringData"])
    assert channels.plain_inputs["stringData"]["slack-webhook-0"] == WEBHOOK
    grafana = records.one("kubernetes:core/v1:Secret", "monitoring-grafana-admin").plain_inputs
    assert grafana["stringData"]["admin-password"] == "grafana-pw"
    assert len(records.of_type("kubernetes:core/v1:ConfigMap")) == 6
    assert records.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    jaeger = records.one("kubernetes:helm.sh/v4:Chart", "monitoring-jaeger")
    assert jaeger.plain_inputs["name"] == "isf-jaeger"
    chart_urn = records.one("kubernetes:helm.sh/v4:Chart", "monitoring-prometheus-stack").urn
    for monitor in (records.one("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "monitoring-jaeger-monitor"),
                    records.one("kubernetes:monitoring.coreos.com/v1:PodMonitor")):
        assert chart_urn in monitor.dependencies


def test_grafana_password_is_generated_when_not_given(run_pulumi: Any) -> None:
    records = run_pulumi(lambda: Monitoring("monitoring", MonitoringArgs(tracing=TracingArgs(enabled=False))))
    assert records.one("random:index/randomPassword:RandomPassword")
    assert [r.name for r in records.of_type("kubernetes:helm.sh/v4:Chart")] == ["monitoring-prometheus-stack"]


def test_prometheus_stack_is_pinned_to_the_verified_release() -> None:
    ref = PROMETHEUS_STACK_CHART
    assert (ref.repo, ref.chart, ref.version) == (
        "https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack", "88.5.3")


def test_chart_values_only_use_keys_of_the_pinned_chart() -> None:
    for args in (MonitoringArgs(), MonitoringArgs(alerts=CHANNELS, smtp=SMTP, tracing=TracingArgs(enabled=False))):
        defaults = chart_defaults("kube-prometheus-stack", PROMETHEUS_STACK_CHART.version)
        paths = unknown_chart_paths(prometheus_stack_values(args), defaults, pass_through={"alertmanager.config"})
        assert paths == []


def test_grafana_dashboards_use_the_uid_of_the_charts_prometheus_datasource() -> None:
    # kube-prometheus-stack provisions its Prometheus datasource with grafana.sidecar.datasources.uid=prometheus.
    model = json.loads(next(iter(dashboard_config_maps("monitoring")[0]["data"].values())))
    assert {panel["datasource"]["uid"] for panel in model["panels"]} == {"prometheus"}


def test_alertmanager_config_uses_only_alertmanager_config_keys() -> None:
    config = alertmanager_config(CHANNELS, SMTP)
    assert unknown_value_paths(config, ALERTMANAGER_CONFIG_KEYS) == []
    for receiver in config["receivers"]:
        assert set(receiver) <= RECEIVER_KEYS
        for slack in receiver.get("slack_configs", []):
            assert set(slack) <= SLACK_CONFIG_KEYS
        for email in receiver.get("email_configs", []):
            assert set(email) <= EMAIL_CONFIG_KEYS
    for route in config["route"]["routes"]:
        assert unknown_value_paths(route, ALERTMANAGER_CONFIG_KEYS["route"] or {}) == []


def test_prometheus_rule_groups_and_rules_use_only_prometheus_operator_fields() -> None:
    rule = prometheus_rule(AlertThresholds(daily_budget_usd=10), "monitoring", "isf-system")
    for group in rule["spec"]["groups"]:
        assert set(group) <= RULE_GROUP_KEYS
        for alert in group["rules"]:
            assert set(alert) <= RULE_KEYS and re.fullmatch(r"[0-9]+[smh]", alert["for"])
