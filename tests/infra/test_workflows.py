"""The GitHub Actions workflows: valid YAML, actions pinned by commit, the jobs CI needs, secrets documented."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.infra.conftest import PROJECT_DIR

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"
DOC = PROJECT_DIR / "docs" / "ci.md"
_PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _load(name: str) -> dict[str, Any]:
    # PyYAML reads the key `on` as True (YAML 1.1); map it back.
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in document:
        document["on"] = document.pop(True)
    return document


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


ALL = sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def test_the_workflows_ci_needs_exist() -> None:
    assert set(ALL) >= {"ci.yml", "preview.yml", "deploy.yml", "drift.yml"}


@pytest.mark.parametrize("name", ALL)
def test_every_action_is_pinned_by_full_commit_sha(name: str) -> None:
    uses = [step["uses"] for step in _steps(_load(name)) if "uses" in step]
    assert uses and [u for u in uses if not _PINNED.match(u)] == []


@pytest.mark.parametrize("name", ALL)
def test_every_secret_a_workflow_reads_is_documented(name: str) -> None:
    secrets = set(re.findall(r"secrets\.([A-Za-z0-9_]+)", (WORKFLOWS / name).read_text()))
    documented = set(re.findall(r"`([A-Z0-9_]+)`", DOC.read_text()))
    assert secrets - documented == set()


def test_ci_runs_make_test_with_postgres_and_redis_on_every_pull_request() -> None:
    ci = _load("ci.yml")
    assert "pull_request" in ci["on"]
    job = ci["jobs"]["test"]
    assert set(job["services"]) == {"postgres", "redis"}
    assert {"DATABASE_URL", "REDIS_URL"} <= set(job["env"])
    assert any(step.get("run") == "make test" for step in job["steps"])


def _pulumi_steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return [s for s in workflow["jobs"][job]["steps"] if s.get("uses", "").startswith("pulumi/actions@")]


def test_pull_requests_get_isf_diff_and_pulumi_preview_comments() -> None:
    preview = _load("preview.yml")
    assert "pull_request" in preview["on"]
    diff_job = preview["jobs"]["isf-diff"]
    assert any("isf diff" in step.get("run", "") for step in diff_job["steps"])
    assert any(step.get("uses", "").startswith("marocchino/sticky-pull-request-comment@") for step in diff_job["steps"])
    (step,) = _pulumi_steps(preview, "pulumi-preview")
    assert step["with"]["command"] == "preview" and step["with"]["comment-on-pr"] is True
    assert set(preview["jobs"]["pulumi-preview"]["strategy"]["matrix"]["stack"]) == {"staging", "production"}


def test_main_deploys_staging_then_production_behind_an_environment_approval() -> None:
    deploy = _load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    production = deploy["jobs"]["production"]
    assert production["environment"] == "production" and production["needs"] == "staging"
    assert [s["with"]["stack-name"] for s in _pulumi_steps(deploy, "staging")] == ["staging"]
    assert [(s["with"]["command"], s["with"]["stack-name"]) for s in _pulumi_steps(deploy, "production")] == [
        ("up", "production")
    ]


def test_drift_is_a_scheduled_refresh_preview_that_expects_no_changes() -> None:
    drift = _load("drift.yml")
    assert drift["on"]["schedule"]
    (step,) = _pulumi_steps(drift, "drift")
    assert step["with"]["refresh"] is True and step["with"]["expect-no-changes"] is True
