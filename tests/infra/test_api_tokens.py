"""The API tokens (components/platform/auth.py): generated per scope, in the Secret the runtime reads, mounted
where guarded routes are served, redacted in every render; and the mesh policies it deliberately does not add."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.platform import ControlPlaneArgs
from components.platform.auth import TOKEN_LENGTH, TOKEN_ROLES, TOKENS_VOLUME
from components.platform.control_plane import control_plane_specs
from components.workloads import workload_manifests
from components.workloads.manifests import SECRET_FILE_MODE
from runtime.api.auth import Authenticator
from runtime.contract import environment
from runtime.contract.auth import API_TOKENS_MOUNT, API_TOKENS_SECRET, INGEST_TOKEN_SECRET, TOKEN_KEYS, Scope
from runtime.contract.kubernetes import PLATFORM_NAMESPACE
from runtime.contract.roles import ServiceRole
from tests.infra.conftest import Render, render_variant

ISTIO_INJECTION = "istio-injection"
REDACTED = "[secret]"


def _deployments(args: ControlPlaneArgs) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for spec in control_plane_specs(args) for m in workload_manifests(spec, args.namespace)
            if m["kind"] == "Deployment"}


def test_guarded_services_mount_the_tokens_secret_and_point_the_runtime_at_it() -> None:
    deployments = _deployments(ControlPlaneArgs())
    assert TOKEN_ROLES == {ServiceRole.API, ServiceRole.PREDICTOR}
    for role in ServiceRole:
        pod = deployments[f"isf-{role.value}"]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        if role not in TOKEN_ROLES:
            assert environment.API_TOKENS_DIR not in env and TOKENS_VOLUME not in volumes
            continue
        assert env[environment.API_TOKENS_DIR] == API_TOKENS_MOUNT
        assert volumes[TOKENS_VOLUME]["secret"] == {"secretName": API_TOKENS_SECRET, "defaultMode": SECRET_FILE_MODE}
        assert SECRET_FILE_MODE == 0o440
        assert mounts[TOKENS_VOLUME] == {"name": TOKENS_VOLUME, "mountPath": API_TOKENS_MOUNT, "readOnly": True}


def test_the_mounted_file_names_are_what_the_runtime_loader_accepts(tmp_path: Path) -> None:
    for key in TOKEN_KEYS:  # the Secret's keys are the files' names
        (tmp_path / key).write_text("x" * TOKEN_LENGTH + "\n")
    (tmp_path / "..data").mkdir()  # a mounted Secret's atomic-update entries are skipped
    authenticator = Authenticator.from_folder(tmp_path)
    assert {token.id: token.scopes for token in authenticator.tokens} == {
        scope.value: frozenset({scope}) for scope in Scope
    }


@pytest.mark.parametrize("label", ["staging-existing", "production-gcp"])
def test_each_scope_gets_a_random_token_and_the_secret_is_redacted(label: str, render: Render,
                                                                  lab_kubeconfig: Path) -> None:
    rendered = render_variant(render, label, lab_kubeconfig)
    secrets = {m["metadata"]["name"]: m for m in rendered.manifests
               if m["kind"] == "Secret" and m["metadata"].get("namespace") == PLATFORM_NAMESPACE}
    assert secrets[API_TOKENS_SECRET]["stringData"] == dict.fromkeys(TOKEN_KEYS, REDACTED)
    assert set(secrets[INGEST_TOKEN_SECRET]["stringData"].values()) == {REDACTED}
    assert rendered.records is not None
    passwords = {r.name: r.plain_inputs for r in rendered.records.of_type("random:index/randomPassword:RandomPassword")
                 if "api-token" in r.name}
    assert len(passwords) == len(TOKEN_KEYS)
    for inputs in passwords.values():
        assert inputs["length"] >= 40 and inputs["special"] is False


def test_no_mesh_policy_where_no_sidecar_would_enforce_it(render: Render, lab_kubeconfig: Path) -> None:
    """STRICT mTLS / an AuthorizationPolicy need the server's sidecar: the platform namespace has none (docs/security.md)."""
    rendered = render_variant(render, "staging-existing", lab_kubeconfig)
    namespaces = {m["metadata"]["name"]: m["metadata"].get("labels") or {} for m in rendered.manifests
                  if m["kind"] == "Namespace"}
    assert namespaces[PLATFORM_NAMESPACE].get(ISTIO_INJECTION) != "enabled"
    policies = [m for m in rendered.manifests if m["apiVersion"].startswith("security.istio.io/")
                and m["metadata"].get("namespace") == PLATFORM_NAMESPACE]
    assert policies == [], "the platform namespace became injected: add and CRD-validate the policies"
