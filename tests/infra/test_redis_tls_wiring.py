"""Memorystore TLS end to end: the CA in the Redis Secret reaches every control-plane service as a file."""

from __future__ import annotations

from typing import Any

from components.data.credentials import REDIS_CA_KEY
from runtime.contract import environment
from tests.infra.conftest import Render


def _deployments(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"].startswith("isf-")
            and m["metadata"].get("namespace") == "serverless-system"]


def test_every_control_plane_service_reads_the_redis_ca_from_the_redis_secret(render: Render) -> None:
    rendered = render("production")  # GCP: Memorystore with a per-cluster CA
    secret_name = rendered.config.redis.secret_name
    assert rendered.records is not None  # manifests have Secret data redacted; the engine records keep it
    data = rendered.records.one("kubernetes:core/v1:Secret", "isf-redis-credentials").plain_inputs["stringData"]
    assert data[REDIS_CA_KEY].startswith("-----BEGIN CERTIFICATE-----")
    services = _deployments(rendered.manifests)
    assert len(services) == 4
    for deployment in services:
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        path = env[environment.REDIS_CA_CERT_FILE]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        (volume,) = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == secret_name]
        assert {"key": REDIS_CA_KEY, "path": REDIS_CA_KEY} in volume["secret"]["items"]
        assert path == f"{mounts[volume['name']]}/{REDIS_CA_KEY}"
