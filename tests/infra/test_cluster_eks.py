"""Specification of the EKS cluster component, run under the recording mock engine."""

from __future__ import annotations

import ipaddress
import json

import pytest
from pydantic import ValidationError

from components.cluster.aws_network import NatMode, subnet_plan
from components.cluster.eks import GPU_AMI, EksCluster, EksClusterArgs
from components.cluster.nvidia import DEVICE_PLUGIN_CHART
from infra.mocks import Records, is_secret, run_program
from tests.support.helm_keys import unknown_chart_paths

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ADMIN = "arn:aws:iam::123456789012:role/platform-admin"


def _run(args: EksClusterArgs) -> tuple[Records, dict[str, object]]:
    outputs: dict[str, object] = {}

    def program() -> None:
        cluster = EksCluster("isf", args)
        cluster.kubeconfig.apply(lambda k: outputs.setdefault("kubeconfig", k))

    return run_program(program), outputs


@pytest.fixture(scope="module")
def staging() -> Records:
    return _run(EksClusterArgs(region="us-east-1", admin_principal_arns=[ADMIN]))[0]


@pytest.fixture(scope="module")
def production() -> Records:
    return _run(
        EksClusterArgs(region="eu-west-1", zone_count=3, nat=NatMode.PER_ZONE, deletion_protection=True)
    )[0]


def test_subnets_never_overlap_and_every_zone_gets_a_public_and_a_private_one() -> None:
    plan = subnet_plan("10.0.0.0/16", ["a", "b", "c"])
    blocks = [ipaddress.IPv4Network(c) for p in plan for c in (p.public_cidr, p.private_cidr)]
    assert all(not x.overlaps(y) for i, x in enumerate(blocks) for y in blocks[i + 1 :])
    assert [ipaddress.IPv4Network(p.private_cidr).prefixlen for p in plan] == [19, 19, 19]


def test_staging_spans_two_zones_with_one_nat_gateway(staging: Records) -> None:
    subnets = staging.of_type("aws:ec2/subnet:Subnet")
    assert sorted({s.inputs["availabilityZone"] for s in subnets}) == ["us-east-1a", "us-east-1b"]
    assert len(subnets) == 4
    assert len(staging.of_type("aws:ec2/natGateway:NatGateway")) == 1


def test_production_spans_three_zones_with_a_nat_gateway_per_zone(production: Records) -> None:
    assert len(production.of_type("aws:ec2/subnet:Subnet")) == 6
    assert len(production.of_type("aws:ec2/natGateway:NatGateway")) == 3
    assert production.one("aws:eks/cluster:Cluster").inputs["deletionProtection"] is True


def test_private_subnets_are_tagged_for_internal_load_balancers(staging: Records) -> None:
    private = [s for s in staging.of_type("aws:ec2/subnet:Subnet") if "private" in s.name]
    assert all(s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in private)
    assert all(not s.inputs.get("mapPublicIpOnLaunch") for s in private)


def test_cluster_uses_access_entries_and_encrypts_secrets(staging: Records) -> None:
    cluster = staging.one("aws:eks/cluster:Cluster").inputs
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]
    association = staging.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation").inputs
    assert association["principalArn"] == ADMIN
    assert association["policyArn"].endswith("AmazonEKSClusterAdminPolicy")


def test_an_oidc_provider_backs_irsa_roles_scoped_to_one_service_account(staging: Records) -> None:
    oidc = staging.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").inputs
    assert oidc["clientIdLists"] == ["sts.amazonaws.com"]
    trust = json.loads(staging.one("aws:iam/role:Role", "isf-ebs-csi-role").inputs["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:kube-system:ebs-csi-controller-sa" in condition.values()


def test_there_is_one_managed_node_group_per_tier_plus_a_gpu_group(staging: Records) -> None:
    groups = {g.name: g.inputs for g in staging.of_type(NODE_GROUP)}
    assert sorted(groups) == ["isf-cloud-pool", "isf-edge-pool", "isf-gpu-pool", "isf-regional-pool"]
    for tier in ("edge", "regional", "cloud"):
        assert groups[f"isf-{tier}-pool"]["labels"]["tier"] == tier
        assert groups[f"isf-{tier}-pool"]["amiType"] == "AL2023_x86_64_STANDARD"


def test_gpu_pool_is_tainted_so_only_gpu_workloads_land_there(staging: Records) -> None:
    gpu = staging.one(NODE_GROUP, "isf-gpu-pool").inputs
    assert gpu["amiType"] == GPU_AMI
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in gpu["taints"]
    assert gpu["labels"]["nvidia.com/gpu.present"] == "true"


def test_the_dedicated_edge_pool_is_tainted_for_its_tier(staging: Records) -> None:
    edge = staging.one(NODE_GROUP, "isf-edge-pool").inputs
    assert edge["taints"] == [{"key": "tier", "value": "edge", "effect": "NO_SCHEDULE"}]


def test_the_nvidia_device_plugin_is_a_pinned_chart_on_the_clusters_own_provider(staging: Records) -> None:
    release = staging.one("kubernetes:helm.sh/v4:Chart", "isf-nvidia-device-plugin")
    assert (release.inputs["chart"], release.inputs["version"]) == (
        DEVICE_PLUGIN_CHART.chart,
        DEVICE_PLUGIN_CHART.version,
    )
    assert release.inputs["values"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    # Helm v4 charts do not create their namespace: the component does, before the chart.
    namespace = staging.one("kubernetes:core/v1:Namespace", "isf-nvidia-device-plugin-namespace")
    assert namespace.inputs["metadata"]["name"] == release.inputs["namespace"]
    assert namespace.urn in release.dependencies
    provider = staging.one("pulumi:providers:kubernetes")
    assert release.provider is not None and release.provider.startswith(provider.urn)


def test_no_gpu_pool_means_no_gpu_group_and_no_device_plugin() -> None:
    records, _ = _run(EksClusterArgs(region="us-east-1", gpu_pool=None))
    assert "isf-gpu-pool" not in {g.name for g in records.of_type(NODE_GROUP)}
    assert [c.name for c in records.of_type("kubernetes:helm.sh/v4:Chart")] == ["isf-cluster-autoscaler"]


def test_the_device_plugin_writes_only_keys_of_the_pinned_chart() -> None:
    from components.cluster.nvidia import device_plugin_values
    from tests.support.helm_keys import chart_defaults

    assert DEVICE_PLUGIN_CHART.version == "0.20.0"
    defaults = chart_defaults("nvidia-device-plugin", DEVICE_PLUGIN_CHART.version)
    assert unknown_chart_paths(device_plugin_values(), defaults) == []


def test_eks_add_ons_adopt_the_self_managed_aws_node_on_create_instead_of_failing(staging: Records) -> None:
    # EKS ships aws-node (vpc-cni) unmanaged; creating the add-on over it conflicts unless told to overwrite.
    for addon in staging.of_type("aws:eks/addon:Addon"):
        assert addon.inputs["resolveConflictsOnCreate"] == "OVERWRITE", addon.name
        assert addon.inputs["resolveConflictsOnUpdate"] == "OVERWRITE", addon.name
    assert {a.inputs["addonName"] for a in staging.of_type("aws:eks/addon:Addon")} >= {"vpc-cni"}


def test_the_kubeconfig_is_a_secret_that_authenticates_through_aws_eks_get_token() -> None:
    records, outputs = _run(EksClusterArgs(region="us-east-1"))
    provider = records.one("pulumi:providers:kubernetes")
    assert is_secret(provider.inputs["kubeconfig"])
    config = json.loads(str(outputs["kubeconfig"]))
    assert config["users"][0]["user"]["exec"]["args"][:2] == ["eks", "get-token"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"availability_zones": ["us-east-1a", "us-east-1b"], "zone_count": 2},
            "only one of availability_zones",
        ),
        ({"availability_zones": ["us-east-1a"]}, "at least 2 zones"),
        ({"availability_zones": ["eu-west-1a", "eu-west-1b"]}, "not in region us-east-1"),
        ({"vpc_cidr": "10.0.0.0/24"}, "/16 to /20"),
        ({"admin_principal_arns": ["admin"]}, "must be an IAM role or user ARN"),
        ({"kubernetes_version": "133"}, "kubernetes_version"),
    ],
)
def test_bad_eks_args_fail_at_construction_saying_what_to_change(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        EksClusterArgs.model_validate({"region": "us-east-1", **changes})


def test_admin_arns_of_every_aws_partition_are_accepted_as_the_stack_config_accepts_them() -> None:
    arns = ["arn:aws-us-gov:iam::123456789012:role/admin", "arn:aws-cn:iam::123456789012:user/ops", ADMIN]
    assert EksClusterArgs(region="us-east-1", admin_principal_arns=arns).admin_principal_arns == arns
