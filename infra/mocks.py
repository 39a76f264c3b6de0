"""The offline engine: Pulumi mocks that record every resource and fake what a cloud would compute.

`isf render` and the tests both run the real program through `run_program`:

    records = run_program(lambda: compose(config), config={"isf:cloud": "aws"})
    eks = records.one("aws:eks/cluster:Cluster")

Things to know when asserting on records:
- numbers come back as floats (the engine's wire format is protobuf `Struct`);
- secrets arrive wrapped (see `is_secret` / `unwrap_secrets`);
- Helm v4 `Chart` and yaml v2 `ConfigFile`/`ConfigGroup` are provider-side components: under mocks they
  register no children, so assert on their inputs (chart, version, values, files).
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

ACCOUNT_ID = "123456789012"
GCP_PROJECT = "isf-mock-project"
SECRET_SIG = rpc._special_sig_key
SECRET_VALUE = rpc._special_secret_sig

Props = dict[str, Any]


@dataclass(frozen=True)
class AliasRecord:
    """One `aliases=` entry as the engine receives it: a whole URN, or a spec whose blanks mean "as now"."""

    urn: str | None = None
    name: str | None = None
    type: str | None = None
    parent_urn: str | None = None
    no_parent: bool = False


def _alias_records(request: Any) -> tuple[AliasRecord, ...]:
    found = [AliasRecord(urn=urn) for urn in request.aliasURNs]
    for alias in request.aliases:
        if alias.HasField("urn") or not alias.HasField("spec"):
            found.append(AliasRecord(urn=alias.urn))
            continue
        spec = alias.spec
        found.append(
            AliasRecord(
                name=spec.name or None,
                type=spec.type or None,
                parent_urn=spec.parentUrn or None,
                no_parent=bool(spec.noParent),
            )
        )
    return tuple(found)


@dataclass(frozen=True)
class ResourceRecord:
    """One registered resource: what the program asked for, exactly as the engine received it."""

    type: str
    name: str
    urn: str
    parent_urn: str | None
    inputs: Props
    outputs: Props
    custom: bool
    provider: str | None
    dependencies: tuple[str, ...] = ()  # URNs this resource waits for (`depends_on`, expanded by the SDK)
    # Resource options the engine acts on but no provider sees (so absent from the render's inventory).
    protect: bool = False
    retain_on_delete: bool = False
    aliases: tuple[AliasRecord, ...] = ()

    @property
    def parent_name(self) -> str | None:
        """The parent's logical name (None for children of the stack)."""
        if self.parent_urn is None or self.parent_urn.split("::")[2].endswith("pulumi:pulumi:Stack"):
            return None
        return self.parent_urn.split("::")[-1]

    @property
    def plain_inputs(self) -> Props:
        """Inputs with secret wrappers removed (values revealed)."""
        return unwrap_secrets(self.inputs)


@dataclass
class Records:
    """Everything one program run registered, in registration order."""

    items: list[ResourceRecord] = field(default_factory=list)
    calls: list[tuple[str, Props]] = field(default_factory=list)

    def __iter__(self) -> Iterator[ResourceRecord]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def of_type(self, type_: str) -> list[ResourceRecord]:
        """All records of a type token, e.g. `aws:eks/nodeGroup:NodeGroup`."""
        return [r for r in self.items if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> ResourceRecord:
        """The single record of a type (and name); fails listing what exists otherwise."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = sorted(r.name for r in self.of_type(type_))
            raise LookupError(f"expected one {type_} named {name!r}, found {len(found)} (have {names})")
        return found[0]


def is_secret(value: Any) -> bool:
    """Whether a deserialized property value is a secret wrapper."""
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_VALUE


def unwrap_secrets(value: Any) -> Any:
    """Replace every secret wrapper by its plain value, recursively."""
    if is_secret(value):
        return unwrap_secrets(value["value"])
    if isinstance(value, dict):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def _digest(*parts: str, length: int = 12) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _fake_certificate(name: str) -> str:
    pem = f"-----BEGIN CERTIFICATE-----\nMOCK{_digest('ca', name, length=40)}\n-----END CERTIFICATE-----\n"
    return base64.b64encode(pem.encode()).decode()


def _resource_name(args: pulumi_mocks.MockResourceArgs) -> str:
    """The physical name a provider would give: the explicit `name` input, else the logical name."""
    explicit = args.inputs.get("name")
    return explicit if isinstance(explicit, str) else args.name


def _aws_outputs(args: pulumi_mocks.MockResourceArgs) -> Props:
    name = _resource_name(args)
    service = args.typ.split(":")[1].split("/")[0]
    out: Props = {"arn": f"arn:aws:{service}:us-east-1:{ACCOUNT_ID}:{name}", "tagsAll": args.inputs.get("tags", {})}
    match args.typ:
        case "aws:eks/cluster:Cluster":
            out |= {
                "name": name,
                "endpoint": f"https://{_digest('eks', name).upper()}.gr7.us-east-1.eks.amazonaws.com",
                "certificateAuthority": {"data": _fake_certificate(name)},
                "identities": [
                    {"oidcs": [{"issuer": f"https://oidc.eks.us-east-1.amazonaws.com/id/{_digest('oidc', name)}"}]}
                ],
                "platformVersion": "eks.1",
                "status": "ACTIVE",
                "version": args.inputs.get("version", "1.33"),
                "vpcConfig": {**args.inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{_digest('csg', name)}"},
            }
        case "aws:iam/role:Role":
            out |= {"arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}", "name": name, "uniqueId": _digest("role", name)}
        case "aws:iam/policy:Policy":
            out |= {"arn": f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}", "name": name}
        case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            url = str(args.inputs.get("url", "")).removeprefix("https://")
            out |= {"arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{url}"}
        case "aws:eks/nodeGroup:NodeGroup":
            out |= {
                "status": "ACTIVE",
                "nodeGroupName": args.inputs.get("nodeGroupName", name),
                "resources": [{"autoscalingGroups": [{"name": f"eks-{name}-{_digest('asg', name)}"}]}],
            }
        case "aws:rds/instance:Instance" | "aws:rds/cluster:Cluster":
            address = f"{name}.{_digest('rds', name)}.us-east-1.rds.amazonaws.com"
            port = args.inputs.get("port", 5432)
            out |= {"address": address, "endpoint": f"{address}:{int(port)}", "port": port, "identifier": name}
        case "aws:elasticache/replicationGroup:ReplicationGroup":
            host = f"clustercfg.{name}.{_digest('redis', name)}.use1.cache.amazonaws.com"
            out |= {
                "configurationEndpointAddress": host,
                "primaryEndpointAddress": f"master.{name}.use1.cache.amazonaws.com",
                "readerEndpointAddress": f"replica.{name}.use1.cache.amazonaws.com",
                "port": args.inputs.get("port", 6379),
            }
        case "aws:ec2/vpc:Vpc":
            out |= {"defaultSecurityGroupId": f"sg-{_digest('dsg', name)}", "mainRouteTableId": f"rtb-{_digest(name)}"}
        case "aws:ec2/eip:Eip":
            out |= {"publicIp": "203.0.113.10", "allocationId": f"eipalloc-{_digest(name)}"}
        case "aws:kms/key:Key":
            out |= {"keyId": _digest("kms", name, length=32)}
    return out


def _gcp_outputs(args: pulumi_mocks.MockResourceArgs) -> Props:
    name = _resource_name(args)
    out: Props = {
        "name": name,
        "project": args.inputs.get("project", GCP_PROJECT),
        "selfLink": f"https://www.googleapis.com/compute/v1/projects/{GCP_PROJECT}/global/{name}",
    }
    match args.typ:
        case "gcp:container/cluster:Cluster":
            out |= {
                "endpoint": "10.255.0.2",
                "masterAuth": {
                    **args.inputs.get("masterAuth", {}),
                    "clusterCaCertificate": _fake_certificate(name),
                },
                "masterVersion": args.inputs.get("minMasterVersion", "1.33"),
                "location": args.inputs.get("location", "europe-west1"),
            }
        case "gcp:sql/databaseInstance:DatabaseInstance":
            out |= {
                "connectionName": f"{GCP_PROJECT}:{args.inputs.get('region', 'europe-west1')}:{name}",
                "privateIpAddress": "10.20.0.3",
                "firstIpAddress": "10.20.0.3",
                "ipAddresses": [{"ipAddress": "10.20.0.3", "type": "PRIVATE"}],
            }
        case "gcp:redis/cluster:Cluster":
            out |= {
                "discoveryEndpoints": [{"address": "10.30.0.4", "port": 6379}],
                "managedServerCas": [{"caCerts": [{"certificates": [
                    f"-----BEGIN CERTIFICATE-----\nMOCK{_digest('redis-ca', name, length=40)}\n-----END CERTIFICATE-----\n"
                ]}]}],
            }
        case "gcp:redis/instance:Instance":
            out |= {"host": "10.30.0.5", "port": 6379}
        case "gcp:serviceaccount/account:Account":
            account_id = args.inputs.get("accountId", name)
            out |= {"email": f"{account_id}@{GCP_PROJECT}.iam.gserviceaccount.com"}
        case "gcp:compute/globalAddress:GlobalAddress" | "gcp:compute/address:Address":
            out |= {"address": "10.40.0.0"}
    return out


def _kubernetes_outputs(args: pulumi_mocks.MockResourceArgs) -> Props:
    metadata = dict(args.inputs.get("metadata") or {})
    metadata.setdefault("name", args.name)
    metadata.setdefault("uid", _digest("uid", args.typ, args.name, length=32))
    out: Props = {"metadata": metadata}
    if args.typ == "kubernetes:core/v1:Service":
        out["status"] = {"loadBalancer": {"ingress": [{"ip": "198.51.100.7"}]}}
    if args.typ.startswith("kubernetes:helm.sh/v3:Release"):
        out["status"] = {
            "name": args.inputs.get("name", args.name),
            "namespace": args.inputs.get("namespace", "default"),
            "chart": args.inputs.get("chart"),
            "version": args.inputs.get("version"),
            "status": "deployed",
        }
    return out


def _random_outputs(args: pulumi_mocks.MockResourceArgs) -> Props:
    # Deterministic per logical name, so renders are stable and tests can compare runs.
    seed = _digest("random", args.name, length=32)
    match args.typ:
        case "random:index/randomPassword:RandomPassword" | "random:index/randomString:RandomString":
            length = int(args.inputs.get("length", 32))
            value = (seed * 4)[:length]
            return {"result": value, "bcryptHash": f"$2a$10${seed}"}
        case "random:index/randomId:RandomId":
            return {"hex": seed[:16], "b64Std": base64.b64encode(seed[:8].encode()).decode(), "dec": str(int(seed[:8], 16))}
        case "random:index/randomInteger:RandomInteger":
            low, high = int(args.inputs.get("min", 0)), int(args.inputs.get("max", 100))
            return {"result": low + int(seed, 16) % max(high - low + 1, 1)}
        case "random:index/randomPet:RandomPet":
            return {"id": f"mock-{seed[:6]}"}
    return {}


class RecordingMocks(pulumi_mocks.Mocks):
    """Records every resource and call, and answers with plausible provider-computed outputs."""

    def __init__(self, *, region: str = "us-east-1", zones: int = 4) -> None:
        self.records = Records()
        self.region = region
        self.zones = zones
        self._pending = threading.local()
        self._lock = threading.Lock()

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, Props]:
        provider = args.typ.split(":")[0]
        faked: Props = {}
        if provider == "aws":
            faked = _aws_outputs(args)
        elif provider == "gcp":
            faked = _gcp_outputs(args)
        elif provider == "kubernetes":
            faked = _kubernetes_outputs(args)
        elif provider == "random":
            faked = _random_outputs(args)
        resource_id = faked.pop("id", None) or f"{args.name}-{_digest('id', args.typ, args.name, length=8)}"
        if args.typ.startswith("pulumi:providers:"):
            resource_id = _digest("provider", args.name, length=36)
        state = {**args.inputs, **faked}
        self._pending.registration = (args.inputs, state)
        return resource_id, state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[Props, list[tuple[str, str]]]:
        with self._lock:
            self.records.calls.append((args.token, dict(args.args)))
        letters = "abcdef"[: self.zones]
        match args.token:
            case "aws:index/getAvailabilityZones:getAvailabilityZones":
                names = [f"{self.region}{z}" for z in letters]
                return {"names": names, "zoneIds": [f"use1-az{i + 1}" for i in range(len(names))], "state": "available", "id": self.region}, []
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/mock", "userId": "AIDMOCK", "id": ACCOUNT_ID}, []
            case "aws:index/getRegion:getRegion":
                return {"name": self.region, "region": self.region, "id": self.region, "endpoint": f"ec2.{self.region}.amazonaws.com"}, []
            case "aws:index/getPartition:getPartition":
                return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
            case "aws:iam/getPolicyDocument:getPolicyDocument":
                import json

                statements = unwrap_secrets(args.args.get("statements", []))
                return {"json": json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True), "id": "doc"}, []
            case "aws:ssm/getParameter:getParameter":
                return {"value": f"ami-{_digest('ami', str(args.args.get('name')))}", "name": args.args.get("name"), "type": "String", "id": "param"}, []
            case "gcp:organizations/getClientConfig:getClientConfig":
                return {"project": GCP_PROJECT, "region": self.region, "zone": f"{self.region}-b", "accessToken": "mock-token", "id": "client"}, []
            case "gcp:organizations/getProject:getProject":
                return {"projectId": GCP_PROJECT, "number": "123456789", "name": GCP_PROJECT, "id": GCP_PROJECT}, []
            case "gcp:compute/getZones:getZones":
                region = args.args.get("region", self.region)
                return {"names": [f"{region}-{z}" for z in "bcd"], "project": GCP_PROJECT, "id": region}, []
            case "gcp:container/getEngineVersions:getEngineVersions":
                return {"latestMasterVersion": "1.33.5-gke.1000", "latestNodeVersion": "1.33.5-gke.1000", "validMasterVersions": ["1.33.5-gke.1000"], "defaultClusterVersion": "1.33.5-gke.1000", "id": "versions"}, []
        return {}, []

    def take_pending(self) -> tuple[Props, Props]:
        """The (inputs, outputs) that `new_resource` last saw on this thread."""
        registration: tuple[Props, Props] = getattr(self._pending, "registration", ({}, {}))
        self._pending.registration = ({}, {})
        return registration

    def record(self, record: ResourceRecord) -> None:
        with self._lock:
            self.records.items.append(record)


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also keeps each registration's parent, which `Mocks.new_resource` never sees."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recorder = mocks

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            # new_resource ran on this same thread a moment ago; pick up what it saw.
            inputs, outputs = self.recorder.take_pending()
            self.recorder.record(
                ResourceRecord(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent_urn=request.parent or None,
                    inputs=inputs,
                    outputs=outputs,
                    custom=bool(request.custom),
                    provider=request.provider or None,
                    dependencies=tuple(request.dependencies),
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    aliases=_alias_records(request),
                )
            )
        return response


def run_program(
    program: Callable[[], Any],
    *,
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
    project: str = "isf",
    stack: str = "test",
    mocks: RecordingMocks | None = None,
) -> Records:
    """Run `program` under the recording mocks with the given Pulumi config and return what it registered.

    Each run happens in a fresh context, so runs in one process never see each other's resources or config.
    Exceptions raised by the program (or by an `apply`) propagate.
    """
    engine = mocks or RecordingMocks()

    def _run() -> None:
        pulumi.runtime.set_mocks(
            engine, project=project, stack=stack, preview=False, monitor=_RecordingMonitor(engine)
        )
        set_all_config(dict(config or {}), secret_keys or [])
        _sync_await(run_pulumi_func(program))

    contextvars.Context().run(_run)
    return engine.records
