"""What the control plane relies on in the runtime: URLs read from mounted Secret files, functions looked up
only in the namespaces its Roles cover, and `isf migrate`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from runtime.api.config import ServiceSettings
from runtime.cli import app
from runtime.contract import environment
from runtime.services.kube import function_services
from tests.runtime.fake_kube import FakeKube

KSVC = "/apis/serving.knative.dev/v1/namespaces/{ns}/services/{name}"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (environment.DATABASE_URL, environment.REDIS_URL, environment.DATABASE_URL_FILE,
                 environment.REDIS_URL_FILE, environment.SETTINGS_FILE, environment.FUNCTION_NAMESPACES):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_database_and_redis_urls_are_read_from_their_files(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "db").write_text("postgresql+psycopg://isf:s3cret@db:5432/isf\n")
    (tmp_path / "redis").write_text("rediss://:pw@redis:6379/0")
    clean_env.setenv(environment.DATABASE_URL_FILE, str(tmp_path / "db"))
    clean_env.setenv(environment.REDIS_URL_FILE, str(tmp_path / "redis"))
    settings = ServiceSettings()
    assert settings.database_url == "postgresql+psycopg://isf:s3cret@db:5432/isf"
    assert settings.redis_url == "rediss://:pw@redis:6379/0"


def test_the_plain_variable_wins_over_its_file_and_no_file_keeps_the_defaults(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert ServiceSettings().redis_url is None
    (tmp_path / "db").write_text("sqlite:///from-file.db")
    clean_env.setenv(environment.DATABASE_URL_FILE, str(tmp_path / "db"))
    clean_env.setenv(environment.DATABASE_URL, "sqlite:///from-env.db")
    assert ServiceSettings().database_url == "sqlite:///from-env.db"


def test_functions_are_listed_per_namespace_when_the_namespaces_are_given(clean_env: pytest.MonkeyPatch) -> None:
    service = {"metadata": {"labels": {"isf.io/function": "f"}, "namespace": "functions", "name": "f"}}
    other = {"metadata": {"labels": {"isf.io/function": "g"}, "namespace": "elsewhere", "name": "g"}}
    clean_env.setenv(environment.FUNCTION_NAMESPACES, "functions")
    with FakeKube() as fake:
        fake.put(KSVC.format(ns="functions", name="f"), service)
        fake.put(KSVC.format(ns="elsewhere", name="g"), other)
        assert set(function_services(fake.api_client())) == {"f"}
        # A namespaced Role cannot list cluster-wide: every read went through a function namespace.
        assert all("/namespaces/functions/" in r.path for r in fake.requests)


def test_isf_migrate_brings_an_empty_database_to_head_and_is_idempotent(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "db").write_text(f"sqlite:///{tmp_path / 'isf.sqlite3'}")
    clean_env.setenv(environment.DATABASE_URL_FILE, str(tmp_path / "db"))
    first = CliRunner().invoke(app, ["migrate"])
    assert first.exit_code == 0, first.output
    assert "(was empty)" in first.output
    again = CliRunner().invoke(app, ["migrate"])
    assert again.exit_code == 0 and "(was empty)" not in again.output
