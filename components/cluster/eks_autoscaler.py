"""Node autoscaling on EKS: the Kubernetes cluster-autoscaler (Helm) over the tier and GPU node groups.

Why cluster-autoscaler and not Karpenter: the platform's unit of capacity is one managed node group per
tier (and one for GPUs), the same shape GKE autoscales natively; cluster-autoscaler scales exactly those
groups between their `min_nodes` / `max_nodes`, so tiers, labels and taints stay where they are defined
(`node_pools.py`). Karpenter would replace the node groups with NodePools + EC2NodeClasses, its own
node IAM and an interruption queue: a second model of the same pools.

What the autoscaler needs, from `cluster-autoscaler/cloudprovider/aws/README.md` at tag
cluster-autoscaler-1.35.0 (the appVersion of chart 9.59.0):
- IAM ("Full Cluster Autoscaler Features Policy"): `AUTOSCALER_READ_ACTIONS` on `*`, and the two write
  actions, which we restrict with the tag condition the README recommends, to this cluster's groups.
- Auto-discovery ("Auto-Discovery Setup"): ASG tags `k8s.io/cluster-autoscaler/enabled` and
  `k8s.io/cluster-autoscaler/<cluster-name>`.
- Scale from zero (the GPU group's minimum is 0): ASG tags `k8s.io/cluster-autoscaler/node-template/
  label/<name>` = value and `.../taint/<key>` = `<value>:<Effect>`, plus `.../resources/<name>` for the
  GPUs, since EKS does not copy node-group labels/taints to the ASG and `eks:DescribeNodegroup` is only
  consulted while a group has never had a node.
- `--balance-similar-node-groups` keeps zones of a pool even (README, "Common Notes and Gotchas").

Interruption: spot capacity in managed node groups is rebalanced and drained by EKS itself (capacity
rebalancing is always on for managed node groups), so no separate termination handler runs here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster.node_pools import ResolvedPool
from components.helm import ChartRef, helm_chart, merged_values
from runtime.contract.scheduling import GPU_RESOURCE

AUTOSCALER_CHART = ChartRef(
    chart="cluster-autoscaler", version="9.59.0", repo="https://kubernetes.github.io/autoscaler"
)
AUTOSCALER_NAMESPACE = "kube-system"
AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
DISCOVERY_TAG = "k8s.io/cluster-autoscaler/enabled"
NODE_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"

AUTOSCALER_READ_ACTIONS = [
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
]
AUTOSCALER_WRITE_ACTIONS = [
    "autoscaling:SetDesiredCapacity",
    "autoscaling:TerminateInstanceInAutoScalingGroup",
]


def cluster_tag(cluster_name: str) -> str:
    """The per-cluster discovery tag key."""
    return f"k8s.io/cluster-autoscaler/{cluster_name}"


def autoscaler_policy(cluster_name: str) -> str:
    """The README's full-features policy; scaling actions only on ASGs tagged as this cluster's."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": AUTOSCALER_READ_ACTIONS, "Resource": ["*"]},
                {
                    "Effect": "Allow",
                    "Action": AUTOSCALER_WRITE_ACTIONS,
                    "Resource": ["*"],
                    "Condition": {
                        "StringEquals": {f"aws:ResourceTag/{cluster_tag(cluster_name)}": "owned"}
                    },
                },
            ],
        }
    )


def node_template_tags(pool: ResolvedPool, cluster_name: str) -> dict[str, str]:
    """The ASG tags that let the autoscaler discover a group and scale it up from zero nodes."""
    tags = {DISCOVERY_TAG: "true", cluster_tag(cluster_name): "owned"}
    tags |= {f"{NODE_TEMPLATE}/label/{key}": value for key, value in pool.labels.items()}
    tags |= {f"{NODE_TEMPLATE}/taint/{t.key}": f"{t.value}:{t.effect.value}" for t in pool.taints}
    if pool.gpu is not None:
        tags[f"{NODE_TEMPLATE}/resources/{GPU_RESOURCE}"] = str(pool.gpu.gpus_per_node)
    return tags


def autoscaler_values(
    cluster_name: str, region: str, role_arn: str, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Curated values (keys of chart 9.59.0's values.yaml): auto-discovery, IRSA, balanced zones."""
    defaults: dict[str, Any] = {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "rbac": {
            "serviceAccount": {
                "name": AUTOSCALER_SERVICE_ACCOUNT,
                "annotations": {"eks.amazonaws.com/role-arn": role_arn},
            }
        },
        # Zones of one pool stay even; among pools that fit, the one wasting least CPU/memory grows.
        "extraArgs": {"balance-similar-node-groups": True, "expander": "least-waste"},
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}},
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
    }
    return merged_values(defaults, overrides)


def _asg_name(group: aws.eks.NodeGroup) -> pulumi.Output[str]:
    """The Auto Scaling group EKS created for a managed node group (one per group)."""

    def first(resources: Sequence[aws.eks.outputs.NodeGroupResource]) -> str:
        groups = (resources[0].autoscaling_groups or []) if resources else []
        return (groups[0].name or "") if groups else ""

    return group.resources.apply(first)


def build_autoscaler_tags(
    name: str,
    pools: Sequence[ResolvedPool],
    groups: Sequence[aws.eks.NodeGroup],
    cluster_name: str,
    parent: pulumi.Resource,
) -> list[aws.autoscaling.Tag]:
    """One `aws.autoscaling.Tag` per discovery / node-template tag on each node group's ASG."""
    tags: list[aws.autoscaling.Tag] = []
    for pool, group in zip(pools, groups, strict=True):
        asg = _asg_name(group)
        for key, value in sorted(node_template_tags(pool, cluster_name).items()):
            # Named by the tag key, so adding a label or taint later adds a tag instead of renaming the rest.
            slug = key.removeprefix("k8s.io/cluster-autoscaler/").replace("/", "-")
            tags.append(
                aws.autoscaling.Tag(
                    f"{name}-{pool.role}-asg-{slug}",
                    autoscaling_group_name=asg,
                    tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                    opts=pulumi.ResourceOptions(parent=parent),
                )
            )
    return tags


def build_autoscaler_role(
    name: str,
    cluster_name: str,
    trust_policy: pulumi.Input[str],
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """The IRSA role of the autoscaler's service account with its inline policy."""
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(f"{name}-autoscaler-role", assume_role_policy=trust_policy, tags=tags, opts=child)
    aws.iam.RolePolicy(
        f"{name}-autoscaler-policy", role=role.id, policy=autoscaler_policy(cluster_name), opts=child
    )
    return role


def build_autoscaler_chart(
    name: str,
    cluster_name: str,
    region: str,
    role: aws.iam.Role,
    overrides: Mapping[str, Any],
    provider: k8s.Provider,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource],
) -> k8s.helm.v4.Chart:
    """The cluster-autoscaler release in kube-system on the cluster's own provider."""
    return helm_chart(
        f"{name}-cluster-autoscaler",
        AUTOSCALER_CHART,
        release=AUTOSCALER_CHART.chart,
        namespace=AUTOSCALER_NAMESPACE,
        values=role.arn.apply(lambda arn: autoscaler_values(cluster_name, region, arn, overrides)),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on)),
    )
