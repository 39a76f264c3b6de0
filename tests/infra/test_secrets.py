"""No secret in plain text: not in the repository's files, not in any render of any stack."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.render import render_stack
from infra.urns import VARIANTS, variant_overrides
from tests.infra.conftest import PROJECT_DIR

WEBHOOK = "https://hooks.slack.com/services/T0SECRET/B0SECRET/xoxb-webhook-never-printed"
SMTP_PASSWORD = "smtp-password-never-printed"
GRAFANA_PASSWORD = "grafana-password-never-printed"
SECRET_OVERRIDES = [
    f"runtime.alerts.channels=[{{type: slack, webhook: '{WEBHOOK}'}}]",
    (
        "monitoring.smtp={smarthost: 'smtp.example.com:587', from_address: 'alerts@example.com', username: alerts, "
        f"password: {SMTP_PASSWORD}}}"
    ),
    f"monitoring.grafana_admin_password={GRAFANA_PASSWORD}",
]
# Shapes of real credentials; the repository must hold none (placeholders and test values do not match).
CREDENTIAL_SHAPES = {
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "Slack webhook": re.compile(r"hooks\.slack\.com/services/T[A-Z0-9]{8,}/B[A-Z0-9]{8,}/[A-Za-z0-9]{20,}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
}


@pytest.mark.parametrize("label", list(VARIANTS))
def test_secret_inputs_never_appear_in_a_render(label: str, tmp_path: Path) -> None:
    with variant_overrides() as filled:
        stack, overrides = filled[label]
        rendered = render_stack(stack, project_dir=PROJECT_DIR, overrides=[*overrides, *SECRET_OVERRIDES])
    text = "\n".join([
        json.dumps(rendered.inventory, sort_keys=True),
        *(yaml.safe_dump(m) for m in rendered.manifests),
        *(json.dumps(chart.values, sort_keys=True) for chart in rendered.charts),
    ])
    leaked = [s for s in (WEBHOOK, SMTP_PASSWORD, GRAFANA_PASSWORD) if s in text]
    assert leaked == [], f"{label}: secret values in the render"
    # ...but the secrets were used: the Alertmanager config asks for them (redacted).
    assert "[secret]" in text


def test_the_repository_holds_no_credentials() -> None:
    files = subprocess.run(["git", "-C", str(PROJECT_DIR), "ls-files"], check=True, capture_output=True, text=True)
    found = []
    for name in files.stdout.splitlines():
        path = PROJECT_DIR / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        found += [f"{name}: {kind}" for kind, shape in CREDENTIAL_SHAPES.items() if shape.search(text)]
    assert found == []


@pytest.mark.parametrize("stack_file", sorted(PROJECT_DIR.glob("Pulumi.*.yaml")), ids=lambda p: p.name)
def test_stack_files_hold_secrets_only_encrypted(stack_file: Path) -> None:
    def plain_secrets(node: object, path: str) -> list[str]:
        if isinstance(node, dict):
            if set(node) == {"secure"}:
                return []
            return [hit for k, v in node.items() for hit in plain_secrets(v, f"{path}.{k}")]
        if isinstance(node, list):
            return [hit for i, v in enumerate(node) for hit in plain_secrets(v, f"{path}[{i}]")]
        secret_word = re.search(r"password|webhook|token|secret", path.rsplit(".", 1)[-1], re.IGNORECASE)
        return [path] if secret_word and node not in (None, "") else []

    document = yaml.safe_load(stack_file.read_text()) or {}
    assert plain_secrets(document.get("config") or {}, "config") == []
