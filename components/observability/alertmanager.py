"""Alertmanager routing to the Slack and email channels of `runtime.settings.AlertSettings`.

Webhooks and the SMTP password never enter Helm values: they go into a Secret that Alertmanager
mounts (`alertmanagerSpec.secrets`), and the config points at the files (`api_url_file`,
`smtp_auth_password_file`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from runtime.settings import AlertChannelType, AlertSettings

SECRET_NAME = "isf-alertmanager-channels"
SECRETS_DIR = f"/etc/alertmanager/secrets/{SECRET_NAME}"
RECEIVER = "isf"
SMTP_PASSWORD_KEY = "smtp-password"


class SmtpSettings(BaseModel):
    """Outgoing mail for email channels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    smarthost: str
    from_address: str
    username: str | None = None
    password: SecretStr | None = None
    require_tls: bool = True


def slack_key(index: int) -> str:
    return f"slack-webhook-{index}"


def _needs_email(alerts: AlertSettings) -> bool:
    return any(channel.type is AlertChannelType.EMAIL for channel in alerts.channels)


def check_channels(alerts: AlertSettings, smtp: SmtpSettings | None) -> None:
    """Fail early when an email channel has no SMTP server to send through."""
    if alerts.enabled and _needs_email(alerts) and smtp is None:
        raise ValueError("alerts.channels has an email channel but monitoring.smtp is not set")


def secret_data(alerts: AlertSettings, smtp: SmtpSettings | None) -> dict[str, str]:
    """The Secret's plain values (the component wraps them as Pulumi secrets)."""
    data = {
        slack_key(i): channel.webhook.get_secret_value()
        for i, channel in enumerate(alerts.channels)
        if channel.type is AlertChannelType.SLACK and channel.webhook is not None
    }
    if smtp is not None and smtp.password is not None:
        data[SMTP_PASSWORD_KEY] = smtp.password.get_secret_value()
    return data


def alertmanager_config(alerts: AlertSettings, smtp: SmtpSettings | None) -> dict[str, Any]:
    """The chart's `alertmanager.config`: every alert to the `isf` receiver, Watchdog to null."""
    check_channels(alerts, smtp)
    receiver: dict[str, Any] = {"name": RECEIVER}
    slack = [
        {"api_url_file": f"{SECRETS_DIR}/{slack_key(i)}", "send_resolved": True,
         "title": "{{ .CommonAnnotations.summary }}", "text": "{{ .CommonAnnotations.description }}"}
        for i, channel in enumerate(alerts.channels)
        if channel.type is AlertChannelType.SLACK
    ]
    email = [
        {"to": ", ".join(channel.addresses), "send_resolved": True}
        for channel in alerts.channels
        if channel.type is AlertChannelType.EMAIL
    ]
    if slack:
        receiver["slack_configs"] = slack
    if email:
        receiver["email_configs"] = email
    global_config: dict[str, Any] = {"resolve_timeout": "5m"}
    if smtp is not None and email:
        global_config |= {"smtp_smarthost": smtp.smarthost, "smtp_from": smtp.from_address,
                          "smtp_require_tls": smtp.require_tls}
        if smtp.username is not None:
            global_config["smtp_auth_username"] = smtp.username
        if smtp.password is not None:
            global_config["smtp_auth_password_file"] = f"{SECRETS_DIR}/{SMTP_PASSWORD_KEY}"
    default = RECEIVER if alerts.enabled and (slack or email) else "null"
    return {
        "global": global_config,
        "route": {
            "receiver": default,
            "group_by": ["alertname", "namespace"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [{"receiver": "null", "matchers": ['alertname = "Watchdog"']}],
        },
        "receivers": [{"name": "null"}, receiver],
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }
