"""A service's settings are one object, built once from the environment the control plane sets."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from runtime.api.config import ServiceSettings
from runtime.cli import app
from runtime.contract import ServiceRole, environment
from runtime.contract.kubernetes import PLATFORM_NAMESPACE
from runtime.settings import RuntimeSettings

CONTRACT_NAMES = {value for name, value in vars(environment).items() if name.isupper()}


def test_every_setting_but_the_runtime_knobs_is_read_from_a_variable_the_contract_names() -> None:
    bound = {name: field.validation_alias for name, field in ServiceSettings.model_fields.items()}
    assert bound.pop("runtime") is None  # from the file $ISF_SETTINGS_FILE names
    assert {name: alias for name, alias in bound.items() if alias not in CONTRACT_NAMES} == {}


def test_the_environment_the_control_plane_sets_configures_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    knobs = tmp_path / "settings.yaml"
    knobs.write_text("warming: {interval: 7}\n")
    for name, value in {
        environment.SERVICE: "warming", environment.HTTP_PORT: "9090", environment.NAMESPACE: "isf-system",
        environment.POD_NAME: "warming-1", environment.REDIS_CLUSTER: "true", environment.SETTINGS_FILE: str(knobs),
        environment.DATABASE_URL: "sqlite:///x.sqlite3", environment.PROMETHEUS_URL: "http://prometheus:9090",
    }.items():
        monkeypatch.setenv(name, value)

    settings = ServiceSettings()

    assert settings.service is ServiceRole.WARMING and settings.http_port == 9090
    assert (settings.namespace, settings.pod_name, settings.redis_cluster) == ("isf-system", "warming-1", True)
    assert settings.database_url == "sqlite:///x.sqlite3" and settings.prometheus_url == "http://prometheus:9090"
    assert settings.runtime.warming.interval == 7
    assert settings.service_name(ServiceRole.WARMING) == "warming"


def test_without_an_environment_the_defaults_serve_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONTRACT_NAMES:
        monkeypatch.delenv(name, raising=False)
    settings = ServiceSettings()
    assert (settings.service, settings.http_port, settings.namespace) == (None, 8080, PLATFORM_NAMESPACE)
    assert settings.settings_file is None and settings.runtime == RuntimeSettings()


def test_serve_refuses_a_role_other_than_the_one_isf_service_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(environment.SERVICE, "api")
    result = CliRunner().invoke(app, ["serve", "warming"])
    assert result.exit_code == 2
    assert "ISF_SERVICE='api' but this process serves 'warming'" in result.output


def test_serve_reports_a_bad_variable_as_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(environment.HTTP_PORT, "not-a-port")
    result = CliRunner().invoke(app, ["serve", "api"])
    assert result.exit_code == 2
    assert "ISF_HTTP_PORT" in result.output
