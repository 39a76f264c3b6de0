"""How the services start and stop: one clear line and exit 2 when they cannot start, training that
stops for SIGTERM, one training at start on the latest stored window, a Lease released on shutdown."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from runtime.actuation.leader import LeaseLeadership
from runtime.api.config import ServiceSettings
from runtime.api.loop import LoopMetrics, PeriodicLoop
from runtime.contract import environment
from runtime.predictor import ForecasterName
from runtime.services.apps import create_predictor_app
from runtime.services.predictor import PredictorService
from runtime.settings import RuntimeSettings
from runtime.state.hot_state import HotState
from runtime.store import InvocationRecord, latest_forecast, list_models, record_invocations
from tests.runtime.fake_kube import FakeKube
from tests.runtime.test_services_predictor import SETTINGS
from tests.support.api_tokens import local_token_file

ISF = str(Path(sys.executable).with_name("isf"))
TRACE_DAY = datetime(2019, 7, 18, tzinfo=UTC)  # the bundled Azure day is dated 2019


def store_day(engine: Engine, start: datetime, minutes: int = 240) -> None:
    record_invocations(engine, "trace", [
        InvocationRecord(function, start + timedelta(minutes=m), count)
        for m in range(minutes)
        for function, count in (("steady", 30), ("timer", 1 if m % 5 == 0 else 0))
    ])


def predictor(engine: Engine, settings: RuntimeSettings = SETTINGS) -> PredictorService:
    registry = CollectorRegistry()
    return PredictorService(engine, HotState(None, registry), settings, registry, model=ForecasterName.HYBRID)


# --- start-up failures: one line on stderr, exit 2, no traceback ---------------------------------------

def _serve(role: str, env: dict[str, str], *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if k not in (environment.REDIS_URL, environment.KUBERNETES_SERVICE_HOST, environment.DATABASE_URL)}
    return subprocess.run([ISF, "serve", role, "--host", "127.0.0.1", *args], env=base | env,
                          capture_output=True, text=True, timeout=timeout_s, check=False)


def _plain_lines(stderr: str) -> list[str]:
    """stderr without the structured (JSON) log records."""
    lines = []
    for line in stderr.splitlines():
        try:
            json.loads(line)
        except ValueError:
            lines.append(line)
    return lines


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _local_token(tmp_path: Path) -> str:
    """A local token file, as `isf serve api` leaves one (a fresh clone has none: the predictor would warn)."""
    token = tmp_path / "token"
    token.write_text("local-test-token\n")
    token.chmod(0o600)
    return str(token)


def test_an_unreachable_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _serve("predictor", {environment.DATABASE_URL: "postgresql://postgres@127.0.0.1:1/isf",
                                environment.HTTP_PORT: str(_free_port()),
                                environment.LOCAL_TOKEN_FILE: _local_token(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("isf serve predictor: database unreachable at postgresql+psycopg://postgres@127.0.0.1:1/isf")


def test_an_unsupported_database_scheme_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _serve("api", {environment.DATABASE_URL: "mysql://db/isf",
                          environment.LOCAL_TOKEN_FILE: str(tmp_path / "token")})
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "isf serve api: DATABASE_URL uses 'mysql'; only postgresql and sqlite are supported"]


def test_a_taken_port_is_one_line_and_exit_2_before_any_loop_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        done = _serve("predictor", {environment.DATABASE_URL: f"sqlite:///{tmp_path / 'isf.sqlite3'}",
                                    environment.HTTP_PORT: str(port),
                                    environment.LOCAL_TOKEN_FILE: _local_token(tmp_path)}, timeout_s=30)
    assert done.returncode == 2 and time.monotonic() - started < 20, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"isf serve predictor: cannot listen on 127.0.0.1:{port}: Address already in use"]


# --- the predictor: interruptible training, one training at start, the latest stored window -------------

def test_a_stop_during_training_ends_it_within_seconds_and_registers_nothing(engine: Engine) -> None:
    store_day(engine, TRACE_DAY, minutes=600)
    slow = SETTINGS.model_copy(update={"prediction": SETTINGS.prediction.model_copy(update={
        "lstm": SETTINGS.prediction.lstm.model_copy(update={"epochs": 100_000}),
        "hybrid": SETTINGS.prediction.hybrid.model_copy(update={"arima_weight": 0.5, "lstm_weight": 0.5}),
    })})
    service = predictor(engine, slow)
    loop = PeriodicLoop("retrain", 3600, service.retrain, LoopMetrics(CollectorRegistry()),
                        stop_event=service.stopping)
    loop.start()
    time.sleep(2.0)  # well into the (hours-long) LSTM fit
    started = time.monotonic()
    loop.stop()
    assert time.monotonic() - started < 5
    assert service.model is None and list_models(engine) == []


def test_an_imported_past_day_is_trained_on_and_forecast_from_its_end(engine: Engine) -> None:
    store_day(engine, TRACE_DAY)
    service = predictor(engine)
    assert service.readiness()[0] is False  # nothing trained yet
    forecasts = service.refresh()
    assert {f.function_id for f in forecasts} == {"steady", "timer"}
    assert forecasts[0].window_start == TRACE_DAY + timedelta(minutes=240)
    ready, detail = service.readiness()
    assert ready and "2 functions" in detail


def test_with_no_data_readiness_says_so(engine: Engine) -> None:
    service = predictor(engine)
    assert service.refresh() == []
    assert service.readiness() == (True, "no data: nothing stored to train on yet")


def test_the_predictor_trains_once_at_start_and_is_ready_only_with_a_model(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    store_day(engine, TRACE_DAY)
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(json.dumps(SETTINGS.model_dump(mode="json")))
    settings = ServiceSettings(database_url=database_url, migrate_on_start=False, redis_url=None,  # type: ignore[call-arg]
                               settings_file=settings_file, local_token_file=local_token_file())
    app = create_predictor_app(settings)
    with TestClient(app) as client:
        deadline = time.monotonic() + 60
        while (ready := client.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
            assert ready.json()["model"].startswith("starting")
            time.sleep(0.1)
        assert ready.status_code == 200 and "2 functions" in ready.json()["model"]
        time.sleep(1.0)  # a second training would have registered by now
        assert len(list_models(engine)) == 1
        assert latest_forecast(engine, "steady") is not None


# --- leader election: released on shutdown, quiet while leading ---------------------------------------

LEASE = "/apis/coordination.k8s.io/v1/namespaces/platform/leases/warming"
# A long lease: without a release the successor would wait ~15 s.
TIMING = {"lease_duration_s": 15, "renew_deadline_s": 10, "retry_period_s": 1}


def test_a_released_lease_is_taken_over_at_the_successors_next_retry(caplog: pytest.LogCaptureFixture) -> None:
    with FakeKube() as kube, caplog.at_level(logging.INFO):
        leader = LeaseLeadership("warming", "platform", "replica-a", api_client=kube.api_client(), **TIMING)
        leader.start()
        assert leader.wait_until_leader(5)
        successor = LeaseLeadership("warming", "platform", "replica-b", api_client=kube.api_client(), **TIMING)
        successor.start()
        time.sleep(3)  # several renewals and follower retries
        assert not successor.is_leader
        leader.release()
        assert not leader.is_leader
        released_at = time.monotonic()
        assert successor.wait_until_leader(5)
        assert time.monotonic() - released_at < 3  # one retry period, not the 15 s lease
        assert kube.get(LEASE)["spec"]["holderIdentity"] == "replica-b"
        time.sleep(1.5)
        assert not leader.is_leader and kube.get(LEASE)["spec"]["holderIdentity"] == "replica-b"
        successor.release()
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "successfully acquired lease" in m or "has not expired" in m]
    assert messages.count("became leader") == 2 and messages.count("released leadership") == 2


def test_a_loop_releases_its_lease_after_its_last_pass() -> None:
    calls: list[str] = []
    stop = threading.Event()
    loop = PeriodicLoop("warming", 60, lambda: calls.append("pass"), LoopMetrics(CollectorRegistry()),
                        stop_event=stop, on_stop=lambda: calls.append("released"))
    loop.start()
    time.sleep(0.2)
    loop.stop()
    assert calls == ["pass", "released"] and stop.is_set()
