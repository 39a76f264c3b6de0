"""`isf serve warming` as a real process: configured by the control plane's environment, it takes the Lease,
patches Knative, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml
from sqlalchemy import Engine

from runtime.contract import environment
from runtime.store import Forecast, audit_log, record_forecasts
from tests.runtime.fake_kube import FakeKube
from tests.runtime.test_services_warming import KNATIVE, knative_function, node

NAMESPACE = "isf-lab"
LEASE = f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/isf-warming"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _kubeconfig(path: Path, server: str) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "fake", "user": {"token": "test"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
    }))
    return path


def test_the_warming_service_leads_patches_and_exits_on_sigterm(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    record_forecasts(engine, [Forecast("hello", datetime.now(UTC).replace(second=0, microsecond=0), "m", [30.0] * 15)])
    settings = tmp_path / "settings.yaml"
    settings.write_text("warming: {interval: 1}\n")
    with FakeKube() as kube:
        node(kube, "edge-1", "edge", cpu="4", memory="8Gi")
        knative_function(kube, "hello")
        port = _free_port()
        env = {**os.environ, environment.DATABASE_URL: database_url, environment.SETTINGS_FILE: str(settings),
               "KUBECONFIG": str(_kubeconfig(tmp_path / "kubeconfig", kube.url)), environment.POD_NAME: "warming-0",
               environment.SERVICE: "warming", environment.HTTP_PORT: str(port), environment.NAMESPACE: NAMESPACE}
        env.pop(environment.KUBERNETES_SERVICE_HOST, None)
        env.pop(environment.REDIS_URL, None)
        log = tmp_path / "warming.log"
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("isf")), "serve", "warming", "--host", "127.0.0.1"],
            env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"),
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(r.path.startswith(f"{KNATIVE}/revisions") for r in kube.writes()):
                assert process.poll() is None, log.read_text()[-3000:]
                time.sleep(0.2)
            assert kube.get(LEASE)["spec"]["holderIdentity"] == "warming-0"
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200  # the port ISF_HTTP_PORT names
            # 30/min at the assumed 1 s duration: 0.5 busy x 1.5 buffer -> 1 warm instance.
            assert kube.get(f"{KNATIVE}/revisions/hello-00001")["metadata"]["annotations"][
                "autoscaling.knative.dev/min-scale"] == "1"
            process.send_signal(signal.SIGTERM)
            # uvicorn re-raises the signal after a complete shutdown, so the exit reads as "terminated".
            assert process.wait(timeout=30) in (0, -signal.SIGTERM)
            assert "Application shutdown complete" in log.read_text()
            # Released on the way out (runtime.actuation.leader): a successor need not wait out the lease.
            assert kube.get(LEASE)["spec"].get("holderIdentity") is None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [entry.target for entry in audit_log(engine)] == ["Revision functions/hello-00001"]
