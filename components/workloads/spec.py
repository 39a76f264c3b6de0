"""The typed intent of a long-running workload: what it runs, where, and how it is reached."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Self

from kubernetes.utils import parse_quantity
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from runtime.contract import Tier

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# An OCI reference as the container runtime takes it: name, then a tag, a digest, or both
# (`name:tag`, `name@sha256:<64 hex>`, `name:tag@sha256:<64 hex>`; the tag is then informational).
IMAGE_REFERENCE = re.compile(
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)
DIGEST_SEPARATOR = "@sha256:"
# checkov reads `ID=reason` from a `checkov.io/skip<n>` annotation and splits it on the one `=`.
CHECK_ID = re.compile(r"^CKV_K8S_[0-9]+$")

DnsLabel = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS_LABEL.pattern)]
PortName = Annotated[str, Field(min_length=1, max_length=15, pattern=DNS_LABEL.pattern)]
EnvName = Annotated[str, Field(pattern=ENV_NAME.pattern)]
ImageReference = Annotated[
    str, Field(min_length=1, pattern=IMAGE_REFERENCE.pattern, description="name:tag, name@sha256:..., or both")
]


def is_pinned(image: str) -> bool:
    """True when `image` names its content by digest (immutable: pulling again cannot change it)."""
    return DIGEST_SEPARATOR in image


def image_pull_policy(image: str) -> str:
    """`IfNotPresent` for a digest (the bytes cannot change), `Always` for a tag (a tag can be moved)."""
    return "IfNotPresent" if is_pinned(image) else "Always"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exposure(StrEnum):
    """Who may reach the workload's ports."""

    NONE = "none"  # no Service; only the metrics scraper gets in
    NAMESPACE = "namespace"  # a ClusterIP Service reachable from the workload's own namespace
    CLUSTER = "cluster"  # reachable from every namespace (shared services such as trace collectors)
    HTTP = "http"  # own namespace plus the Istio ingress gateway


class Protocol(StrEnum):
    TCP = "TCP"
    UDP = "UDP"


class Port(_Spec):
    """A named container port; the Service publishes it under the same name."""

    name: PortName
    container_port: Annotated[int, Field(ge=1, le=65535)]
    service_port: Annotated[int | None, Field(ge=1, le=65535)] = None
    protocol: Protocol = Protocol.TCP


class SecretEnv(_Spec):
    """An environment variable read from one key of a Kubernetes Secret (prefer `SecretFile`)."""

    name: EnvName
    secret: DnsLabel
    key: str
    optional: bool = False


SECRET_FILES_DIR = "/var/run/secrets/isf"


class SecretFile(_Spec):
    """One key of a Secret mounted read-only as a file; the env variable `name` holds its path.

    For consumers that read `<VAR>_FILE` (the runtime's DATABASE_URL_FILE): the value never enters the
    environment, where `kubectl describe`, crash dumps and child processes would see it.
    """

    name: EnvName
    secret: DnsLabel
    key: Annotated[str, Field(pattern=r"^[-._a-zA-Z0-9]+$")]

    @property
    def directory(self) -> str:
        return f"{SECRET_FILES_DIR}/{self.secret}"

    @property
    def path(self) -> str:
        return f"{self.directory}/{self.key}"


def check_quantity(value: str, field_name: str) -> str:
    try:
        parse_quantity(value)
    except ValueError as error:
        raise ValueError(f"{field_name}: {value!r} is not a Kubernetes quantity") from error
    return value


class Resources(_Spec):
    """Requests and limits; every container gets both (a secure, schedulable default)."""

    cpu_request: str = "100m"
    memory_request: str = "128Mi"
    cpu_limit: str = "500m"
    memory_limit: str = "256Mi"

    @field_validator("cpu_request", "memory_request", "cpu_limit", "memory_limit")
    @classmethod
    def _is_quantity(cls, value: str, info: object) -> str:
        return check_quantity(value, getattr(info, "field_name", "quantity"))

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Self:
        for resource in ("cpu", "memory"):
            request, limit = getattr(self, f"{resource}_request"), getattr(self, f"{resource}_limit")
            if parse_quantity(request) > parse_quantity(limit):
                raise ValueError(f"{resource}_request ({request}) must not exceed {resource}_limit ({limit})")
        return self


class Probe(_Spec):
    """A health check: an HTTP GET of `path` on a named port, or a command (exactly one)."""

    path: str | None = None
    port: PortName | None = None
    command: list[str] | None = None
    initial_delay_seconds: Annotated[int, Field(ge=0)] = 0
    period_seconds: Annotated[int, Field(ge=1)] = 10
    timeout_seconds: Annotated[int, Field(ge=1)] = 2
    failure_threshold: Annotated[int, Field(ge=1)] = 3

    @model_validator(mode="after")
    def _one_action(self) -> Self:
        if (self.path is None) == (self.command is None):
            raise ValueError("a probe needs exactly one of 'path' (HTTP GET) or 'command' (exec)")
        if self.path is not None and not self.path.startswith("/"):
            raise ValueError(f"probe path must start with '/' (got {self.path!r})")
        return self


class Probes(_Spec):
    """Liveness, readiness and (optionally) startup probes."""

    liveness: Probe | None = Probe(path="/healthz")
    readiness: Probe | None = Probe(path="/readyz")
    startup: Probe | None = None


class Autoscaling(_Spec):
    """A HorizontalPodAutoscaler on CPU utilisation."""

    min_replicas: Annotated[int, Field(ge=1)] = 2
    max_replicas: Annotated[int, Field(ge=1)] = 10
    target_cpu_utilization: Annotated[int, Field(ge=1, le=100)] = 70

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Self:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) must not exceed max_replicas ({self.max_replicas})"
            )
        return self


class DisruptionBudget(_Spec):
    """A PodDisruptionBudget; exactly one of the two bounds."""

    min_available: Annotated[int | None, Field(ge=0)] = None
    max_unavailable: Annotated[int | None, Field(ge=1)] = None

    @model_validator(mode="after")
    def _one_bound(self) -> Self:
        if (self.min_available is None) == (self.max_unavailable is None):
            raise ValueError("a disruption budget needs exactly one of 'min_available' or 'max_unavailable'")
        return self


class Metrics(_Spec):
    """A Prometheus endpoint, scraped through a ServiceMonitor."""

    port: PortName
    path: str = "/metrics"
    interval: Annotated[str, Field(pattern=r"^[0-9]+(ms|s|m|h)$")] = "30s"


class VolumeSource(StrEnum):
    EMPTY_DIR = "emptyDir"
    CONFIG_MAP = "configMap"
    SECRET = "secret"
    PERSISTENT_VOLUME_CLAIM = "persistentVolumeClaim"


class Volume(_Spec):
    """A volume mounted into the container; `source_name` names the ConfigMap/Secret/PVC."""

    name: DnsLabel
    mount_path: str
    source: VolumeSource = VolumeSource.EMPTY_DIR
    source_name: DnsLabel | None = None
    read_only: bool = False
    size_limit: str | None = None

    @model_validator(mode="after")
    def _source_named(self) -> Self:
        if self.source is not VolumeSource.EMPTY_DIR and self.source_name is None:
            raise ValueError(f"volume {self.name!r}: a {self.source.value} volume needs 'source_name'")
        if not self.mount_path.startswith("/"):
            raise ValueError(f"volume {self.name!r}: mount_path must be absolute (got {self.mount_path!r})")
        if self.size_limit is not None:
            check_quantity(self.size_limit, f"volume {self.name!r} size_limit")
        return self


class WorkloadSpec(_Spec):
    """A Deployment's intent; builders derive the Kubernetes objects and secure defaults from it."""

    name: DnsLabel
    image: ImageReference
    command: list[str] = []
    args: list[str] = []
    ports: list[Port] = []
    env: dict[EnvName, str] = {}
    secret_env: list[SecretEnv] = []
    secret_files: list[SecretFile] = []
    env_from_secrets: list[DnsLabel] = Field(default=[], description="Secrets whose every key becomes env")
    resources: Resources = Resources()
    replicas: Annotated[int, Field(ge=0)] = 1
    tier: Tier = Tier.REGIONAL
    gpus: Annotated[int, Field(ge=0, le=8)] = 0
    probes: Probes | None = Probes()
    autoscaling: Autoscaling | None = None
    disruption_budget: DisruptionBudget | None = None
    expose: Exposure = Exposure.NONE
    metrics: Metrics | None = None
    volumes: list[Volume] = []
    service_account: DnsLabel | None = None
    service_account_token: bool | None = Field(
        default=None, description="mount the account's API token; empty = only when service_account is set"
    )
    run_as_user: Annotated[int, Field(ge=1)] = 65532
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    termination_grace_period_seconds: Annotated[int, Field(ge=0, le=3600)] | None = Field(
        default=None, description="empty = Kubernetes' 30 s; cover the process's longest shutdown"
    )
    check_skips: dict[Annotated[str, Field(pattern=CHECK_ID.pattern)], Annotated[str, Field(pattern=r"^[^=]+$")]] = (
        Field(default={}, description="checkov check id -> why it does not apply (a `checkov.io/skip<n>` annotation)")
    )

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        port_names = [port.name for port in self.ports]
        if len(set(port_names)) != len(port_names):
            raise ValueError(f"ports: names must be unique (got {port_names})")
        # HTTP probes and metrics scrapes speak TCP: a UDP-only port would fail them forever.
        tcp_names = [port.name for port in self.ports if port.protocol is Protocol.TCP]
        for role, probe in self._probe_items():
            if probe.path is not None:
                port = probe.port or (tcp_names[0] if tcp_names else None)
                if port not in tcp_names:
                    raise ValueError(
                        f"probes.{role}: an HTTP probe needs a declared TCP port "
                        f"(got {probe.port!r}, TCP ports are {tcp_names}); use 'command' or probes=None"
                    )
        if self.metrics is not None and self.metrics.port not in tcp_names:
            raise ValueError(f"metrics.port {self.metrics.port!r} is not one of the TCP ports {tcp_names}")
        if self.expose is not Exposure.NONE and not self.ports:
            raise ValueError(f"expose={self.expose.value} needs at least one port")
        volume_names = [volume.name for volume in self.volumes] + [f"secret-{s}" for s in self.secret_file_secrets()]
        if "tmp" in volume_names or len(set(volume_names)) != len(volume_names):
            raise ValueError(f"volumes: names must be unique and not 'tmp' (reserved for /tmp); got {volume_names}")
        return self

    @property
    def mounts_token(self) -> bool:
        """Whether the pod gets a Kubernetes API token (only workloads that call the API server should)."""
        return self.service_account is not None if self.service_account_token is None else self.service_account_token

    def secret_file_secrets(self) -> list[str]:
        """The Secrets `secret_files` mount, each once, in first-use order."""
        return list(dict.fromkeys(ref.secret for ref in self.secret_files))

    def _probe_items(self) -> list[tuple[str, Probe]]:
        if self.probes is None:
            return []
        candidates = {"liveness": self.probes.liveness, "readiness": self.probes.readiness,
                      "startup": self.probes.startup}
        return [(role, probe) for role, probe in candidates.items() if probe is not None]

    def probe_port(self, probe: Probe) -> str:
        """The port an HTTP probe targets: its own, else the first declared TCP port."""
        return probe.port or next(port.name for port in self.ports if port.protocol is Protocol.TCP)
