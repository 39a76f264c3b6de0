"""Specification of the existing-cluster component: a provider from a kubeconfig and context."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.cluster.existing import ExistingCluster, ExistingClusterArgs, KubeconfigError, load_kubeconfig
from infra.mocks import is_secret, run_program

KUBECONFIG = yaml.safe_dump(
    {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "lab", "cluster": {"server": "https://lab.example:6443"}}],
        "users": [{"name": "lab", "user": {"token": "t"}}],
        "contexts": [
            {"name": "lab", "context": {"cluster": "lab", "user": "lab"}},
            {"name": "lab-admin", "context": {"cluster": "lab", "user": "lab"}},
        ],
        "current-context": "lab",
    }
)


def test_a_kubeconfig_file_and_context_become_the_provider_with_the_kubeconfig_secret(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    records = run_program(
        lambda: ExistingCluster("lab", ExistingClusterArgs(kubeconfig=str(path), context="lab-admin"))
    )
    provider = records.one("pulumi:providers:kubernetes").inputs
    assert provider["context"] == "lab-admin"
    assert is_secret(provider["kubeconfig"])


def test_kubeconfig_contents_are_accepted_as_well_as_a_path() -> None:
    assert load_kubeconfig(ExistingClusterArgs(kubeconfig=KUBECONFIG)) == KUBECONFIG


def test_without_a_kubeconfig_the_kubeconfig_variable_is_used(tmp_path: Path) -> None:
    path = tmp_path / "from-env"
    path.write_text(KUBECONFIG)
    assert load_kubeconfig(ExistingClusterArgs(), environ={"KUBECONFIG": str(path)}) == KUBECONFIG


def test_a_missing_kubeconfig_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match=f"kubeconfig file {tmp_path / 'nope'} does not exist"):
        load_kubeconfig(ExistingClusterArgs(kubeconfig=str(tmp_path / "nope")))


def test_an_unknown_context_is_named_with_the_ones_available() -> None:
    with pytest.raises(KubeconfigError, match="context 'prod' is not in .*'lab', 'lab-admin'"):
        load_kubeconfig(ExistingClusterArgs(kubeconfig=KUBECONFIG, context="prod"))


def test_the_component_reports_a_bad_kubeconfig_as_an_input_property_error_naming_the_key(tmp_path: Path) -> None:
    from pulumi.errors import InputPropertiesError

    from infra.mocks import run_program

    args = ExistingClusterArgs(kubeconfig=str(tmp_path / "nope"))
    with pytest.raises(InputPropertiesError, match="does not exist") as raised:
        run_program(lambda: ExistingCluster("lab", args))
    assert [e["property_path"] for e in raised.value.errors or []] == ["kubeconfig"]
