"""Shared fixtures for infrastructure tests: the mock engine and Kubernetes manifest validation.

Run a component (or the whole program) offline and look at what it registered:

    def test_something(run_pulumi):
        records = run_pulumi(lambda: MyComponent("x", MyArgs(...)))
        assert records.one("kubernetes:apps/v1:Deployment").plain_inputs["spec"]["replicas"] == 2

Validate Kubernetes objects (plain dicts) strictly against the API schema of a Kubernetes version:

    def test_manifests_are_valid(validate_manifest):
        validate_manifest({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})

CRD-based kinds (KnativeServing, ClusterIssuer, ServiceMonitor, ...) have no schema in
kubernetes-validate. They must be listed in `KNOWN_CRD_KINDS` (so a typo'd kind still fails) and are
checked for a valid object envelope: apiVersion/kind, a DNS-1123 `metadata.name`, only ObjectMeta keys
in `metadata`, and a `spec` that is a mapping when present. Their bodies are the owning chart's concern.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from infra.mocks import RecordingMocks, Records, run_program
from infra.render import Rendered, render_stack

DEFAULT_KUBERNETES_VERSION = "1.33"

# (apiVersion, kind) of the custom resources our components create; their CRDs ship with the charts.
KNOWN_CRD_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("operator.knative.dev/v1beta1", "KnativeServing"),
        ("serving.knative.dev/v1", "Service"),
        ("cert-manager.io/v1", "ClusterIssuer"),
        ("cert-manager.io/v1", "Issuer"),
        ("cert-manager.io/v1", "Certificate"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("monitoring.coreos.com/v1", "PodMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule"),
        ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"),
        ("postgresql.cnpg.io/v1", "Cluster"),
        ("redis.redis.opstreelabs.in/v1beta2", "RedisCluster"),
        ("opentelemetry.io/v1beta1", "OpenTelemetryCollector"),
        ("opentelemetry.io/v1alpha1", "Instrumentation"),
        ("jaegertracing.io/v1", "Jaeger"),
        ("networking.istio.io/v1", "Gateway"),
        ("security.istio.io/v1", "PeerAuthentication"),
        # The application systems (issue 12, components/apps/); their bodies: tests/infra/test_apps.py.
        ("gateway.networking.k8s.io/v1", "Gateway"),
        ("gateway.networking.k8s.io/v1", "HTTPRoute"),
        ("networking.istio.io/v1alpha3", "EnvoyFilter"),
        ("autoscaling.k8s.io/v1", "VerticalPodAutoscaler"),
        ("serving.kserve.io/v1beta1", "InferenceService"),
    }
)

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_OBJECT_META_KEYS = {"name", "namespace", "labels", "annotations", "generateName", "finalizers", "ownerReferences"}


class ManifestError(AssertionError):
    """A Kubernetes object that would be rejected by the API server."""


def _where(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('apiVersion')}/{obj.get('kind')} {meta.get('namespace', '')}/{meta.get('name', '?')}"


def _validate_crd_envelope(obj: Mapping[str, Any]) -> None:
    where = _where(obj)
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        raise ManifestError(f"{where}: metadata must be a mapping")
    name = meta.get("name")
    if not isinstance(name, str) or len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        raise ManifestError(f"{where}: metadata.name {name!r} is not a DNS-1123 subdomain")
    unknown = set(meta) - _OBJECT_META_KEYS
    if unknown:
        raise ManifestError(f"{where}: unknown metadata keys {sorted(unknown)}")
    for key in ("labels", "annotations"):
        values = meta.get(key, {})
        if not isinstance(values, Mapping) or not all(isinstance(v, str) for v in values.values()):
            raise ManifestError(f"{where}: metadata.{key} must map strings to strings")
    if "spec" in obj and not isinstance(obj["spec"], Mapping):
        raise ManifestError(f"{where}: spec must be a mapping")


def validate_manifest(obj: Mapping[str, Any], version: str = DEFAULT_KUBERNETES_VERSION) -> None:
    """Fail with the object and the offending path unless `obj` is a valid object for Kubernetes `version`."""
    full_version = version if version.count(".") == 2 else f"{version}.0"
    key = (str(obj.get("apiVersion")), str(obj.get("kind")))
    if key in KNOWN_CRD_KINDS:
        _validate_crd_envelope(obj)
        return
    try:
        kubernetes_validate.validate(dict(obj), full_version, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(p) for p in error.path)
        raise ManifestError(f"{_where(obj)} invalid for Kubernetes {version} at '{path}': {error.message}") from None
    except kubernetes_validate.SchemaNotFoundError:
        raise ManifestError(
            f"{_where(obj)}: no schema for Kubernetes {version}; a custom resource must be added to KNOWN_CRD_KINDS"
        ) from None


def validate_manifests(objs: Iterable[Mapping[str, Any]], version: str = DEFAULT_KUBERNETES_VERSION) -> int:
    """Validate every object; return how many were checked."""
    count = 0
    for obj in objs:
        validate_manifest(obj, version)
        count += 1
    return count


@pytest.fixture
def run_pulumi() -> Callable[..., Records]:
    """Run a program (a no-argument callable creating resources) under the recording mocks."""

    def _run(
        program: Callable[[], Any],
        *,
        config: Mapping[str, str] | None = None,
        secret_keys: list[str] | None = None,
        mocks: RecordingMocks | None = None,
        stack: str = "test",
    ) -> Records:
        return run_program(program, config=config, secret_keys=secret_keys, mocks=mocks, stack=stack)

    return _run


@pytest.fixture(name="validate_manifest")
def validate_manifest_fixture() -> Callable[..., None]:
    return validate_manifest


@pytest.fixture(name="validate_manifests")
def validate_manifests_fixture() -> Callable[..., int]:
    return validate_manifests


PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def render() -> Callable[..., Rendered]:
    """Render a stack of this repository under the mock engine (cached per stack and overrides)."""
    cache: dict[tuple[str, tuple[str, ...]], Rendered] = {}

    def _render(stack: str, *overrides: str) -> Rendered:
        key = (stack, overrides)
        if key not in cache:
            cache[key] = render_stack(stack, project_dir=PROJECT_DIR, overrides=list(overrides))
        return cache[key]

    return _render


Render = Callable[..., Rendered]

# (stack, overrides): both stack files as written, each moved to the other cloud, and staging on a cluster
# you already run (`{kubeconfig}` is a kubeconfig file written for the test session).
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "staging-aws": ("staging", ()),
    "production-gcp": ("production", ()),
    "production-aws": ("production", ("cloud=aws", "region=eu-west-1")),
    "staging-gcp": ("staging", ("cloud=gcp", "region=us-central1", "gcp.project=isf-staging")),
    "staging-existing": ("staging", ("cloud=existing", "existing.kubeconfig={kubeconfig}", "existing.context=lab-admin")),
}

# What a team adds to staging with --set: an exposed, scraped API and a GPU function on the GPU pool's tier.
USER_OVERRIDES = (
    (
        "workloads=[{name: orders-api, image: 'ghcr.io/acme/orders:1.4.2', tier: regional, expose: http,"
        " ports: [{name: http, container_port: 8080}], metrics: {port: http}, autoscaling: {max_replicas: 6},"
        " disruption_budget: {min_available: 1}}]"
    ),
    "functions[1]={name: embed, image: 'ghcr.io/acme/embed:0.3', tier: cloud, gpus: 1}",
)

LAB_KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "lab", "cluster": {"server": "https://lab.example:6443", "certificate-authority-data": "Q0E="}}],
    "users": [{"name": "lab", "user": {"token": "lab-token-do-not-print"}}],
    "contexts": [
        {"name": "lab", "context": {"cluster": "lab", "user": "lab"}},
        {"name": "lab-admin", "context": {"cluster": "lab", "user": "lab", "namespace": "default"}},
    ],
    "current-context": "lab",
}


@pytest.fixture(scope="session")
def lab_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(yaml.safe_dump(LAB_KUBECONFIG))
    return path


def render_variant(render: Render, name: str, kubeconfig: Path) -> Rendered:
    stack, overrides = VARIANTS[name]
    return render(stack, *(o.format(kubeconfig=kubeconfig) for o in overrides))


@pytest.fixture(params=list(VARIANTS))
def variant(request: pytest.FixtureRequest, render: Render, lab_kubeconfig: Path) -> Rendered:
    return render_variant(render, request.param, lab_kubeconfig)
