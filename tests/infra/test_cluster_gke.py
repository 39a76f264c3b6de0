"""Specification of the GKE cluster component, run under the recording mock engine."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from components.cluster.gke import GkeCluster, GkeClusterArgs
from components.cluster.node_pools import GKE_MACHINE_TYPES, TierPool
from infra.mocks import Records, is_secret, run_program
from runtime.contract import Tier

NODE_POOL = "gcp:container/nodePool:NodePool"


@pytest.fixture(scope="module")
def gke() -> tuple[Records, dict[str, str]]:
    outputs: dict[str, str] = {}

    def program() -> None:
        cluster = GkeCluster(
            "isf", GkeClusterArgs(project="acme-prod", region="europe-west1", deletion_protection=True)
        )
        cluster.kubeconfig.apply(lambda k: outputs.setdefault("kubeconfig", k))

    return run_program(program), outputs


def test_the_cluster_is_vpc_native_private_and_without_its_default_pool(
    gke: tuple[Records, dict[str, str]],
) -> None:
    cluster = gke[0].one("gcp:container/cluster:Cluster").inputs
    assert cluster["networkingMode"] == "VPC_NATIVE"
    assert cluster["removeDefaultNodePool"] is True
    assert cluster["ipAllocationPolicy"] == {
        "clusterSecondaryRangeName": "pods",
        "servicesSecondaryRangeName": "services",
    }
    assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True
    assert cluster["deletionProtection"] is True


def test_workload_identity_uses_the_projects_pool_and_nodes_use_the_gke_metadata_server(
    gke: tuple[Records, dict[str, str]],
) -> None:
    records = gke[0]
    assert records.one("gcp:container/cluster:Cluster").inputs["workloadIdentityConfig"] == {
        "workloadPool": "acme-prod.svc.id.goog"
    }
    for pool in records.of_type(NODE_POOL):
        assert pool.inputs["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}


def test_there_is_one_node_pool_per_tier_with_its_label_and_default_machine(
    gke: tuple[Records, dict[str, str]],
) -> None:
    pools = {p.inputs["name"]: p.inputs["nodeConfig"] for p in gke[0].of_type(NODE_POOL)}
    assert sorted(pools) == ["cloud-pool", "edge-pool", "gpu-pool", "regional-pool"]
    for tier in Tier:
        assert pools[f"{tier.value}-pool"]["labels"] == {"tier": tier.value}
        assert pools[f"{tier.value}-pool"]["machineType"] == GKE_MACHINE_TYPES[tier]


def test_gpu_pool_is_tainted_has_accelerators_and_gke_installs_the_driver(
    gke: tuple[Records, dict[str, str]],
) -> None:
    gpu = gke[0].one(NODE_POOL, "isf-gpu-pool").inputs["nodeConfig"]
    assert gpu["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    (accelerator,) = gpu["guestAccelerators"]
    assert accelerator["type"] == "nvidia-l4" and accelerator["count"] == 1
    assert accelerator["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "LATEST"}


def test_private_nodes_get_egress_through_cloud_nat(gke: tuple[Records, dict[str, str]]) -> None:
    nat = gke[0].one("gcp:compute/routerNat:RouterNat").inputs
    assert nat["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"


def test_the_kubeconfig_is_secret_and_uses_the_gke_auth_plugin(gke: tuple[Records, dict[str, str]]) -> None:
    records, outputs = gke
    assert is_secret(records.one("pulumi:providers:kubernetes").inputs["kubeconfig"])
    config = json.loads(outputs["kubeconfig"])
    assert config["users"][0]["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert config["clusters"][0]["cluster"]["server"].startswith("https://")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pods_cidr": "10.10.0.0/16"}, "subnet_cidr \\(10.10.0.0/20\\) overlaps pods_cidr"),
        ({"master_cidr": "172.16.0.0/24"}, "master_cidr must be a /28"),
        ({"zones": ["us-east1-b"]}, "not in region europe-west1"),
        (
            {
                "tier_pools": [
                    TierPool(tier=Tier.EDGE, instance_types=["a", "b"]),
                    TierPool(tier=Tier.REGIONAL),
                    TierPool(tier=Tier.CLOUD),
                ]
            },
            "one machine type",
        ),
        ({"tier_pools": [TierPool(tier=Tier.EDGE)]}, "missing tier\\(s\\) regional, cloud"),
    ],
)
def test_bad_gke_args_fail_at_construction_saying_what_to_change(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        GkeClusterArgs.model_validate({"project": "p", "region": "europe-west1", **changes})


def test_the_control_plane_reaches_every_admission_webhook_port_on_the_nodes(
    gke: tuple[Records, dict[str, str]],
) -> None:
    # Private GKE only opens 443/10250 from the master range; istiod (15017), Knative (8443) and
    # CloudNativePG (9443) webhooks need their own rule, or `failurePolicy: Fail` blocks the deploy.
    records = gke[0]
    rule = records.one("gcp:compute/firewall:Firewall", "isf-master-webhooks").inputs
    cluster = records.one("gcp:container/cluster:Cluster").inputs
    assert rule["direction"] == "INGRESS"
    assert rule["sourceRanges"] == [cluster["privateClusterConfig"]["masterIpv4CidrBlock"]]
    (allow,) = rule["allows"]
    assert allow["protocol"] == "tcp" and {"15017", "8443", "9443"} <= set(allow["ports"])
    assert rule["network"] == records.one("gcp:compute/subnetwork:Subnetwork").inputs["network"]


def test_the_webhook_ports_match_the_pinned_charts() -> None:
    from components.cluster.gke import WEBHOOK_PORTS
    from tests.support.helm_keys import chart_defaults

    assert chart_defaults("cloudnative-pg", "0.29.0")["webhook"]["port"] in WEBHOOK_PORTS
    assert chart_defaults("cert-manager", "1.21.1")["webhook"]["securePort"] == 10250  # open by default


def test_the_cluster_runs_the_csi_drivers_its_storage_classes_provision_with(
    gke: tuple[Records, dict[str, str]],
) -> None:
    # `fast-ssd`/`standard` use pd.csi.storage.gke.io, `shared-storage` (ReadWriteMany) filestore.csi.storage.gke.io.
    addons = gke[0].one("gcp:container/cluster:Cluster").inputs["addonsConfig"]
    assert addons["gcePersistentDiskCsiDriverConfig"] == {"enabled": True}
    assert addons["gcpFilestoreCsiDriverConfig"] == {"enabled": True}
