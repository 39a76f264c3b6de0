"""PostgreSQL on Amazon RDS: private, encrypted, backed up, the guide's tuning as a parameter group."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.data.credentials import SecretDelivery, generated_password
from components.data.postgres_store import PostgresStore
from components.data.postgres_tuning import native_settings
from components.data.protection import stateful_options
from components.data.spec import PostgresSpec, PostgresTuning, StoreMode, mode_problems

DEFAULT_INSTANCE_CLASS = "db.m6g.xlarge"  # 4 vCPU / 16 GB: what the guide's 4GB shared_buffers assume
PORT = 5432


@dataclass(frozen=True)
class RdsPostgresArgs:
    """The spec plus where the instance lives and who may connect (the cluster's VPC)."""

    spec: PostgresSpec
    delivery: SecretDelivery
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    client_cidr_blocks: Sequence[str]


def rds_parameters(tuning: PostgresTuning) -> list[aws.rds.ParameterGroupParameterArgs]:
    """Parameter-group entries; start-time settings wait for the next reboot instead of failing the apply."""
    return [
        aws.rds.ParameterGroupParameterArgs(
            name=s.name, value=s.value, apply_method="pending-reboot" if s.needs_restart else "immediate"
        )
        for s in native_settings(tuning)
    ] + [aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1", apply_method="immediate")]


class RdsPostgres(PostgresStore):
    """An RDS PostgreSQL instance reachable only from `client_cidr_blocks` inside the VPC."""

    def __init__(self, name: str, args: RdsPostgresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("isf:data:RdsPostgres", name, None, opts)
        spec = args.spec
        problems = mode_problems(spec.mode, StoreMode.MANAGED, "RdsPostgres", "postgres")
        problems.require(
            bool(args.client_cidr_blocks),
            "client_cidr_blocks",
            "is empty: name the cluster's VPC CIDR so pods can connect",
        )
        problems.raise_if_any()
        child = pulumi.ResourceOptions(parent=self)
        tags = {"isf/store": name}

        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"PostgreSQL clients of {name}",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp", from_port=PORT, to_port=PORT, cidr_blocks=list(args.client_cidr_blocks)
                )
            ],
            tags=tags,
            opts=child,
        )
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets", subnet_ids=list(args.subnet_ids), tags=tags, opts=child
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{spec.version}",
            parameters=rds_parameters(spec.tuning),
            tags=tags,
            opts=child,
        )
        password = generated_password(f"{name}-password", self)
        instance = aws.rds.Instance(
            f"{name}-instance",
            engine="postgres",
            engine_version=str(spec.version),
            instance_class=spec.instance_class or DEFAULT_INSTANCE_CLASS,
            allocated_storage=spec.storage_gb,
            max_allocated_storage=spec.storage_gb * 4,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=spec.database,
            username=spec.username,
            password=password,
            port=PORT,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[security_group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            multi_az=spec.high_availability,
            backup_retention_period=spec.backup_retention_days,
            deletion_protection=spec.deletion_protection,
            skip_final_snapshot=not spec.deletion_protection,
            final_snapshot_identifier=f"{name}-final" if spec.deletion_protection else None,
            copy_tags_to_snapshot=True,
            performance_insights_enabled=True,
            auto_minor_version_upgrade=True,
            tags=tags,
            opts=stateful_options(spec, parent=self),
        )
        self._deliver(name, spec, args.delivery, host=instance.address, port=instance.port, password=password)
        self._register()
