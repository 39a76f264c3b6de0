"""The storage classes the HSOF guide expects, per cloud: `fast-ssd` (SSD block), `standard` (block) and
`shared-storage` (ReadWriteMany network file system: Amazon EFS through the EFS CSI driver, Google Filestore
through GKE's Filestore CSI driver). Every class encrypts at rest (EBS/EFS explicitly; PD and Filestore always)
and binds when the pod is scheduled, so a volume lands in the zone of the node that uses it.

On a cluster you bring, its owner provides classes of these names (the guide's prerequisite).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from runtime.contract.kubernetes import MANAGED_BY, MANAGED_BY_LABEL

FAST_SSD = "fast-ssd"
SHARED_STORAGE = "shared-storage"
STANDARD_STORAGE = "standard"
EFS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
EFS_CSI_SERVICE_ACCOUNT = ("kube-system", "efs-csi-controller-sa")
NFS_PORT = 2049


def _storage_class(name: str, class_name: str, provisioner: str, parameters: Mapping[str, pulumi.Input[str]],
                   opts: pulumi.ResourceOptions, *, expand: bool = True) -> k8s.storage.v1.StorageClass:
    return k8s.storage.v1.StorageClass(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=class_name, labels={MANAGED_BY_LABEL: MANAGED_BY}),
        provisioner=provisioner,
        parameters=dict(parameters),
        reclaim_policy="Retain",  # models and checkpoints outlive a deleted claim
        volume_binding_mode="WaitForFirstConsumer",
        allow_volume_expansion=expand,
        opts=opts,
    )


def aws_storage_classes(
    name: str,
    *,
    cluster_name: pulumi.Input[str],
    vpc_id: pulumi.Input[str],
    vpc_cidr: str,
    private_subnet_ids: Sequence[pulumi.Input[str]],
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer_url: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> list[pulumi.Resource]:
    """gp3 (fast: provisioned IOPS and throughput), gp3 (standard) and EFS with its CSI driver add-on."""
    import pulumi_aws as aws

    from components.cluster.eks import irsa_trust_policy

    efs = aws.efs.FileSystem(f"{name}-efs", encrypted=True, performance_mode="generalPurpose",
                             throughput_mode="elastic", tags={"Name": f"{name}-shared-storage"}, opts=opts)
    group = aws.ec2.SecurityGroup(
        f"{name}-efs-nfs", vpc_id=vpc_id, description="NFS from the cluster's VPC to the shared-storage EFS",
        ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=NFS_PORT, to_port=NFS_PORT,
                                                  cidr_blocks=[vpc_cidr], description="NFS")],
        opts=opts,
    )
    targets = [aws.efs.MountTarget(f"{name}-efs-{i}", file_system_id=efs.id, subnet_id=subnet,
                                   security_groups=[group.id], opts=opts)
               for i, subnet in enumerate(private_subnet_ids)]
    namespace, account = EFS_CSI_SERVICE_ACCOUNT
    trust = pulumi.Output.all(oidc_provider_arn, oidc_issuer_url).apply(
        lambda parts: irsa_trust_policy(str(parts[0]), str(parts[1]), namespace, account))
    role = aws.iam.Role(f"{name}-efs-csi", assume_role_policy=trust, opts=opts)
    attachment = aws.iam.RolePolicyAttachment(f"{name}-efs-csi", role=role.name, policy_arn=EFS_CSI_POLICY, opts=opts)
    addon = aws.eks.Addon(f"{name}-efs-csi-driver", cluster_name=cluster_name, addon_name="aws-efs-csi-driver",
                          service_account_role_arn=role.arn, resolve_conflicts_on_create="OVERWRITE",
                          opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[attachment])))
    block = {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"}
    classes = [
        _storage_class(f"{name}-fast-ssd", FAST_SSD, "ebs.csi.aws.com", {**block, "iops": "6000", "throughput": "500"}, opts),
        _storage_class(f"{name}-standard", STANDARD_STORAGE, "ebs.csi.aws.com", block, opts),
        _storage_class(
            f"{name}-shared-storage", SHARED_STORAGE, "efs.csi.aws.com",
            {"provisioningMode": "efs-ap", "fileSystemId": efs.id, "directoryPerms": "770", "basePath": "/isf"},
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[addon, *targets])), expand=False,
        ),
    ]
    return [efs, group, *targets, role, attachment, addon, *classes]


def gcp_storage_classes(name: str, *, network: pulumi.Input[str], opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """pd-ssd (fast), pd-balanced (standard) and Filestore on the cluster's VPC (needs the cluster's Filestore
    CSI driver add-on)."""
    return [
        _storage_class(f"{name}-fast-ssd", FAST_SSD, "pd.csi.storage.gke.io", {"type": "pd-ssd"}, opts),
        _storage_class(f"{name}-standard", STANDARD_STORAGE, "pd.csi.storage.gke.io", {"type": "pd-balanced"}, opts),
        _storage_class(f"{name}-shared-storage", SHARED_STORAGE, "filestore.csi.storage.gke.io",
                       {"tier": "standard", "network": network}, opts),
    ]
