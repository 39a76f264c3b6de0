"""PostgreSQL on Cloud SQL: private IP over service networking, TLS only, backups with PITR, guide flags.

Cloud SQL encrypts storage at rest itself (Google-managed keys), so there is no switch for it here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.data.credentials import SecretDelivery, generated_password
from components.data.postgres_store import PostgresStore
from components.data.postgres_tuning import native_settings
from components.data.protection import stateful_options
from components.data.spec import PostgresSpec, PostgresTuning, StoreMode, mode_problems

DEFAULT_TIER = "db-custom-4-16384"  # 4 vCPU / 16 GB: what the guide's 4GB shared_buffers assume
PORT = 5432


@dataclass(frozen=True)
class CloudSqlPostgresArgs:
    """The spec plus the project, region and VPC network (the GKE cluster's) to peer with."""

    spec: PostgresSpec
    delivery: SecretDelivery
    project: str
    region: str
    network_id: pulumi.Input[str]


def cloudsql_flags(tuning: PostgresTuning) -> list[gcp.sql.DatabaseInstanceSettingsDatabaseFlagArgs]:
    """The guide's settings as Cloud SQL database flags (integers in each setting's own unit)."""
    return [
        gcp.sql.DatabaseInstanceSettingsDatabaseFlagArgs(name=s.name, value=s.value)
        for s in native_settings(tuning)
    ]


class CloudSqlPostgres(PostgresStore):
    """A Cloud SQL PostgreSQL instance with only a private address in the cluster's VPC."""

    def __init__(
        self, name: str, args: CloudSqlPostgresArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("isf:data:CloudSqlPostgres", name, None, opts)
        spec = args.spec
        mode_problems(spec.mode, StoreMode.MANAGED, "CloudSqlPostgres", "postgres").raise_if_any()
        child = pulumi.ResourceOptions(parent=self)

        # Private services access: a reserved range in our VPC peered with Google's service network.
        peering_range = gcp.compute.GlobalAddress(
            f"{name}-peering-range",
            project=args.project,
            network=args.network_id,
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            prefix_length=16,
            opts=child,
        )
        peering = gcp.servicenetworking.Connection(
            f"{name}-peering",
            network=args.network_id,
            service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[peering_range.name],
            opts=child,
        )
        instance = gcp.sql.DatabaseInstance(
            f"{name}-instance",
            project=args.project,
            region=args.region,
            database_version=f"POSTGRES_{spec.version}",
            deletion_protection=spec.deletion_protection,
            settings=gcp.sql.DatabaseInstanceSettingsArgs(
                tier=spec.instance_class or DEFAULT_TIER,
                edition="ENTERPRISE",
                availability_type="REGIONAL" if spec.high_availability else "ZONAL",
                disk_type="PD_SSD",
                disk_size=spec.storage_gb,
                disk_autoresize=True,
                deletion_protection_enabled=spec.deletion_protection,
                ip_configuration=gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
                    ipv4_enabled=False, private_network=args.network_id, ssl_mode="ENCRYPTED_ONLY"
                ),
                backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                    enabled=True,
                    point_in_time_recovery_enabled=True,
                    backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                        retained_backups=spec.backup_retention_days, retention_unit="COUNT"
                    ),
                ),
                insights_config=gcp.sql.DatabaseInstanceSettingsInsightsConfigArgs(
                    query_insights_enabled=True
                ),
                database_flags=cloudsql_flags(spec.tuning),
                user_labels={"isf-store": name},
            ),
            opts=stateful_options(spec, parent=self, depends_on=[peering]),
        )
        gcp.sql.Database(
            f"{name}-database", project=args.project, instance=instance.name, name=spec.database, opts=child
        )
        password = generated_password(f"{name}-password", self)
        gcp.sql.User(
            f"{name}-user",
            project=args.project,
            instance=instance.name,
            name=spec.username,
            password=password,
            opts=child,
        )
        self._deliver(
            name, spec, args.delivery, host=instance.private_ip_address, port=PORT, password=password
        )
        self._register()
