"""checkov's Kubernetes checks on fresh renders of both stacks: 0 failed.

checkov pins versions that conflict with pulumi's, so it lives in its own virtualenv, `.venv-checkov`
(`make checkov`, which `make test` depends on). Without it the test is skipped, except in CI, where
skipping would hide a regression.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.render import write_rendered
from tests.infra.conftest import PROJECT_DIR, Render

CHECKOV = PROJECT_DIR / ".venv-checkov" / "bin" / "checkov"
# The release pins the runtime image by digest (`pulumi config set --path platform.image
# ghcr.io/...:<tag>@sha256:<digest>`, docs/security.md); any 64-hex digest exercises the same manifests.
PINNED_IMAGE = "ghcr.io/intelligent-serverless/isf:0.1.0@sha256:" + "0123456789abcdef" * 4
PINNED = (f"platform.image={PINNED_IMAGE}",)
# --- the application systems' images, pinned the same way by a release (issue 12, components/apps/) ---
_DIGEST = "@sha256:" + "0123456789abcdef" * 4
PINNED += tuple(f"apps.{path}={image}{_DIGEST}" for path, image in (
    ("llm_serving.coordinator_image", "docker.io/sllm/central-coordinator:1.0.0"),
    ("llm_serving.worker_image", "docker.io/sllm/worker:1.0.0"),
    ("continual_transformer.images.blue", "ghcr.io/continual-transformer/server:1.0.0"),
    ("continual_transformer.images.green", "ghcr.io/continual-transformer/server:1.0.0"),
    ("hsof.image", "ghcr.io/hsof/hsof:1.0.0"),
    ("ml_scheduler.scheduler_image", "registry.k8s.io/kube-scheduler:v1.33.4"),
    ("ml_scheduler.remediation_image", "ghcr.io/hydatis/aiops-remediation:1.0.0"),
))
# The ML scheduler is a kube-scheduler: it needs its token (CKV_K8S_38) and binds its pod IP (CKV_K8S_115).
APP_SKIPS = {("Deployment", "ml-scheduler"): ("CKV_K8S_38=", "CKV_K8S_115=")}


def _checkov_or_skip() -> Path:
    if CHECKOV.exists():
        return CHECKOV
    if os.environ.get("CI"):
        pytest.fail(f"{CHECKOV} is missing: CI must run checkov (`make checkov` creates it)")
    pytest.skip(f"{CHECKOV} is missing; `make checkov` creates it (checkov needs its own virtualenv)")


def _scan(render: Render, tmp_path: Path, stack: str, *overrides: str) -> dict[str, Any]:
    checkov = _checkov_or_skip()
    out = tmp_path / f"render-{stack}"
    write_rendered(render(stack, *overrides), out)
    result = subprocess.run(
        [str(checkov), "-d", str(out / "manifests"), "--framework", "kubernetes", "-o", "json", "--quiet"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def _failures(report: dict[str, Any]) -> list[str]:
    return sorted(f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in report["results"]["failed_checks"])


@pytest.mark.parametrize("stack", ["production", "staging"])
def test_checkov_reports_no_failed_kubernetes_check_on_a_release_render(
    render: Render, tmp_path: Path, stack: str
) -> None:
    report = _scan(render, tmp_path, stack, *PINNED)
    assert _failures(report) == []
    assert report["summary"]["passed"] > 300 and report["summary"]["parsing_errors"] == 0


def test_checkov_skips_only_the_token_check_and_only_on_the_controllers(render: Render, tmp_path: Path) -> None:
    report = _scan(render, tmp_path, "production", *PINNED)
    app_skips = sum(len(ids) for ids in APP_SKIPS.values())
    assert report["summary"]["skipped"] == 2 + app_skips  # --quiet leaves the skipped list out of the JSON: count them
    skips: dict[tuple[str, str], list[str]] = {}
    for m in render("production", *PINNED).manifests:
        for key, value in sorted(m["metadata"].get("annotations", {}).items()):
            if key.startswith("checkov.io/skip"):
                skips.setdefault((m["kind"], m["metadata"]["name"]), []).append(value)
    assert set(skips) == {("Deployment", "isf-warming"), ("Deployment", "isf-placement"), *APP_SKIPS}
    assert all(value.startswith("CKV_K8S_38=") for key, values in skips.items() if key not in APP_SKIPS
               for value in values)
    for key, prefixes in APP_SKIPS.items():
        assert sorted(v.split("=")[0] for v in skips[key]) == sorted(p.rstrip("=") for p in prefixes)


def test_a_tag_only_runtime_image_fails_nothing_but_the_digest_check(render: Render, tmp_path: Path) -> None:
    # The stack file names a tag (no release digest exists offline): the digest check is all that is left.
    report = _scan(render, tmp_path, "production")
    assert {failure.split(" ")[0] for failure in _failures(report)} == {"CKV_K8S_43"}
