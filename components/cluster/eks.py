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
from dataclasses import dataclass
from typing import Annotated, Any, Self

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from components.cluster.aws_network import MAX_ZONES, AwsNetwork, AwsNetworkArgs, NatMode
from components.cluster.eks_autoscaler import (
    AUTOSCALER_NAMESPACE,
    AUTOSCALER_SERVICE_ACCOUNT,
    build_autoscaler_chart,
    build_autoscaler_role,
    build_autoscaler_tags,
)
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
from components.cluster.versions import DEFAULT_KUBERNETES_VERSION, KubernetesVersion
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


def _iam_principal(value: str) -> str:
    # Any AWS partition: aws, aws-cn, aws-us-gov.
    if not IAM_PRINCIPAL_ARN.match(value):
        raise ValueError(f"must be an IAM role or user ARN like arn:aws:iam::123456789012:role/admin (got {value!r})")
    return value


def _vpc_block(value: str) -> str:
    network = ipaddress.ip_network(value, strict=True)
    if network.version != 4 or not network.is_private or not 16 <= network.prefixlen <= 20:
        raise ValueError(f"must be a private IPv4 /16 to /20 block so every zone gets subnets (got {value})")
    return value


class EksSettings(BaseModel):
    """The EKS cluster's own knobs, set under the stack's `aws` key (cloud aws)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vpc_cidr: Annotated[str, AfterValidator(_vpc_block)] = "10.0.0.0/16"
    admin_principal_arns: list[Annotated[str, AfterValidator(_iam_principal)]] = Field(
        default_factory=list,
        validation_alias=AliasChoices("admin_principal_arns", "admin_role_arns"),
        description="IAM roles/users granted cluster-admin through EKS access entries (admin_role_arns also works)",
    )
    public_endpoint: bool = True
    public_access_cidrs: list[str] = Field(default_factory=lambda: ["0.0.0.0/0"])
    device_plugin_values: dict[str, Any] = Field(
        default_factory=dict, description="merged over the NVIDIA device plugin chart's curated values"
    )
    cluster_autoscaler_values: dict[str, Any] = Field(
        default_factory=dict, description="merged over the cluster-autoscaler chart's curated values"
    )
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("public_access_cidrs")
    @classmethod
    def _cidrs_parse(cls, value: list[str]) -> list[str]:
        return [str(ipaddress.IPv4Network(cidr)) for cidr in value]


class EksClusterArgs(EksSettings):
    """Everything an EKS cluster of the platform needs; defaults are a small but complete staging cluster."""

    region: str = Field(description="AWS region, e.g. us-east-1")
    kubernetes_version: KubernetesVersion = DEFAULT_KUBERNETES_VERSION
    availability_zones: list[str] = Field(
        default_factory=list,
        max_length=MAX_ZONES,
        description="zone names; empty = the first `zone_count` zones of the region",
    )
    zone_count: Annotated[int, Field(ge=2, le=MAX_ZONES)] = 2
    nat: NatMode = NatMode.SINGLE
    tier_pools: list[TierPool] = Field(default_factory=default_tier_pools)
    gpu_pool: GpuPool | None = Field(default_factory=GpuPool, description="null = no GPU node group")
    deletion_protection: bool = False

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


@dataclass(frozen=True)
class EksIam:
    """The cluster and node roles, their policy attachments, and the key that encrypts Secrets."""

    cluster_role: aws.iam.Role
    cluster_attachments: list[aws.iam.RolePolicyAttachment]
    node_role: aws.iam.Role
    node_attachments: list[aws.iam.RolePolicyAttachment]
    secrets_key: aws.kms.Key


def _attachments(name: str, role: aws.iam.Role, arns: list[str], child: pulumi.ResourceOptions) -> list[aws.iam.RolePolicyAttachment]:
    return [
        aws.iam.RolePolicyAttachment(f"{name}-{arn.rsplit('/', 1)[1]}", role=role.name, policy_arn=arn, opts=child)
        for arn in arns
    ]


def build_iam(name: str, tags: dict[str, str], child: pulumi.ResourceOptions) -> EksIam:
    """Roles EKS and the nodes assume, and the KMS key for envelope encryption of Secrets."""
    cluster_role = aws.iam.Role(
        f"{name}-cluster-role", assume_role_policy=assume_role_policy("eks.amazonaws.com"), tags=tags, opts=child
    )
    node_role = aws.iam.Role(
        f"{name}-node-role", assume_role_policy=assume_role_policy("ec2.amazonaws.com"), tags=tags, opts=child
    )
    secrets_key = aws.kms.Key(
        f"{name}-secrets-key",
        description=f"Envelope encryption of {name} Kubernetes secrets",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        tags=tags,
        opts=child,
    )
    return EksIam(
        cluster_role,
        _attachments(f"{name}-cluster-role", cluster_role, CLUSTER_POLICIES, child),
        node_role,
        _attachments(f"{name}-node-role", node_role, NODE_POLICIES, child),
        secrets_key,
    )


def build_control_plane(
    name: str, args: EksClusterArgs, network: AwsNetwork, iam: EksIam, tags: dict[str, str], parent: pulumi.Resource
) -> tuple[aws.eks.Cluster, aws.iam.OpenIdConnectProvider]:
    """The EKS cluster (access entries only, encrypted Secrets, audit logs) and its OIDC provider for IRSA."""
    cluster = aws.eks.Cluster(
        f"{name}-cluster",
        name=name,
        role_arn=iam.cluster_role.arn,
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
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=iam.secrets_key.arn),
            resources=["secrets"],
        ),
        enabled_cluster_log_types=["api", "audit", "authenticator"],
        deletion_protection=args.deletion_protection,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=iam.cluster_attachments),
    )
    oidc = aws.iam.OpenIdConnectProvider(
        f"{name}-oidc",
        url=cluster.identities[0].oidcs[0].issuer,
        client_id_lists=["sts.amazonaws.com"],
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return cluster, oidc


def build_admin_access(
    name: str, cluster: aws.eks.Cluster, arns: list[str], parent: pulumi.Resource
) -> list[aws.eks.AccessPolicyAssociation]:
    """An access entry with the cluster-admin policy for each admin principal."""
    associations: list[aws.eks.AccessPolicyAssociation] = []
    for i, arn in enumerate(arns):
        entry = aws.eks.AccessEntry(
            f"{name}-admin-{i}",
            cluster_name=cluster.name,
            principal_arn=arn,
            type="STANDARD",
            opts=pulumi.ResourceOptions(parent=parent),
        )
        associations.append(aws.eks.AccessPolicyAssociation(
            f"{name}-admin-{i}-policy",
            cluster_name=cluster.name,
            principal_arn=arn,
            policy_arn=ADMIN_POLICY_ARN,
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[entry]),
        ))
    return associations


def build_node_groups(
    name: str,
    args: EksClusterArgs,
    cluster: aws.eks.Cluster,
    network: AwsNetwork,
    iam: EksIam,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> list[aws.eks.NodeGroup]:
    """A managed node group per resolved pool, in the private subnets."""
    return [
        aws.eks.NodeGroup(
            f"{name}-{pool.role}",
            node_group_args(
                pool,
                cluster_name=cluster.name,
                node_role_arn=iam.node_role.arn,
                subnet_ids=network.private_subnet_ids,
                version=args.kubernetes_version,
                tags=tags,
            ),
            # The cluster autoscaler owns the current size once the group exists.
            opts=pulumi.ResourceOptions(
                parent=parent, depends_on=iam.node_attachments, ignore_changes=["scalingConfig.desiredSize"]
            ),
        )
        for pool in args.node_pools
    ]


def build_addons(
    name: str,
    cluster: aws.eks.Cluster,
    oidc: aws.iam.OpenIdConnectProvider,
    node_groups: list[aws.eks.NodeGroup],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> list[aws.eks.Addon]:
    """The VPC CNI with network policies, and the EBS CSI driver with its IRSA role."""
    child = pulumi.ResourceOptions(parent=parent)
    ebs_role = aws.iam.Role(
        f"{name}-ebs-csi-role",
        assume_role_policy=pulumi.Output.all(oidc.arn, cluster.identities[0].oidcs[0].issuer).apply(
            lambda parts: irsa_trust_policy(parts[0], parts[1], *EBS_CSI_SERVICE_ACCOUNT)
        ),
        tags=tags,
        opts=child,
    )
    aws.iam.RolePolicyAttachment(f"{name}-ebs-csi-role-policy", role=ebs_role.name, policy_arn=EBS_CSI_POLICY, opts=child)
    # The VPC CNI's network policy agent enforces the NetworkPolicies the workload builders emit.
    vpc_cni = aws.eks.Addon(
        f"{name}-vpc-cni",
        cluster_name=cluster.name,
        addon_name="vpc-cni",
        configuration_values=json.dumps({"enableNetworkPolicy": "true"}),
        # EKS installs a self-managed aws-node DaemonSet with every cluster; adopting it needs OVERWRITE on
        # create too, or the add-on fails with a conflict on the fields it sets (enableNetworkPolicy).
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        tags=tags,
        opts=child,
    )
    ebs_csi = aws.eks.Addon(
        f"{name}-ebs-csi",
        cluster_name=cluster.name,
        addon_name="aws-ebs-csi-driver",
        service_account_role_arn=ebs_role.arn,
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=node_groups),
    )
    return [vpc_cni, ebs_csi]


def build_kubernetes(
    name: str, args: EksClusterArgs, kubeconfig: pulumi.Output[str], node_groups: list[aws.eks.NodeGroup],
    parent: pulumi.Resource,
) -> k8s.Provider:
    """The cluster's Kubernetes provider, the default gp3 StorageClass, and the NVIDIA device plugin."""
    provider = k8s.Provider(
        f"{name}-provider", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=parent, depends_on=node_groups)
    )
    on_cluster = pulumi.ResourceOptions(parent=parent, provider=provider)
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
        opts=on_cluster,
    )
    if args.gpu_pool is not None:
        plugin_namespace = k8s.core.v1.Namespace(
            f"{name}-nvidia-device-plugin-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=DEVICE_PLUGIN_NAMESPACE),
            opts=on_cluster,
        )
        helm_chart(
            f"{name}-nvidia-device-plugin",
            DEVICE_PLUGIN_CHART,
            release=DEVICE_PLUGIN_CHART.chart,
            namespace=DEVICE_PLUGIN_NAMESPACE,
            values=device_plugin_values(args.device_plugin_values),
            opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[plugin_namespace]),
        )
    return provider


def build_autoscaling(
    name: str,
    args: EksClusterArgs,
    cluster: aws.eks.Cluster,
    oidc: aws.iam.OpenIdConnectProvider,
    node_groups: list[aws.eks.NodeGroup],
    provider: k8s.Provider,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> k8s.helm.v4.Chart:
    """The cluster-autoscaler: ASG discovery / scale-from-zero tags, its IRSA role, the chart."""
    build_autoscaler_tags(name, args.node_pools, node_groups, name, parent)
    trust = pulumi.Output.all(oidc.arn, cluster.identities[0].oidcs[0].issuer).apply(
        lambda parts: irsa_trust_policy(parts[0], parts[1], AUTOSCALER_NAMESPACE, AUTOSCALER_SERVICE_ACCOUNT)
    )
    role = build_autoscaler_role(name, name, trust, tags, parent)
    return build_autoscaler_chart(
        name, name, args.region, role, args.cluster_autoscaler_values, provider, parent, node_groups
    )


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster with a node group per tier, a GPU node group and its own Kubernetes provider."""

    network: AwsNetwork
    iam: EksIam
    cluster: aws.eks.Cluster
    oidc_provider: aws.iam.OpenIdConnectProvider
    node_groups: list[aws.eks.NodeGroup]
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
        self.network = AwsNetwork(
            f"{name}-network",
            AwsNetworkArgs(vpc_cidr=args.vpc_cidr, zones=args.zones, nat=args.nat, cluster_name=name, tags=tags),
            child,
        )
        self.iam = build_iam(name, tags, child)
        self.cluster, self.oidc_provider = build_control_plane(name, args, self.network, self.iam, tags, self)
        build_admin_access(name, self.cluster, args.admin_principal_arns, self)
        self.node_groups = build_node_groups(name, args, self.cluster, self.network, self.iam, tags, self)
        build_addons(name, self.cluster, self.oidc_provider, self.node_groups, tags, self)
        kubeconfig = pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority.data
        ).apply(lambda parts: eks_kubeconfig(parts[0], parts[1], parts[2], args.region))
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        self.provider = build_kubernetes(name, args, self.kubeconfig, self.node_groups, self)
        build_autoscaling(name, args, self.cluster, self.oidc_provider, self.node_groups, self.provider, tags, self)

        self.cluster_name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.oidc_provider_arn = self.oidc_provider.arn
        self.oidc_issuer_url = self.cluster.identities[0].oidcs[0].issuer
        self.vpc_id = self.network.vpc_id
        self.vpc_cidr = args.vpc_cidr
        self.private_subnet_ids = self.network.private_subnet_ids
        self.public_subnet_ids = self.network.public_subnet_ids
        self.cluster_security_group_id = self.cluster.vpc_config.cluster_security_group_id
        self.node_role_arn = self.iam.node_role.arn
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
