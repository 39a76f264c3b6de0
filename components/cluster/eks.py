"""Amazon EKS: network, IAM, the cluster (API auth, access entries, IRSA), tier + GPU node groups.

The cluster authenticates with access entries only (`API` mode, no aws-auth ConfigMap). Managed node
groups get their node access entries from EKS itself. The EBS CSI driver runs with an IRSA role, which
is also the worked example of how platform services get AWS permissions.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence
from typing import Annotated, Any, Self

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from components.cluster.aws_network import MAX_ZONES, AwsNetwork, NatMode
from components.cluster.kubeconfig import eks_kubeconfig
from components.cluster.node_pools import (
    EKS_GPU_INSTANCE_TYPES,
    EKS_INSTANCE_TYPES,
    GpuPool,
    ResolvedPool,
    TierPool,
    check_one_pool_per_tier,
    default_tier_pools,
    resolve_pools,
)
from components.cluster.nvidia import DEVICE_PLUGIN_CHART, DEVICE_PLUGIN_NAMESPACE, device_plugin_values
from components.helm import helm_chart

CPU_AMI = "AL2023_x86_64_STANDARD"
GPU_AMI = "AL2023_x86_64_NVIDIA"
ADMIN_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
CLUSTER_POLICIES = ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]
NODE_POLICIES = [
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
]
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
EBS_CSI_SERVICE_ACCOUNT = ("kube-system", "ebs-csi-controller-sa")

IAM_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/.+$")


class EksClusterArgs(BaseModel):
    """Everything an EKS cluster of the platform needs; defaults are a small but complete staging cluster."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str = Field(description="AWS region, e.g. us-east-1")
    kubernetes_version: Annotated[str, Field(pattern=r"^1\.\d{2}$")] = "1.33"
    availability_zones: list[str] = Field(
        default_factory=list, description="zone names; empty = the first `zone_count` zones of the region"
    )
    zone_count: Annotated[int, Field(ge=2, le=MAX_ZONES)] = 2
    vpc_cidr: str = "10.0.0.0/16"
    nat: NatMode = NatMode.SINGLE
    tier_pools: list[TierPool] = Field(default_factory=default_tier_pools)
    gpu_pool: GpuPool | None = Field(default_factory=GpuPool, description="null = no GPU node group")
    admin_principal_arns: list[str] = Field(
        default_factory=list, description="IAM roles/users granted cluster-admin through access entries"
    )
    public_endpoint: bool = True
    public_access_cidrs: list[str] = Field(default_factory=lambda: ["0.0.0.0/0"])
    deletion_protection: bool = False
    device_plugin_values: dict[str, Any] = Field(
        default_factory=dict, description="merged over the NVIDIA device plugin chart's curated values"
    )
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr_is_a_16_to_20(cls, value: str) -> str:
        prefix = ipaddress.IPv4Network(value).prefixlen
        if not 16 <= prefix <= 20:
            raise ValueError(
                f"vpc_cidr must be a /16 to /20 block so every zone gets subnets (got /{prefix})"
            )
        return value

    @field_validator("public_access_cidrs")
    @classmethod
    def _cidrs_parse(cls, value: list[str]) -> list[str]:
        return [str(ipaddress.IPv4Network(cidr)) for cidr in value]

    @field_validator("admin_principal_arns")
    @classmethod
    def _arns_are_iam(cls, value: list[str]) -> list[str]:
        # Any AWS partition: aws, aws-cn, aws-us-gov (the stack config accepts the same).
        bad = [arn for arn in value if not IAM_PRINCIPAL_ARN.match(arn)]
        if bad:
            raise ValueError(f"admin_principal_arns must be IAM role or user ARNs (arn:aws…:iam::…): {bad}")
        return value

    @field_validator("tier_pools")
    @classmethod
    def _one_pool_per_tier(cls, value: list[TierPool]) -> list[TierPool]:
        return check_one_pool_per_tier(value)

    @model_validator(mode="after")
    def _zones_consistent(self) -> Self:
        if self.availability_zones:
            if "zone_count" in self.model_fields_set:
                raise ValueError("only one of availability_zones and zone_count can be specified")
            if len(self.availability_zones) < 2:
                raise ValueError(
                    "availability_zones needs at least 2 zones (EKS requires subnets in two zones)"
                )
            foreign = [z for z in self.availability_zones if not z.startswith(self.region)]
            if foreign:
                raise ValueError(f"availability_zones {foreign} are not in region {self.region}")
        return self

    @property
    def zones(self) -> list[str]:
        """The zones to span: the explicit list, else `<region>a`, `<region>b`, ..."""
        return self.availability_zones or [f"{self.region}{letter}" for letter in "abcdef"[: self.zone_count]]

    @property
    def node_pools(self) -> list[ResolvedPool]:
        return resolve_pools(
            self.tier_pools,
            self.gpu_pool,
            default_types=EKS_INSTANCE_TYPES,
            default_gpu_types=EKS_GPU_INSTANCE_TYPES,
        )


def assume_role_policy(service: str) -> str:
    """Trust policy letting an AWS service (eks.amazonaws.com, ec2.amazonaws.com) assume a role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def irsa_trust_policy(oidc_provider_arn: str, issuer_url: str, namespace: str, service_account: str) -> str:
    """Trust policy letting exactly one Kubernetes service account assume a role through the OIDC provider."""
    issuer = issuer_url.removeprefix("https://")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                            f"{issuer}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
    )


def node_group_args(
    pool: ResolvedPool,
    *,
    cluster_name: pulumi.Input[str],
    node_role_arn: pulumi.Input[str],
    subnet_ids: Sequence[pulumi.Input[str]],
    version: str,
    tags: dict[str, str],
) -> aws.eks.NodeGroupArgs:
    """A managed node group for one resolved pool: AMI by GPU-ness, labels, taints, scaling."""
    return aws.eks.NodeGroupArgs(
        cluster_name=cluster_name,
        node_role_arn=node_role_arn,
        subnet_ids=subnet_ids,
        version=version,
        ami_type=GPU_AMI if pool.gpu else CPU_AMI,
        instance_types=pool.instance_types,
        capacity_type="SPOT" if pool.spot else "ON_DEMAND",
        disk_size=pool.disk_gb,
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=pool.min_nodes, desired_size=pool.desired_nodes, max_size=pool.max_nodes
        ),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
        labels=pool.labels,
        taints=[
            aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value, effect=t.effect.cloud_name)
            for t in pool.taints
        ],
        tags={**tags, "isf/tier": pool.tier.value, "isf/pool": pool.role},
    )


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster with a node group per tier, a GPU node group and its own Kubernetes provider."""

    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    private_subnet_ids: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]
    cluster_security_group_id: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("isf:cluster:EksCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = {"isf/cluster": name, **args.tags}
        pools = args.node_pools

        network = AwsNetwork(
            f"{name}-network",
            vpc_cidr=args.vpc_cidr,
            zones=args.zones,
            nat=args.nat,
            cluster_name=name,
            tags=tags,
            opts=child,
        )

        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            assume_role_policy=assume_role_policy("eks.amazonaws.com"),
            tags=tags,
            opts=child,
        )
        cluster_attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-cluster-role-{arn.rsplit('/', 1)[1]}",
                role=cluster_role.name,
                policy_arn=arn,
                opts=child,
            )
            for arn in CLUSTER_POLICIES
        ]
        node_role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
            tags=tags,
            opts=child,
        )
        node_attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-role-{arn.rsplit('/', 1)[1]}", role=node_role.name, policy_arn=arn, opts=child
            )
            for arn in NODE_POLICIES
        ]
        secrets_key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"Envelope encryption of {name} Kubernetes secrets",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )

        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=name,
            role_arn=cluster_role.arn,
            version=args.kubernetes_version,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=[*network.private_subnet_ids, *network.public_subnet_ids],
                endpoint_private_access=True,
                endpoint_public_access=args.public_endpoint,
                public_access_cidrs=args.public_access_cidrs if args.public_endpoint else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=["api", "audit", "authenticator"],
            deletion_protection=args.deletion_protection,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=cluster_attachments),
        )
        issuer = cluster.identities[0].oidcs[0].issuer
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=issuer, client_id_lists=["sts.amazonaws.com"], tags=tags, opts=child
        )

        for i, arn in enumerate(args.admin_principal_arns):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{i}", cluster_name=cluster.name, principal_arn=arn, type="STANDARD", opts=child
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{i}-policy",
                cluster_name=cluster.name,
                principal_arn=arn,
                policy_arn=ADMIN_POLICY_ARN,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
            )

        node_groups = [
            aws.eks.NodeGroup(
                f"{name}-{pool.role}",
                node_group_args(
                    pool,
                    cluster_name=cluster.name,
                    node_role_arn=node_role.arn,
                    subnet_ids=network.private_subnet_ids,
                    version=args.kubernetes_version,
                    tags=tags,
                ),
                # The cluster autoscaler owns the current size once the group exists.
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=node_attachments, ignore_changes=["scalingConfig.desiredSize"]
                ),
            )
            for pool in pools
        ]

        ebs_role = aws.iam.Role(
            f"{name}-ebs-csi-role",
            assume_role_policy=pulumi.Output.all(oidc.arn, issuer).apply(
                lambda parts: irsa_trust_policy(parts[0], parts[1], *EBS_CSI_SERVICE_ACCOUNT)
            ),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-ebs-csi-role-policy", role=ebs_role.name, policy_arn=EBS_CSI_POLICY, opts=child
        )
        # The VPC CNI's network policy agent enforces the NetworkPolicies the workload builders emit.
        aws.eks.Addon(
            f"{name}-vpc-cni",
            cluster_name=cluster.name,
            addon_name="vpc-cni",
            configuration_values=json.dumps({"enableNetworkPolicy": "true"}),
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            opts=child,
        )
        aws.eks.Addon(
            f"{name}-ebs-csi",
            cluster_name=cluster.name,
            addon_name="aws-ebs-csi-driver",
            service_account_role_arn=ebs_role.arn,
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=node_groups),
        )

        kubeconfig = pulumi.Output.all(
            cluster.name, cluster.endpoint, cluster.certificate_authority.data
        ).apply(lambda parts: eks_kubeconfig(parts[0], parts[1], parts[2], args.region))
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=node_groups),
        )
        k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="gp3", annotations={"storageclass.kubernetes.io/is-default-class": "true"}
            ),
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Retain",
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
        )
        if args.gpu_pool is not None:
            plugin_namespace = k8s.core.v1.Namespace(
                f"{name}-nvidia-device-plugin-namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=DEVICE_PLUGIN_NAMESPACE),
                opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
            )
            helm_chart(
                f"{name}-nvidia-device-plugin",
                DEVICE_PLUGIN_CHART,
                release=DEVICE_PLUGIN_CHART.chart,
                namespace=DEVICE_PLUGIN_NAMESPACE,
                values=device_plugin_values(args.device_plugin_values),
                opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=[plugin_namespace]),
            )

        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.oidc_provider_arn = oidc.arn
        self.oidc_issuer_url = issuer
        self.vpc_id = network.vpc_id
        self.vpc_cidr = args.vpc_cidr
        self.private_subnet_ids = network.private_subnet_ids
        self.public_subnet_ids = network.public_subnet_ids
        self.cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
        self.node_role_arn = node_role.arn
        self.register_outputs(
            {
                "kubeconfig": self.kubeconfig,
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "oidc_provider_arn": self.oidc_provider_arn,
                "oidc_issuer_url": self.oidc_issuer_url,
                "vpc_id": self.vpc_id,
                "private_subnet_ids": self.private_subnet_ids,
                "public_subnet_ids": self.public_subnet_ids,
                "cluster_security_group_id": self.cluster_security_group_id,
                "node_role_arn": self.node_role_arn,
            }
        )
