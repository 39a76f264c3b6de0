"""`isf render` and the pieces under it: mock engine records, redaction, number normalisation, files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
import typer
from typer.testing import CliRunner

from infra import cli as render_command
from infra.mocks import SECRET_SIG, SECRET_VALUE, Records
from infra.render import REDACTED, Redactor, Rendered, normalise_numbers, render_stack, write_rendered
from tests.infra.conftest import PROJECT_DIR

Render = Callable[..., Rendered]


def _cli() -> typer.Typer:
    # A callback keeps `render` a subcommand even while it is the only command registered.
    app = typer.Typer()
    app.callback()(lambda: None)
    render_command.register(app)
    return app


class _Parent(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("isf:test:Parent", name, None, None)
        child = pulumi.ResourceOptions(parent=self)
        password = random.RandomPassword(f"{name}-password", length=16, opts=child)
        aws.eks.Cluster(f"{name}-eks", role_arn="arn:aws:iam::1:role/x", vpc_config={"subnet_ids": ["s"]}, opts=child)
        k8s.core.v1.Secret(f"{name}-secret", string_data={"password": password.result}, opts=child)
        self.zones = aws.get_availability_zones().names
        self.register_outputs({})


def test_the_mock_engine_records_type_name_parent_and_inputs(run_pulumi: Callable[..., Records]) -> None:
    records = run_pulumi(lambda: _Parent("p"))
    eks = records.one("aws:eks/cluster:Cluster")
    assert eks.parent_name == "p"
    assert eks.inputs["roleArn"] == "arn:aws:iam::1:role/x"
    assert eks.outputs["endpoint"].startswith("https://")
    assert eks.outputs["certificateAuthority"]["data"]
    assert records.one("isf:test:Parent").parent_name is None
    assert ("aws:index/getAvailabilityZones:getAvailabilityZones", {}) in records.calls


def test_secrets_reach_the_records_wrapped(run_pulumi: Callable[..., Records]) -> None:
    secret = run_pulumi(lambda: _Parent("p")).one("kubernetes:core/v1:Secret")
    assert secret.inputs["stringData"][SECRET_SIG] == SECRET_VALUE
    assert len(secret.plain_inputs["stringData"]["password"]) == 16


def test_runs_are_isolated_from_each_other(run_pulumi: Callable[..., Records]) -> None:
    assert len(run_pulumi(lambda: _Parent("a"))) == len(run_pulumi(lambda: _Parent("b"))) == 4


def test_integer_valued_floats_become_integers_and_fractions_stay() -> None:
    assert normalise_numbers({"a": [3.0, 0.5], "b": {"c": 2.0}, "d": "3.0"}) == {"a": [3, 0.5], "b": {"c": 2}, "d": "3.0"}


def test_redaction_hides_secrets_but_keeps_readable_structure_where_it_can() -> None:
    redactor = Redactor(["s3cr3t-value"])
    wrapped = {SECRET_SIG: SECRET_VALUE, "value": {"url": "redis://:s3cr3t-value@host", "port": 6379}}
    assert redactor.redact(wrapped) == {"url": f"redis://:{REDACTED}@host", "port": 6379}
    assert redactor.redact({SECRET_SIG: SECRET_VALUE, "value": {"unknown": "x"}}) == REDACTED
    assert redactor.redact({SECRET_SIG: SECRET_VALUE, "value": "plain"}) == REDACTED
    assert redactor.redact({"note": "uses s3cr3t-value"}) == {"note": f"uses {REDACTED}"}


def test_render_writes_manifests_and_a_sorted_inventory(render: Render, tmp_path: Path) -> None:
    rendered = render("staging")
    write_rendered(rendered, tmp_path)
    inventory = json.loads((tmp_path / "inventory.json").read_text())
    assert inventory == sorted(inventory, key=lambda item: (item["type"], item["name"]))
    assert all(set(item) == {"type", "name", "parent", "inputs"} for item in inventory)
    files = list((tmp_path / "manifests").rglob("*.yaml"))
    assert len(files) == len(rendered.manifests)
    assert (tmp_path / "manifests" / "_cluster" / "namespace-serverless-system.yaml").is_file()


def test_kubernetes_secret_data_is_always_redacted(render: Render) -> None:
    for secret in (m for m in render("production").manifests if m["kind"] == "Secret"):
        assert set(secret.get("stringData", {}).values()) | set(secret.get("data", {}).values()) <= {REDACTED}


def test_rendering_twice_gives_identical_files(render: Render, tmp_path: Path) -> None:
    write_rendered(render("staging"), tmp_path / "first")
    write_rendered(render_stack("staging", project_dir=PROJECT_DIR), tmp_path / "second")
    first = {p.relative_to(tmp_path / "first"): p.read_text() for p in (tmp_path / "first").rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path / "second"): p.read_text() for p in (tmp_path / "second").rglob("*") if p.is_file()}
    assert first == second


def test_isf_render_prints_a_summary_and_writes_the_output(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _cli(), ["render", "--stack", "staging", "--out", str(tmp_path), "--project-dir", str(PROJECT_DIR)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "aws:eks/cluster:Cluster" in result.output
    assert "kube-prometheus-stack" in result.output
    assert (tmp_path / "inventory.json").is_file()


def test_isf_render_with_bad_config_names_the_file_and_every_bad_key_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        _cli(),
        ["render", "--stack", "production", "--out", str(out), "--project-dir", str(PROJECT_DIR),
         "--set", "cloud=azure", "--set", "redis.shards=0", "--set", "monitoring.retention=forever"],
    )
    assert result.exit_code == 2
    for fragment in ("Pulumi.production.yaml", "cloud", "redis.shards", "monitoring.retention"):
        assert fragment in result.output
    assert not out.exists()


def test_set_cloud_gcp_moves_staging_onto_gke(render: Render) -> None:
    rendered = render("staging", "cloud=gcp", "region=us-central1", "gcp.project=isf-staging")
    types = {item["type"] for item in rendered.inventory}
    assert "gcp:container/cluster:Cluster" in types
    assert not any(t.startswith("aws:") for t in types)


def _kubeconfig(path: Path) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
        "clusters: [{name: lab, cluster: {server: 'https://lab.example:6443'}}]\n"
        "users: [{name: lab, user: {token: t}}]\n"
        "contexts: [{name: lab, context: {cluster: lab, user: lab}}]\n"
    )
    return path


def test_isf_render_targets_a_cluster_you_already_run_from_its_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig")
    result = CliRunner().invoke(
        _cli(),
        ["render", "--stack", "staging", "--out", str(tmp_path / "out"), "--project-dir", str(PROJECT_DIR),
         "--set", "cloud=existing", "--set", f"existing.kubeconfig={kubeconfig}"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "cloud=existing" in result.output and "isf:cluster:ExistingCluster" in result.output
    inventory = json.loads((tmp_path / "out" / "inventory.json").read_text())
    assert not any(item["type"].startswith(("aws:", "gcp:")) for item in inventory)
    assert (tmp_path / "out" / "manifests" / "serverless-system" / "cluster.postgresql.cnpg.io-isf-postgres-postgres.yaml").is_file()


def test_isf_render_names_a_missing_kubeconfig_and_writes_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _cli(),
        ["render", "--stack", "staging", "--out", str(tmp_path / "out"), "--project-dir", str(PROJECT_DIR),
         "--set", "cloud=existing", "--set", f"existing.kubeconfig={tmp_path / 'missing'}"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 2
    assert "existing.kubeconfig" in result.output and str(tmp_path / "missing") in result.output
    assert "Pulumi.staging.yaml" in result.output
    assert not (tmp_path / "out").exists()
