"""EKS node autoscaling: cluster-autoscaler 9.59.0 over one node group per tier and a GPU group from zero."""

from __future__ import annotations

import json

import pytest

from components.cluster.eks import EksCluster, EksClusterArgs
from components.cluster.eks_autoscaler import (
    AUTOSCALER_CHART,
    AUTOSCALER_READ_ACTIONS,
    AUTOSCALER_WRITE_ACTIONS,
    autoscaler_values,
)
from infra.mocks import Records, run_program
from runtime.contract import Tier
from tests.support.helm_keys import chart_defaults, unknown_chart_paths

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ASG_TAG = "aws:autoscaling/tag:Tag"
TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
# cluster-autoscaler/cloudprovider/aws/README.md at cluster-autoscaler-1.35.0, "Full Cluster Autoscaler
# Features Policy (Recommended)": the actions the autoscaler needs with auto-discovery.
README_ACTIONS = {
    "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities", "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements", "eks:DescribeNodegroup", "autoscaling:SetDesiredCapacity",
    "autoscaling:TerminateInstanceInAutoScalingGroup",
}


@pytest.fixture(scope="module")
def eks() -> Records:
    return run_program(lambda: EksCluster("isf", EksClusterArgs(region="us-east-1")))


def _asg_tags(records: Records) -> dict[str, dict[str, str]]:
    """Tags per ASG name: {asg: {key: value}}."""
    tags: dict[str, dict[str, str]] = {}
    for record in records.of_type(ASG_TAG):
        inputs = record.plain_inputs
        tags.setdefault(inputs["autoscalingGroupName"], {})[inputs["tag"]["key"]] = inputs["tag"]["value"]
    return tags


def _group_asg(records: Records, group: str) -> str:
    return records.one(NODE_GROUP, group).outputs["resources"][0]["autoscalingGroups"][0]["name"]


def test_the_autoscaler_role_grants_exactly_what_the_readme_lists_and_writes_only_to_this_cluster(
    eks: Records,
) -> None:
    policy = json.loads(eks.one("aws:iam/rolePolicy:RolePolicy", "isf-autoscaler-policy").inputs["policy"])
    granted = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert granted == README_ACTIONS == {*AUTOSCALER_READ_ACTIONS, *AUTOSCALER_WRITE_ACTIONS}
    (write,) = [s for s in policy["Statement"] if "autoscaling:SetDesiredCapacity" in s["Action"]]
    assert write["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/isf": "owned"}}


def test_the_autoscaler_assumes_its_role_through_irsa_as_its_own_service_account(eks: Records) -> None:
    trust = json.loads(eks.one("aws:iam/role:Role", "isf-autoscaler-role").inputs["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:kube-system:cluster-autoscaler" in condition.values()
    chart = eks.one("kubernetes:helm.sh/v4:Chart", "isf-cluster-autoscaler")
    values = chart.plain_inputs["values"]
    assert (chart.inputs["chart"], chart.inputs["version"]) == (AUTOSCALER_CHART.chart, "9.59.0")
    assert values["rbac"]["serviceAccount"] == {
        "name": "cluster-autoscaler",
        "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/isf-autoscaler-role"},
    }
    assert values["autoDiscovery"] == {"clusterName": "isf"} and values["awsRegion"] == "us-east-1"
    assert values["extraArgs"]["balance-similar-node-groups"] is True


def test_every_tier_and_the_gpu_pool_have_a_node_group_the_autoscaler_discovers(eks: Records) -> None:
    tags = _asg_tags(eks)
    for tier in Tier:
        asg = tags[_group_asg(eks, f"isf-{tier.value}-pool")]
        assert asg["k8s.io/cluster-autoscaler/enabled"] == "true"
        assert asg["k8s.io/cluster-autoscaler/isf"] == "owned"
        assert asg[f"{TEMPLATE}/label/tier"] == tier.value
    assert "k8s.io/cluster-autoscaler/enabled" in tags[_group_asg(eks, "isf-gpu-pool")]


def test_the_gpu_group_starts_at_zero_and_its_asg_says_what_a_new_node_would_offer(eks: Records) -> None:
    # From zero nodes the autoscaler knows a group only from its ASG tags: without the taint and GPU tags
    # it would never pick this group for a pod that tolerates nvidia.com/gpu and requests a GPU.
    group = eks.one(NODE_GROUP, "isf-gpu-pool").inputs
    assert group["scalingConfig"]["minSize"] == 0 and group["scalingConfig"]["desiredSize"] == 0
    assert group["scalingConfig"]["maxSize"] >= 1
    asg = _asg_tags(eks)[_group_asg(eks, "isf-gpu-pool")]
    assert asg[f"{TEMPLATE}/taint/nvidia.com/gpu"] == "present:NoSchedule"
    assert asg[f"{TEMPLATE}/label/nvidia.com/gpu.present"] == "true"
    assert asg[f"{TEMPLATE}/resources/nvidia.com/gpu"] == "1"


def test_a_dedicated_tier_advertises_its_taint_for_scale_up_from_zero(eks: Records) -> None:
    asg = _asg_tags(eks)[_group_asg(eks, "isf-edge-pool")]
    assert asg[f"{TEMPLATE}/taint/tier"] == "edge:NoSchedule"


def test_autoscaler_values_use_only_keys_of_the_pinned_chart() -> None:
    values = autoscaler_values("isf", "us-east-1", "arn:aws:iam::123456789012:role/r")
    assert unknown_chart_paths(values, chart_defaults("cluster-autoscaler", "9.59.0"), pass_through={"extraArgs"}) == []
