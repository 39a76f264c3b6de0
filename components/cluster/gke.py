"""Google GKE: a VPC-native private cluster with workload identity, tier node pools and a GPU pool.

The default node pool is removed so every node belongs to a typed pool with its tier label and taints.
GPU drivers are installed by GKE itself (`gpu_driver_installation_config`), so no driver DaemonSet is
needed; Dataplane V2 enforces the NetworkPolicies the workload builders emit.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import Self

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from components.cluster.kubeconfig import gke_kubeconfig
from components.cluster.node_pools import (
    GKE_GPU_MACHINE_TYPE,
    GKE_MACHINE_TYPES,
    GpuPool,
    ResolvedPool,
    TierPool,
    check_one_pool_per_tier,
    default_tier_pools,
    resolve_pools,
)
from components.cluster.versions import DEFAULT_KUBERNETES_VERSION, KubernetesVersion

# Private GKE opens only 443 and 10250 from the control plane to the nodes; admission webhooks listening on
# other pod ports time out, and a `failurePolicy: Fail` webhook then blocks every matching API call.
WEBHOOK_PORTS: dict[int, str] = {
    # istio/istio 1.30.3 manifests/charts/istio-control/istio-discovery/templates/service.yaml: the
    # https-webhook port 443 -> targetPort 15017, used by templates/mutatingwebhook.yaml (failurePolicy: Fail).
    15017: "istiod sidecar injection and validation",
    # knative/serving knative-v1.23.0 config/core/deployments/webhook.yaml (WEBHOOK_PORT, containerPort 8443)
    # and knative/operator knative-v1.23.0 config/charts/knative-operator/templates/operator.yaml (8443).
    8443: "Knative Serving and Knative Operator webhooks",
    # cloudnative-pg chart 0.29.0 values.yaml webhook.port (in-cluster PostgreSQL).
    9443: "CloudNativePG webhook",
}
"""Pod ports the control plane must reach. cert-manager 1.21.1 (`webhook.securePort: 10250`) and the
prometheus-operator (kube-prometheus-stack 88.5.3 `tls.internalPort: 10250`) already use an open port."""

NODE_ROLES = [
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
]


class ReleaseChannel(StrEnum):
    RAPID = "RAPID"
    REGULAR = "REGULAR"
    STABLE = "STABLE"


class GpuDriverVersion(StrEnum):
    """Which NVIDIA driver GKE installs on GPU nodes."""

    DEFAULT = "DEFAULT"
    LATEST = "LATEST"


class GkeSettings(BaseModel):
    """The GKE cluster's own knobs; CIDRs must be private and not overlap each other."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    release_channel: ReleaseChannel = ReleaseChannel.REGULAR
    subnet_cidr: str = Field(default="10.10.0.0/20", description="the nodes' subnetwork")
    pods_cidr: str = "10.16.0.0/14"
    services_cidr: str = "10.20.0.0/20"
    master_cidr: str = "172.16.0.0/28"
    master_authorized_cidrs: list[str] = Field(
        default_factory=list,
        description="who may reach the public endpoint; empty = anyone (auth still applies)",
    )
    gpu_driver_version: GpuDriverVersion = GpuDriverVersion.LATEST
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("subnet_cidr", "pods_cidr", "services_cidr", "master_cidr")
    @classmethod
    def _cidr_is_private(cls, value: str) -> str:
        if not ipaddress.IPv4Network(value).is_private:
            raise ValueError(f"must be a private IPv4 network (got {value})")
        return str(ipaddress.IPv4Network(value))

    @field_validator("master_authorized_cidrs")
    @classmethod
    def _cidrs_parse(cls, value: list[str]) -> list[str]:
        return [str(ipaddress.IPv4Network(v)) for v in value]

    @model_validator(mode="after")
    def _ranges_disjoint(self) -> Self:
        ranges = {
            "subnet_cidr": self.subnet_cidr,
            "pods_cidr": self.pods_cidr,
            "services_cidr": self.services_cidr,
            "master_cidr": self.master_cidr,
        }
        names = list(ranges)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                if ipaddress.IPv4Network(ranges[first]).overlaps(ipaddress.IPv4Network(ranges[second])):
                    raise ValueError(
                        f"{first} ({ranges[first]}) overlaps {second} ({ranges[second]}); pick disjoint ranges"
                    )
        if ipaddress.IPv4Network(self.master_cidr).prefixlen != 28:
            raise ValueError(f"master_cidr must be a /28 (got {self.master_cidr})")
        return self


class GkeClusterArgs(GkeSettings):
    """Everything a GKE cluster of the platform needs."""

    project: str = Field(description="GCP project id (workload identity pool is <project>.svc.id.goog)")
    region: str = Field(description="GCP region, e.g. europe-west1; the control plane is regional")
    zones: list[str] = Field(default_factory=list, description="node zones; empty = GKE's default zones")
    kubernetes_version: KubernetesVersion = DEFAULT_KUBERNETES_VERSION
    tier_pools: list[TierPool] = Field(default_factory=default_tier_pools)
    gpu_pool: GpuPool | None = Field(default_factory=GpuPool, description="null = no GPU pool")
    deletion_protection: bool = False

    @field_validator("tier_pools")
    @classmethod
    def _one_pool_per_tier(cls, value: list[TierPool]) -> list[TierPool]:
        for pool in value:
            if len(pool.instance_types) > 1:
                raise ValueError(
                    f"GKE node pools take one machine type; tier {pool.tier.value} lists {pool.instance_types}"
                )
        return check_one_pool_per_tier(value)

    @field_validator("gpu_pool")
    @classmethod
    def _one_gpu_machine(cls, value: GpuPool | None) -> GpuPool | None:
        if value is not None and len(value.instance_types) > 1:
            raise ValueError(f"GKE node pools take one machine type; gpu_pool lists {value.instance_types}")
        return value

    @model_validator(mode="after")
    def _zones_in_region(self) -> Self:
        foreign = [z for z in self.zones if not z.startswith(f"{self.region}-")]
        if foreign:
            raise ValueError(f"zones {foreign} are not in region {self.region}")
        return self

    @property
    def node_pools(self) -> list[ResolvedPool]:
        return resolve_pools(
            self.tier_pools,
            self.gpu_pool,
            default_types={tier: [machine] for tier, machine in GKE_MACHINE_TYPES.items()},
            default_gpu_types=[GKE_GPU_MACHINE_TYPE],
        )


def node_pool_config(
    pool: ResolvedPool,
    *,
    service_account: pulumi.Input[str],
    driver: GpuDriverVersion,
    labels: dict[str, str],
) -> gcp.container.NodePoolNodeConfigArgs:
    """Node config of one resolved pool: machine, SSD, tier labels and taints, GKE metadata server, GPUs."""
    accelerators = (
        [
            gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
                type=pool.gpu.accelerator,
                count=pool.gpu.gpus_per_node,
                gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                    gpu_driver_version=driver.value
                ),
            )
        ]
        if pool.gpu
        else None
    )
    return gcp.container.NodePoolNodeConfigArgs(
        machine_type=pool.instance_types[0],
        disk_size_gb=pool.disk_gb,
        disk_type="pd-ssd",
        spot=pool.spot,
        labels=pool.labels,
        resource_labels={**labels, "isf-tier": pool.tier.value, "isf-pool": pool.role},
        taints=[
            gcp.container.NodePoolNodeConfigTaintArgs(key=t.key, value=t.value, effect=t.effect.cloud_name)
            for t in pool.taints
        ],
        service_account=service_account,
        oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
        workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
            mode="GKE_METADATA"
        ),
        shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_integrity_monitoring=True
        ),
        guest_accelerators=accelerators,
    )


@dataclass(frozen=True)
class GkeNetwork:
    """The VPC, the nodes' subnetwork (with pod and service ranges), Cloud NAT, the webhook firewall rule."""

    network: gcp.compute.Network
    subnetwork: gcp.compute.Subnetwork
    router: gcp.compute.Router
    nat: gcp.compute.RouterNat
    webhook_firewall: gcp.compute.Firewall


def build_network(name: str, args: GkeClusterArgs, child: pulumi.ResourceOptions) -> GkeNetwork:
    """A regional VPC-native network for the cluster."""
    project = args.project
    network = gcp.compute.Network(
        f"{name}-network",
        auto_create_subnetworks=False,
        routing_mode="REGIONAL",
        project=project,
        opts=child,
    )
    subnetwork = gcp.compute.Subnetwork(
        f"{name}-nodes",
        network=network.id,
        region=args.region,
        ip_cidr_range=args.subnet_cidr,
        private_ip_google_access=True,
        secondary_ip_ranges=[
            gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="pods", ip_cidr_range=args.pods_cidr),
            gcp.compute.SubnetworkSecondaryIpRangeArgs(
                range_name="services", ip_cidr_range=args.services_cidr
            ),
        ],
        project=project,
        opts=child,
    )
    router = gcp.compute.Router(
        f"{name}-router", network=network.id, region=args.region, project=project, opts=child
    )
    # Private nodes have no public IPs; Cloud NAT gives them egress for image pulls.
    nat = gcp.compute.RouterNat(
        f"{name}-nat",
        router=router.name,
        region=args.region,
        nat_ip_allocate_option="AUTO_ONLY",
        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        project=project,
        opts=child,
    )
    # The network is the cluster's own, so the rule targets every instance in it (all are nodes); pods of
    # the VPC-native cluster take their IPs from the pods range, which GCP firewall rules also cover.
    webhook_firewall = gcp.compute.Firewall(
        f"{name}-master-webhooks",
        network=network.id,
        direction="INGRESS",
        source_ranges=[args.master_cidr],
        allows=[
            gcp.compute.FirewallAllowArgs(protocol="tcp", ports=[str(port) for port in sorted(WEBHOOK_PORTS)])
        ],
        description="GKE control plane to admission webhooks (istiod, Knative, CloudNativePG)",
        project=project,
        opts=child,
    )
    return GkeNetwork(network, subnetwork, router, nat, webhook_firewall)


def build_node_identity(name: str, args: GkeClusterArgs, child: pulumi.ResourceOptions) -> gcp.serviceaccount.Account:
    """The nodes' service account with the roles logging, monitoring and image pulls need."""
    project = args.project
    node_account = gcp.serviceaccount.Account(
        f"{name}-nodes-sa",
        account_id=f"{name}-nodes"[:30],
        display_name=f"{name} GKE nodes",
        project=project,
        opts=child,
    )
    for role in NODE_ROLES:
        gcp.projects.IAMMember(
            f"{name}-nodes-{role.split('/')[1]}",
            project=args.project,
            role=role,
            member=node_account.email.apply(lambda email: f"serviceAccount:{email}"),
            opts=child,
        )
    return node_account


def build_control_plane(
    name: str, args: GkeClusterArgs, network: GkeNetwork, labels: dict[str, str], child: pulumi.ResourceOptions
) -> gcp.container.Cluster:
    """The private regional cluster: workload identity, Dataplane V2, the PD CSI driver, no default pool."""
    project = args.project
    workload_pool = f"{args.project}.svc.id.goog"
    subnetwork = network.subnetwork
    network_id = network.network.id
    cluster = gcp.container.Cluster(
        f"{name}-cluster",
        name=name,
        location=args.region,
        node_locations=args.zones or None,
        network=network_id,
        subnetwork=subnetwork.id,
        networking_mode="VPC_NATIVE",
        ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
            cluster_secondary_range_name="pods", services_secondary_range_name="services"
        ),
        remove_default_node_pool=True,
        initial_node_count=1,
        min_master_version=args.kubernetes_version,
        release_channel=gcp.container.ClusterReleaseChannelArgs(channel=args.release_channel.value),
        workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
            workload_pool=workload_pool
        ),
        private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
            enable_private_nodes=True,
            enable_private_endpoint=False,
            master_ipv4_cidr_block=args.master_cidr,
        ),
        master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
            cidr_blocks=[
                gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                    cidr_block=c, display_name=c
                )
                for c in args.master_authorized_cidrs
            ]
        )
        if args.master_authorized_cidrs
        else None,
        datapath_provider="ADVANCED_DATAPATH",
        addons_config=gcp.container.ClusterAddonsConfigArgs(
            gce_persistent_disk_csi_driver_config=gcp.container.ClusterAddonsConfigGcePersistentDiskCsiDriverConfigArgs(
                enabled=True
            ),
            # The `shared-storage` class (ReadWriteMany, filestore.csi.storage.gke.io) needs GKE's Filestore driver.
            gcp_filestore_csi_driver_config=gcp.container.ClusterAddonsConfigGcpFilestoreCsiDriverConfigArgs(
                enabled=True
            ),
        ),
        deletion_protection=args.deletion_protection,
        resource_labels=labels,
        project=project,
        opts=child,
    )
    return cluster


def build_node_pools(
    name: str,
    args: GkeClusterArgs,
    cluster: gcp.container.Cluster,
    node_account: gcp.serviceaccount.Account,
    labels: dict[str, str],
    parent: pulumi.Resource,
) -> list[gcp.container.NodePool]:
    """A node pool per resolved pool, autoscaled by totals across zones."""
    project = args.project
    node_pools = [
        gcp.container.NodePool(
            f"{name}-{pool.role}",
            name=pool.role,
            cluster=cluster.id,
            location=args.region,
            initial_node_count=0 if pool.gpu else 1,  # per zone; the autoscaler takes it from there
            # Totals across zones, so min/max mean what the tier spec says however many zones there are.
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=pool.min_nodes,
                total_max_node_count=pool.max_nodes,
                location_policy="BALANCED",
            ),
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            node_config=node_pool_config(
                pool, service_account=node_account.email, driver=args.gpu_driver_version, labels=labels
            ),
            project=project,
            opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["initialNodeCount"]),
        )
        for pool in args.node_pools
    ]
    return node_pools


class GkeCluster(pulumi.ComponentResource):
    """A GKE cluster with a node pool per tier, a GPU pool and its own Kubernetes provider."""

    network: GkeNetwork
    node_account: gcp.serviceaccount.Account
    cluster: gcp.container.Cluster
    node_pools: list[gcp.container.NodePool]
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    network_id: pulumi.Output[str]
    subnetwork_id: pulumi.Output[str]
    workload_pool: str
    node_service_account_email: pulumi.Output[str]

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("isf:cluster:GkeCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {"isf-cluster": name, **args.labels}
        self.network = build_network(name, args, child)
        self.node_account = build_node_identity(name, args, child)
        self.cluster = build_control_plane(name, args, self.network, labels, child)
        self.node_pools = build_node_pools(name, args, self.cluster, self.node_account, labels, self)
        kubeconfig = pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.master_auth.cluster_ca_certificate
        ).apply(lambda parts: gke_kubeconfig(parts[0], parts[1], parts[2] or ""))
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.node_pools),
        )

        self.cluster_name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.network_id = self.network.network.id
        self.subnetwork_id = self.network.subnetwork.id
        self.workload_pool = f"{args.project}.svc.id.goog"
        self.node_service_account_email = self.node_account.email
        self.register_outputs(
            {
                "kubeconfig": self.kubeconfig,
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "network_id": self.network_id,
                "subnetwork_id": self.subnetwork_id,
                "workload_pool": self.workload_pool,
                "node_service_account_email": self.node_service_account_email,
            }
        )
