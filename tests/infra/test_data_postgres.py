"""Specification of the PostgreSQL components (RDS, Cloud SQL, CloudNativePG) and the guide's tuning."""

from __future__ import annotations

from collections.abc import Callable

import pulumi_kubernetes as k8s
import pytest
from pulumi.errors import InputPropertiesError
from pydantic import ValidationError

from components.data.credentials import SecretDelivery
from components.data.postgres_cloudsql import CloudSqlPostgres, CloudSqlPostgresArgs
from components.data.postgres_cnpg import (
    OPERATOR_CHART,
    InClusterPostgres,
    InClusterPostgresArgs,
    cnpg_cluster_manifest,
)
from components.data.postgres_rds import RdsPostgres, RdsPostgresArgs
from components.data.postgres_tuning import native_settings
from components.data.spec import PostgresSpec, PostgresTuning, StoreMode
from infra.mocks import Records, is_secret, run_program

NAMESPACE = "serverless-system"
GUIDE_SETTINGS = {
    "shared_buffers",
    "effective_cache_size",
    "maintenance_work_mem",
    "checkpoint_completion_target",
    "wal_buffers",
    "default_statistics_target",
    "random_page_cost",
    "effective_io_concurrency",
    "work_mem",
    "min_wal_size",
    "max_wal_size",
}
PRODUCTION = PostgresSpec(high_availability=True, deletion_protection=True, backup_retention_days=14)


def _delivery() -> SecretDelivery:
    return SecretDelivery(namespace=NAMESPACE, k8s_provider=k8s.Provider("cluster", kubeconfig="{}"))


def _rds(spec: PostgresSpec) -> Callable[[], object]:
    return lambda: RdsPostgres(
        "db",
        RdsPostgresArgs(
            spec=spec,
            delivery=_delivery(),
            vpc_id="vpc-1",
            subnet_ids=["subnet-a", "subnet-b"],
            client_cidr_blocks=["10.0.0.0/16"],
        ),
    )


@pytest.fixture(scope="module")
def rds_production() -> Records:
    return run_program(_rds(PRODUCTION))


def test_memory_settings_convert_to_each_settings_own_unit() -> None:
    settings = {s.name: s.value for s in native_settings(PostgresTuning())}
    assert set(settings) == GUIDE_SETTINGS
    assert settings["shared_buffers"] == str(4 * 1024 * 1024 // 8)  # 4GB in 8kB pages
    assert settings["work_mem"] == "20480"  # 20MB in kB
    assert settings["max_wal_size"] == "4096"  # 4GB in MB
    assert settings["random_page_cost"] == "1.1"


@pytest.mark.parametrize(
    ("tuning", "message"),
    [
        ({"work_mem": "20 megs"}, "not a PostgreSQL memory size"),
        ({"min_wal_size": "8GB"}, "min_wal_size \\(8GB\\) must not exceed max_wal_size"),
        ({"shared_buffers": "16GB"}, "shared_buffers \\(16GB\\) must not exceed effective_cache_size"),
        ({"checkpoint_completion_target": 1.5}, "checkpoint_completion_target"),
    ],
)
def test_bad_tuning_is_rejected_naming_the_setting(tuning: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PostgresTuning.model_validate(tuning)


def test_rds_carries_the_guides_tuning_in_a_parameter_group_of_its_major_version(
    rds_production: Records,
) -> None:
    group = rds_production.one("aws:rds/parameterGroup:ParameterGroup").inputs
    assert group["family"] == "postgres16"
    params = {p["name"]: p for p in group["parameters"]}
    assert GUIDE_SETTINGS <= set(params)
    assert params["shared_buffers"]["applyMethod"] == "pending-reboot"
    assert params["rds.force_ssl"]["value"] == "1"


def test_production_rds_is_private_encrypted_multi_az_backed_up_and_protected(
    rds_production: Records,
) -> None:
    db = rds_production.one("aws:rds/instance:Instance").inputs
    assert db["publiclyAccessible"] is False and db["storageEncrypted"] is True
    assert db["multiAz"] is True and db["deletionProtection"] is True
    assert db["backupRetentionPeriod"] == 14
    assert db["skipFinalSnapshot"] is False
    assert is_secret(db["password"])
    assert db["engineVersion"] == "16"


def test_staging_rds_is_single_az_and_deletable() -> None:
    db = run_program(_rds(PostgresSpec())).one("aws:rds/instance:Instance").inputs
    assert db["multiAz"] is False and db["deletionProtection"] is False and db["skipFinalSnapshot"] is True


def test_only_the_cluster_vpc_may_connect_to_rds(rds_production: Records) -> None:
    (rule,) = rds_production.one("aws:ec2/securityGroup:SecurityGroup").inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"], rule["cidrBlocks"]) == (5432, 5432, ["10.0.0.0/16"])


def test_connection_details_reach_the_platform_namespace_as_a_basic_auth_secret(
    rds_production: Records,
) -> None:
    secret = rds_production.one("kubernetes:core/v1:Secret")
    assert secret.inputs["metadata"]["namespace"] == NAMESPACE
    assert secret.inputs["metadata"]["name"] == "db-credentials"
    assert secret.inputs["type"] == "kubernetes.io/basic-auth"
    assert is_secret(secret.inputs["stringData"])
    data = secret.plain_inputs["stringData"]
    password = rds_production.one("random:index/randomPassword:RandomPassword")
    assert data["host"].endswith(".rds.amazonaws.com") and data["port"] == "5432"
    assert data["username"] == "isf" and data["database"] == "serverless_framework"
    assert len(data["password"]) == int(password.inputs["length"])
    assert data["url"].startswith("postgresql://isf:")


def test_cloud_sql_is_private_tls_only_regional_in_production_with_the_guides_flags() -> None:
    def program() -> None:
        CloudSqlPostgres(
            "db",
            CloudSqlPostgresArgs(
                spec=PRODUCTION,
                delivery=_delivery(),
                project="acme",
                region="europe-west1",
                network_id="projects/acme/global/networks/vpc",
            ),
        )

    records = run_program(program)
    settings = records.one("gcp:sql/databaseInstance:DatabaseInstance").inputs["settings"]
    assert settings["ipConfiguration"]["ipv4Enabled"] is False
    assert settings["ipConfiguration"]["sslMode"] == "ENCRYPTED_ONLY"
    assert settings["availabilityType"] == "REGIONAL"
    assert settings["backupConfiguration"]["pointInTimeRecoveryEnabled"] is True
    assert {f["name"] for f in settings["databaseFlags"]} == GUIDE_SETTINGS
    assert (
        records.one("gcp:servicenetworking/connection:Connection").inputs["service"]
        == "servicenetworking.googleapis.com"
    )
    host = records.one("kubernetes:core/v1:Secret").plain_inputs["stringData"]["host"]
    assert host == "10.20.0.3"


def test_in_cluster_postgres_is_a_three_instance_cnpg_cluster_bootstrapped_from_our_secret() -> None:
    spec = PostgresSpec(mode=StoreMode.IN_CLUSTER)
    records = run_program(
        lambda: InClusterPostgres("db", InClusterPostgresArgs(spec=spec, delivery=_delivery()))
    )
    operator = records.one("kubernetes:helm.sh/v4:Chart")
    assert (operator.inputs["chart"], operator.inputs["version"]) == (OPERATOR_CHART.chart, OPERATOR_CHART.version)
    assert operator.inputs["namespace"] == "cnpg-system"
    assert records.one("kubernetes:core/v1:Namespace").inputs["metadata"]["name"] == "cnpg-system"
    cluster_record = records.one("kubernetes:postgresql.cnpg.io/v1:Cluster")
    # The operator chart ships the Cluster CRD; the Cluster must wait for it and for its bootstrap Secret.
    assert {operator.urn, records.one("kubernetes:core/v1:Secret").urn} <= set(cluster_record.dependencies)
    cluster = cluster_record.inputs
    assert cluster["spec"]["instances"] == 3
    assert cluster["spec"]["bootstrap"]["initdb"]["secret"] == {"name": "db-credentials"}
    assert cluster["spec"]["postgresql"]["parameters"]["shared_buffers"] == "4GB"
    data = records.one("kubernetes:core/v1:Secret").plain_inputs["stringData"]
    assert data["host"] == f"db-postgres-rw.{NAMESPACE}.svc.cluster.local"


def test_the_cnpg_cluster_is_a_valid_object_spread_across_nodes_of_its_tier(
    validate_manifest: Callable[..., None],
) -> None:
    manifest = cnpg_cluster_manifest("db-postgres", NAMESPACE, PostgresSpec(mode=StoreMode.IN_CLUSTER))
    validate_manifest(manifest)
    affinity = manifest["spec"]["affinity"]
    assert affinity["podAntiAffinityType"] == "required"
    assert affinity["nodeSelector"] == {"tier": "cloud"}


def test_a_spec_handed_to_the_wrong_placement_says_which_mode_to_set() -> None:
    with pytest.raises(InputPropertiesError, match="postgres.mode is 'in_cluster' but RdsPostgres runs 'managed'"):
        run_program(_rds(PostgresSpec(mode=StoreMode.IN_CLUSTER)))


def test_every_bad_input_of_a_store_is_reported_at_once_with_its_property_path() -> None:
    def program() -> None:
        RdsPostgres("db", RdsPostgresArgs(spec=PostgresSpec(mode=StoreMode.IN_CLUSTER), delivery=_delivery(),
                                          vpc_id="vpc-1", subnet_ids=["a"], client_cidr_blocks=[]))

    with pytest.raises(InputPropertiesError) as raised:
        run_program(program)
    assert [e["property_path"] for e in raised.value.errors or []] == ["postgres.mode", "client_cidr_blocks"]


def test_deletion_protection_without_real_backups_is_rejected() -> None:
    with pytest.raises(ValidationError, match="backup_retention_days >= 7"):
        PostgresSpec(deletion_protection=True, backup_retention_days=1)


CNPG_CRDS = ("cloudnative-pg", "1.30.0")  # tests/data/upstream/crds/<component>/<release>/


@pytest.mark.parametrize(
    "spec",
    [
        PostgresSpec(mode=StoreMode.IN_CLUSTER),
        PostgresSpec(mode=StoreMode.IN_CLUSTER, instances=1, storage_class="gp3", version=17),
    ],
)
def test_the_cloudnativepg_cluster_is_valid_against_the_operators_1_30_crd(spec: PostgresSpec) -> None:
    from tests.support.crd_schemas import crd_errors, crd_for

    assert OPERATOR_CHART.version == "0.29.0"  # chart 0.29.0 runs operator 1.30.0
    manifest = cnpg_cluster_manifest("db-postgres", NAMESPACE, spec)
    crd = crd_for(manifest)
    assert crd is not None and (crd.component, crd.release) == CNPG_CRDS
    assert crd_errors(manifest) == []


def test_a_cluster_field_the_crd_does_not_know_would_be_caught() -> None:
    from tests.support.crd_schemas import crd_errors

    manifest = cnpg_cluster_manifest("db-postgres", NAMESPACE, PostgresSpec(mode=StoreMode.IN_CLUSTER))
    manifest["spec"]["affinity"]["nodeSelectr"] = {}
    assert any("nodeSelectr" in error for error in crd_errors(manifest))


def test_the_operator_values_are_keys_of_the_pinned_chart() -> None:
    from components.data.postgres_cnpg import operator_values
    from tests.support.helm_keys import chart_defaults, unknown_chart_paths

    assert unknown_chart_paths(operator_values({}), chart_defaults("cloudnative-pg", OPERATOR_CHART.version)) == []
