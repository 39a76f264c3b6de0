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
    network = ipaddress.IPv4Network(vpc_cidr)
    if not 16 <= network.prefixlen <= 20:
        raise ValueError(f"vpc_cidr must be a /16 to /20 block (got {vpc_cidr})")
    if not 1 <= len(zones) <= MAX_ZONES:
        raise ValueError(f"between 1 and {MAX_ZONES} availability zones are supported (got {len(zones)})")
    eighths = list(network.subnets(prefixlen_diff=3))
    public = list(eighths[-1].subnets(prefixlen_diff=3))
    return [
        SubnetPlan(zone=zone, private_cidr=str(eighths[i]), public_cidr=str(public[i]))
        for i, zone in enumerate(zones)
    ]


def subnet_tags(cluster_name: str, *, public: bool) -> dict[str, str]:
    """Tags that let EKS place internet-facing (public) or internal (private) load balancers."""
    role = "kubernetes.io/role/elb" if public else "kubernetes.io/role/internal-elb"
    return {role: "1", f"kubernetes.io/cluster/{cluster_name}": "shared"}


class AwsNetwork(pulumi.ComponentResource):
    """VPC, internet gateway, NAT gateway(s), and a public + private subnet per zone."""

    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        *,
        vpc_cidr: str,
        zones: list[str],
        nat: NatMode,
        cluster_name: str,
        tags: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("isf:cluster:AwsNetwork", name, None, opts)
        plan = subnet_plan(vpc_cidr, zones)
        child = pulumi.ResourceOptions(parent=self)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"{name}-vpc"},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": f"{name}-igw"}, opts=child
        )
        public_routes = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={**tags, "Name": f"{name}-public"},
            opts=child,
        )
        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        nat_gateways: list[aws.ec2.NatGateway] = []
        for i, zone in enumerate(plan):
            public = aws.ec2.Subnet(
                f"{name}-public-{zone.zone}",
                vpc_id=vpc.id,
                cidr_block=zone.public_cidr,
                availability_zone=zone.zone,
                map_public_ip_on_launch=True,
                tags={**tags, **subnet_tags(cluster_name, public=True), "Name": f"{name}-public-{zone.zone}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{zone.zone}-rta",
                subnet_id=public.id,
                route_table_id=public_routes.id,
                opts=child,
            )
            public_subnets.append(public)
            if nat is NatMode.PER_ZONE or i == 0:
                eip = aws.ec2.Eip(f"{name}-nat-eip-{zone.zone}", domain="vpc", tags=tags, opts=child)
                nat_gateways.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{zone.zone}",
                        allocation_id=eip.allocation_id,
                        subnet_id=public.id,
                        tags={**tags, "Name": f"{name}-nat-{zone.zone}"},
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                    )
                )
            private = aws.ec2.Subnet(
                f"{name}-private-{zone.zone}",
                vpc_id=vpc.id,
                cidr_block=zone.private_cidr,
                availability_zone=zone.zone,
                tags={
                    **tags,
                    **subnet_tags(cluster_name, public=False),
                    "Name": f"{name}-private-{zone.zone}",
                },
                opts=child,
            )
            private_routes = aws.ec2.RouteTable(
                f"{name}-private-{zone.zone}-rt",
                vpc_id=vpc.id,
                routes=[
                    aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_gateways[-1].id)
                ],
                tags={**tags, "Name": f"{name}-private-{zone.zone}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{zone.zone}-rta",
                subnet_id=private.id,
                route_table_id=private_routes.id,
                opts=child,
            )
            private_subnets.append(private)

        self.vpc_id = vpc.id
        self.public_subnet_ids = [s.id for s in public_subnets]
        self.private_subnet_ids = [s.id for s in private_subnets]
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
            }
        )
