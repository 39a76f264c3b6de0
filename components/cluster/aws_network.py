"""The EKS network: a VPC with one public and one private subnet per availability zone, and NAT.

Private subnets get a /19 each (pods take VPC addresses with the AWS VPC CNI), public ones a /22 (only
load balancers and NAT gateways live there). Subnets carry the `kubernetes.io/role/*elb` tags the AWS
load balancer integration looks for.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum

import pulumi
import pulumi_aws as aws
from pydantic import BaseModel, ConfigDict, Field

MAX_ZONES = 6


class NatMode(StrEnum):
    """How private subnets reach the internet."""

    SINGLE = "single"  # one NAT gateway: cheaper, one zone's outage cuts egress for all
    PER_ZONE = "per_zone"  # one per zone: what production wants


@dataclass(frozen=True)
class SubnetPlan:
    """The CIDR blocks of one availability zone."""

    zone: str
    public_cidr: str
    private_cidr: str


def subnet_plan(vpc_cidr: str, zones: list[str]) -> list[SubnetPlan]:
    """Carve `vpc_cidr` into a private /+3 and a public /+6 block per zone, without overlaps."""
    # The cluster's Args check the block size and zone count (EksSettings, EksClusterArgs).
    eighths = list(ipaddress.IPv4Network(vpc_cidr).subnets(prefixlen_diff=3))
    public = list(eighths[-1].subnets(prefixlen_diff=3))
    return [
        SubnetPlan(zone=zone, private_cidr=str(eighths[i]), public_cidr=str(public[i]))
        for i, zone in enumerate(zones)
    ]


def subnet_tags(cluster_name: str, *, public: bool) -> dict[str, str]:
    """Tags that let EKS place internet-facing (public) or internal (private) load balancers."""
    role = "kubernetes.io/role/elb" if public else "kubernetes.io/role/internal-elb"
    return {role: "1", f"kubernetes.io/cluster/{cluster_name}": "shared"}


class AwsNetworkArgs(BaseModel):
    """The VPC block, the zones to span, the NAT layout, and the cluster whose load balancers use it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vpc_cidr: str
    zones: list[str] = Field(min_length=1, max_length=MAX_ZONES)
    nat: NatMode = NatMode.SINGLE
    cluster_name: str
    tags: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class _Gateway:
    vpc: aws.ec2.Vpc
    igw: aws.ec2.InternetGateway
    public_routes: aws.ec2.RouteTable


@dataclass(frozen=True)
class _Zone:
    public: aws.ec2.Subnet
    private: aws.ec2.Subnet
    nat: aws.ec2.NatGateway | None


def _gateway(name: str, args: AwsNetworkArgs, child: pulumi.ResourceOptions) -> _Gateway:
    """The VPC, its internet gateway, and the public route table through it."""
    tags = args.tags
    vpc = aws.ec2.Vpc(
        f"{name}-vpc",
        cidr_block=args.vpc_cidr,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags={**tags, "Name": f"{name}-vpc"},
        opts=child,
    )
    igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-igw"}, opts=child)
    public_routes = aws.ec2.RouteTable(
        f"{name}-public-rt",
        vpc_id=vpc.id,
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
        tags={**tags, "Name": f"{name}-public"},
        opts=child,
    )
    return _Gateway(vpc, igw, public_routes)


def _zone(
    name: str,
    args: AwsNetworkArgs,
    zone: SubnetPlan,
    gateway: _Gateway,
    egress: aws.ec2.NatGateway | None,
    parent: pulumi.Resource,
) -> _Zone:
    """One zone's public subnet (with a NAT gateway unless `egress` is shared) and private subnet routed through NAT."""
    tags, child = args.tags, pulumi.ResourceOptions(parent=parent)
    public = aws.ec2.Subnet(
        f"{name}-public-{zone.zone}",
        vpc_id=gateway.vpc.id,
        cidr_block=zone.public_cidr,
        availability_zone=zone.zone,
        map_public_ip_on_launch=True,
        tags={**tags, **subnet_tags(args.cluster_name, public=True), "Name": f"{name}-public-{zone.zone}"},
        opts=child,
    )
    aws.ec2.RouteTableAssociation(
        f"{name}-public-{zone.zone}-rta", subnet_id=public.id, route_table_id=gateway.public_routes.id, opts=child
    )
    own_nat = None
    if egress is None:
        eip = aws.ec2.Eip(f"{name}-nat-eip-{zone.zone}", domain="vpc", tags=tags, opts=child)
        own_nat = aws.ec2.NatGateway(
            f"{name}-nat-{zone.zone}",
            allocation_id=eip.allocation_id,
            subnet_id=public.id,
            tags={**tags, "Name": f"{name}-nat-{zone.zone}"},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[gateway.igw]),
        )
    nat = own_nat or egress
    assert nat is not None
    private = aws.ec2.Subnet(
        f"{name}-private-{zone.zone}",
        vpc_id=gateway.vpc.id,
        cidr_block=zone.private_cidr,
        availability_zone=zone.zone,
        tags={**tags, **subnet_tags(args.cluster_name, public=False), "Name": f"{name}-private-{zone.zone}"},
        opts=child,
    )
    private_routes = aws.ec2.RouteTable(
        f"{name}-private-{zone.zone}-rt",
        vpc_id=gateway.vpc.id,
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
        tags={**tags, "Name": f"{name}-private-{zone.zone}"},
        opts=child,
    )
    aws.ec2.RouteTableAssociation(
        f"{name}-private-{zone.zone}-rta", subnet_id=private.id, route_table_id=private_routes.id, opts=child
    )
    return _Zone(public, private, own_nat)


class AwsNetwork(pulumi.ComponentResource):
    """VPC, internet gateway, NAT gateway(s), and a public + private subnet per zone."""

    vpc: aws.ec2.Vpc
    public_subnets: list[aws.ec2.Subnet]
    private_subnets: list[aws.ec2.Subnet]
    nat_gateways: list[aws.ec2.NatGateway]
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("isf:cluster:AwsNetwork", name, None, opts)
        gateway = _gateway(name, args, pulumi.ResourceOptions(parent=self))
        zones: list[_Zone] = []
        for zone in subnet_plan(args.vpc_cidr, args.zones):
            # Single NAT: every zone after the first routes through the first zone's gateway.
            shared = zones[0].nat if zones and args.nat is NatMode.SINGLE else None
            zones.append(_zone(name, args, zone, gateway, shared, self))

        self.vpc = gateway.vpc
        self.public_subnets = [z.public for z in zones]
        self.private_subnets = [z.private for z in zones]
        self.nat_gateways = [z.nat for z in zones if z.nat is not None]
        self.vpc_id = self.vpc.id
        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
            }
        )
