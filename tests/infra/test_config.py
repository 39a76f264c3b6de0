"""The stack config schema, the stack files, `--set` overrides and the loader reading Pulumi config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.composition import compose, plan, plan_stack
from infra.config import PROJECT, Cloud, StackConfig, StackConfigError
from infra.engine_config import apply_overrides, engine_config, placeholder_secret, read_stack_file
from infra.mocks import run_program
from runtime.contract import Tier

ROOT = Path(__file__).resolve().parents[2]


def _problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(StackConfigError) as caught:
        # Both the schema and what the components reject.
        plan(StackConfig.from_mapping(data, source="Pulumi.test.yaml"), source="Pulumi.test.yaml")
    assert "Pulumi.test.yaml" in str(caught.value)
    return dict(caught.value.problems)


def test_an_empty_config_is_a_complete_two_zone_aws_stack() -> None:
    config = StackConfig.from_mapping({}, source="x")
    assert (config.cloud, config.region, config.effective_zone_count) == (Cloud.AWS, "us-east-1", 2)
    assert [pool.tier for pool in config.tier_pools()] == list(Tier)
    assert config.gpu_pool() is not None


def test_gcp_defaults_to_a_gcp_region() -> None:
    config = StackConfig.from_mapping({"cloud": "gcp", "gcp": {"project": "p"}}, source="x")
    assert config.region == "europe-west1"


def test_high_availability_spans_three_zones() -> None:
    assert StackConfig.from_mapping({"high_availability": True}, source="x").effective_zone_count == 3


def test_tier_overrides_keep_the_other_defaults_of_that_tier() -> None:
    config = StackConfig.from_mapping({"tiers": {"edge": {"max_nodes": 12}}}, source="x")
    edge = next(pool for pool in config.tier_pools() if pool.tier is Tier.EDGE)
    assert edge.max_nodes == 12
    assert edge.dedicated and edge.min_nodes == 2


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        ({"cloud": "azure"}, "cloud", "'aws', 'gcp' or 'existing'"),
        ({"clod": "aws"}, "clod", "unknown key"),
        ({"region": "mars-1"}, "region", "not an AWS region"),
        ({"cloud": "gcp", "region": "us-east-1", "gcp": {"project": "p"}}, "region", "not a GCP region"),
        ({"cloud": "gcp"}, "gcp.project", "needs the GCP project id"),
        ({"kubernetes_version": "1.20"}, "kubernetes_version", "between 1.28 and 1.37"),
        ({"kubernetes_version": "one"}, "kubernetes_version", "pattern"),
        ({"zones": ["eu-west-1a", "eu-west-1b"]}, "zones", "must all lie in region"),
        ({"high_availability": True, "zone_count": 2}, "high_availability", "at least 3 zones"),
        ({"zone_count": 9}, "zone_count", "less than or equal to 6"),
        ({"tiers": {"edge": {"min_nodes": 5, "max_nodes": 2}}}, "tiers.edge", "must not exceed max_nodes"),
        ({"tiers": {"moon": {}}}, "tiers.moon", "'edge', 'regional' or 'cloud'"),
        ({"tiers": {"edge": {"size": "xl"}}}, "tiers.edge.size", "unknown key"),
        ({"gpu": {"gpus_per_node": 0}}, "gpu.gpus_per_node", "greater than or equal to 1"),
        ({"postgres": {"version": 13}}, "postgres.version", "greater than or equal to 15"),
        ({"postgres": {"mode": "sqlite"}}, "postgres.mode", "'managed' or 'in_cluster'"),
        ({"postgres": {"database": "Bad-Name"}}, "postgres.database", "pattern"),
        ({"redis": {"replicas_per_shard": 9}}, "redis.replicas_per_shard", "less than or equal to 5"),
        ({"redis": {"shards": 0}}, "redis.shards", "greater than or equal to 3"),
        ({"cloud": "existing", "postgres": {"mode": "managed"}}, "postgres.mode", "no managed postgres"),
        ({"cloud": "existing", "existing": {"kubeconfig": "/nonexistent/kubeconfig"}}, "existing.kubeconfig",
         "/nonexistent/kubeconfig does not exist"),
        ({"cloud": "existing", "existing": {"kubeconfig": "apiVersion: v1\ncontexts: []\n"}}, "existing.context",
         "no current-context"),
        ({"cloud": "existing", "existing": {"contxt": "lab"}}, "existing.contxt", "unknown key"),
        ({"postgres": {"tuning": {"shared_bufers": "4GB"}}}, "postgres.tuning.shared_bufers", "unknown key"),
        ({"postgres": {"tuning": {"work_mem": "lots"}}}, "postgres.tuning.work_mem", "PostgreSQL memory size"),
        ({"postgres": {"tuning": {"random_page_cost": 0}}}, "postgres.tuning.random_page_cost", "greater than 0"),
        ({"postgres": {"tuning": {"min_wal_size": "8GB"}}}, "postgres.tuning", "must not exceed max_wal_size"),
        ({"aws": {"vpc_cidr": "8.8.0.0/16"}}, "aws.vpc_cidr", "private"),
        ({"aws": {"admin_role_arns": ["root"]}}, "aws.admin_role_arns[0]", "IAM role or user ARN"),
        ({"serving": {"cert_manager": {"issuer": "acme"}}}, "serving.cert_manager", "acme_email"),
        ({"serving": {"istio": {"gateway_min_replicas": 9}}}, "serving.istio", "gateway_max_replicas"),
        ({"monitoring": {"retention": "forever"}}, "monitoring.retention", "pattern"),
        ({"platform": {"namespace": "Not_Valid"}}, "platform.namespace", "pattern"),
        ({"runtime": {"prediction": {"hybrid": {"arima_weight": 0.9}}}}, "runtime.prediction.hybrid", "must be 1.0"),
        ({"runtime": {"warming": {"min_warm_pool": 9, "max_warm_pool": 3}}}, "runtime.warming", "must not exceed"),
        ({"runtime": {"alerts": {"channels": [{"type": "slack"}]}}}, "runtime.alerts.channels[0]", "needs 'webhook'"),
        (
            {"runtime": {"alerts": {"channels": [{"type": "email", "addresses": ["a@b.c"]}]}}},
            "monitoring.smtp",
            "email channel",
        ),
    ],
)
def test_a_bad_key_is_reported_by_its_path(data: dict[str, Any], path: str, fragment: str) -> None:
    problems = _problems(data)
    assert path in problems, problems
    assert fragment in problems[path]


def test_every_bad_key_is_listed_at_once() -> None:
    problems = _problems({"cloud": "azure", "postgres": {"version": 9}, "redis": {"shardz": 3}, "extra": 1})
    assert set(problems) == {"cloud", "postgres.version", "redis.shardz", "extra"}


def test_secret_values_never_appear_in_error_messages() -> None:
    with pytest.raises(StackConfigError) as caught:
        StackConfig.from_mapping({"monitoring": {"grafana_admin_password": ["hunter2-secret"]}}, source="x")
    assert "hunter2-secret" not in str(caught.value)


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_stack_files_are_valid_and_name_only_known_keys(stack: str) -> None:
    engine = read_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    engine.validate()
    assert all(key.startswith(f"{PROJECT}:") for key in engine.values)


def test_the_two_stacks_exercise_both_clouds_and_production_is_highly_available() -> None:
    staging = read_stack_file(ROOT / "Pulumi.staging.yaml").validate()
    production = read_stack_file(ROOT / "Pulumi.production.yaml").validate()
    assert {staging.cloud, production.cloud} == {Cloud.AWS, Cloud.GCP}
    assert production.high_availability and not staging.high_availability


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_stack_files_hold_no_plaintext_secret(stack: str) -> None:
    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            if set(value) == {"secure"}:
                return
            for key, child in value.items():
                assert not any(w in str(key).lower() for w in ("password", "webhook", "token")), f"{path}.{key}"
                walk(child, f"{path}.{key}")
        elif isinstance(value, list):
            for i, child in enumerate(value):
                walk(child, f"{path}[{i}]")

    walk(yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"], stack)


def test_stack_files_hold_only_overrides_of_the_code_defaults() -> None:
    defaults = StackConfig().model_dump(mode="json")
    for stack in ("staging", "production"):
        for key, value in read_stack_file(ROOT / f"Pulumi.{stack}.yaml").decoded().items():
            assert value != defaults.get(key), f"Pulumi.{stack}.yaml sets {key} to its default"


def test_project_file_schema_matches_the_code_defaults() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["main"] == "infra/"
    assert project["runtime"]["options"] == {"toolchain": "pip", "virtualenv": ".venv"}
    defaults = StackConfig().model_dump(mode="json")
    defaults["region"] = ""  # resolved per cloud; the schema's default is "empty"
    for key, schema in project["config"].items():
        assert key in StackConfig.model_fields, key
        assert schema["default"] == defaults[key], key


def test_missing_secrets_get_deterministic_placeholders_and_mark_the_key_secret() -> None:
    engine = read_stack_file(ROOT / "Pulumi.production.yaml")
    webhook = placeholder_secret("runtime.alerts.channels[0].webhook")
    assert engine.placeholders == {webhook}
    assert "isf:runtime" in engine.secret_keys
    config = engine.validate()
    channel = config.runtime.alerts.channels[0]
    assert channel.webhook is not None and channel.webhook.get_secret_value() == webhook


def test_encrypted_values_in_a_stack_file_become_placeholders(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.x.yaml"
    stack.write_text("config:\n  isf:monitoring:\n    grafana_admin_password:\n      secure: v1:abc\n")
    engine = read_stack_file(stack)
    assert engine.secret_keys == ["isf:monitoring"]
    password = engine.validate().monitoring.grafana_admin_password
    assert password is not None and password.get_secret_value() in engine.placeholders


def test_set_overrides_dotted_paths_and_list_items() -> None:
    tree: dict[str, Any] = {"tiers": {"edge": {"min_nodes": 1}}}
    apply_overrides(
        tree,
        ["cloud=gcp", "tiers.edge.max_nodes=8", "runtime.alerts.channels[0].type=email", "zones=[a, b]"],
    )
    assert tree == {
        "cloud": "gcp",
        "tiers": {"edge": {"min_nodes": 1, "max_nodes": "8"}},
        "runtime": {"alerts": {"channels": [{"type": "email"}]}},
        "zones": ["a", "b"],
    }


def test_set_keeps_version_strings_as_written() -> None:
    assert apply_overrides({}, ["kubernetes_version=1.30"]) == {"kubernetes_version": "1.30"}


@pytest.mark.parametrize("override", ["novalue", "=x", "a..b=1", "zones[5]=x"])
def test_malformed_set_is_a_config_error(override: str) -> None:
    with pytest.raises(StackConfigError):
        apply_overrides({"zones": []}, [override])


def test_set_cloud_gcp_renders_production_config_on_gke() -> None:
    engine = read_stack_file(ROOT / "Pulumi.staging.yaml", ["cloud=gcp", "region=us-central1", "gcp.project=p"])
    assert engine.validate().cloud is Cloud.GCP
    assert "with --set cloud=gcp" in engine.source


def test_a_missing_stack_file_is_named() -> None:
    with pytest.raises(StackConfigError, match="Pulumi.nope.yaml"):
        read_stack_file(ROOT / "Pulumi.nope.yaml")


def test_the_loader_reads_structured_config_the_engine_passes() -> None:
    seen: list[StackConfig] = []
    config = {
        "isf:cloud": "gcp",
        "isf:gcp": json.dumps({"project": "demo"}),
        "isf:high_availability": "true",
        "isf:tiers": json.dumps({"edge": {"max_nodes": 7}}),
        "isf:kubernetes_version": "1.30",
        "aws:region": "eu-west-1",
    }
    run_program(lambda: seen.append(engine_config().validate()), config=config)
    loaded = seen[0]
    assert (loaded.cloud, loaded.gcp.project, loaded.high_availability, loaded.kubernetes_version) == (
        Cloud.GCP,
        "demo",
        True,
        "1.30",
    )
    assert loaded.tiers[Tier.EDGE].max_nodes == 7


def test_an_invalid_config_fails_before_any_resource_is_registered() -> None:
    from infra.mocks import RecordingMocks

    mocks = RecordingMocks()
    with pytest.raises(StackConfigError) as caught:
        run_program(
            lambda: compose(plan_stack(engine_config())),
            config={"isf:cloud": "azure", "isf:redis": json.dumps({"shards": 0})},
            stack="broken",
            mocks=mocks,
        )
    assert "Pulumi.broken.yaml" in str(caught.value)
    assert {path for path, _ in caught.value.problems} == {"cloud", "redis.shards"}
    assert len(mocks.records) == 0


def test_the_cluster_knobs_are_the_components_own_args_and_old_key_names_still_work() -> None:
    config = StackConfig.from_mapping(
        {"aws": {"admin_role_arns": ["arn:aws:iam::123456789012:role/admin"]}, "gcp": {"subnet_cidr": "10.30.0.0/20"}},
        source="Pulumi.test.yaml",
    )
    assert config.aws.admin_principal_arns == ["arn:aws:iam::123456789012:role/admin"]
    assert config.gcp.subnet_cidr == "10.30.0.0/20"
