"""Reliability of ingest: kill -9 of the api mid-load, a PostgreSQL crash mid-load, fuzzing the schema.

These run real processes: `isf serve api` under uvicorn, and a private PostgreSQL (initdb into a temp
dir, own port) that the test crashes and restarts; the machine's shared PostgreSQL is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from glob import glob
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine, func, select

from runtime.api.app import create_api_app
from runtime.api.config import ServiceSettings
from runtime.store import invocations_between, open_engine
from runtime.store.schema import Invocation
from tests.support.api_tokens import AUTH, local_token_file

pytestmark = pytest.mark.slow

T0 = datetime(2024, 5, 1, tzinfo=UTC)
MINUTES_PER_BATCH = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def batch_body(number: int) -> dict[str, object]:
    """Batch `number`: its own function, MINUTES_PER_BATCH minutes, every count = number + 1."""
    return {
        "source": "reliability",
        "records": [
            {"function_id": f"batch-{number}", "minute": (T0 + timedelta(minutes=m)).isoformat(), "count": number + 1}
            for m in range(MINUTES_PER_BATCH)
        ],
    }


def stored_counts(engine: Engine, number: int) -> list[int]:
    rows = invocations_between(engine, f"batch-{number}", T0, T0 + timedelta(days=1))
    return [row.count for row in rows]


def total_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Invocation)).scalar_one()


# --- kill -9 of the api ------------------------------------------------------------------------------


def start_api(database_url: str, port: int, stderr: int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    isf = Path(sys.executable).with_name("isf")
    env = os.environ | {
        "DATABASE_URL": database_url,
        "ISF_INGEST_REQUESTS_PER_MINUTE": "0",
        "ISF_MIGRATE_ON_START": "false",  # the test session migrated it already
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [str(isf), "serve", "api", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=stderr,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("isf serve api did not become healthy within 60 s")


@pytest.fixture
def api_processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_kill_9_during_sustained_ingest_loses_no_acknowledged_record_and_retries_add_no_duplicates(
    engine: Engine, database_url: str, api_processes: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    api_processes.append(start_api(database_url, port))
    url = f"http://127.0.0.1:{port}/v1/invocations"
    acknowledged: set[int] = set()
    unacknowledged: set[int] = set()

    def send_continuously(first: int) -> None:
        number = first
        with httpx.Client(timeout=10) as client:
            while True:
                try:
                    response = client.post(url, json=batch_body(number))
                    (acknowledged if response.status_code == 200 else unacknowledged).add(number)
                except httpx.TransportError:
                    unacknowledged.add(number)
                    return  # the server is gone; this client will retry after it restarts
                number += 2

    senders = [threading.Thread(target=send_continuously, args=(first,)) for first in (0, 1)]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    api_processes[0].send_signal(signal.SIGKILL)  # mid-flight: both senders are posting continuously
    api_processes[0].wait(timeout=10)
    for sender in senders:
        sender.join(timeout=30)
    assert len(acknowledged) >= 20 and unacknowledged, "the kill must land during sustained ingest"

    lost = [n for n in acknowledged if stored_counts(engine, n) != [n + 1] * MINUTES_PER_BATCH]
    assert not lost, f"acknowledged batches missing after kill -9: {sorted(lost)[:5]}"

    # Clients retry what was not acknowledged, and (at-least-once) some of what was.
    api_processes.append(start_api(database_url, port))
    retried = sorted(unacknowledged) + sorted(acknowledged)[:10]
    with httpx.Client(timeout=10) as client:
        for number in retried:
            assert client.post(url, json=batch_body(number)).json() == {"accepted": MINUTES_PER_BATCH}
    every_batch = acknowledged | unacknowledged
    assert total_rows(engine) == len(every_batch) * MINUTES_PER_BATCH
    assert all(stored_counts(engine, n) == [n + 1] * MINUTES_PER_BATCH for n in every_batch)


def test_sigterm_stops_the_api_cleanly_with_structured_logs(
    engine: Engine, database_url: str, api_processes: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    process = start_api(database_url, port, stderr=subprocess.PIPE)
    api_processes.append(process)
    assert httpx.post(f"http://127.0.0.1:{port}/v1/invocations", json=batch_body(1)).status_code == 200
    process.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the captured SIGTERM so the exit status reports it.
    assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    assert process.stderr is not None
    lines = [json.loads(line) for line in process.stderr.read().decode().splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    assert "service stopping: in-flight requests finished, closing connections" in messages
    request = next(line for line in lines if line["message"] == "request")
    assert request["service"] == "api" and request["status"] == 200 and request["path"] == "/v1/invocations"


# --- a private PostgreSQL crashed and restarted mid-load ----------------------------------------------


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temp dir on its own port, run as the `postgres` user if root."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.data_dir = Path(tempfile.mkdtemp(prefix="isf-private-pg-"))
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data_dir), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:  # initdb refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        # fsync off only speeds the test: a crashed server process (not machine) keeps its OS-cached WAL.
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data_dir), "-o", options, "-w", "-t", "60", "-l",
                  str(self.data_dir / "server.log"), "start")  # fmt: skip

    def crash(self) -> None:
        """Stop without a shutdown checkpoint (like a crash); the next start runs WAL recovery."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        try:
            self.crash()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    candidates = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin; cannot run a private server")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as a non-root user")
    server = PrivatePostgres(Path(candidates[-1]).parent)
    try:
        server.start()
        yield server
    finally:
        server.remove()


def test_a_postgres_crash_mid_load_answers_503_with_retry_after_and_writes_nothing_by_halves(
    private_postgres: PrivatePostgres,
) -> None:
    from fastapi.testclient import TestClient

    config = ServiceSettings(database_url=private_postgres.url, retry_after_s=3, ingest_requests_per_minute=0,
                             local_token_file=local_token_file())
    outcomes: dict[int, int] = {}
    restarted = threading.Event()

    def crash_and_restart() -> None:
        private_postgres.crash()
        time.sleep(1.0)
        private_postgres.start()
        restarted.set()

    with TestClient(create_api_app(config), headers=AUTH) as client:
        crasher = threading.Thread(target=crash_and_restart)
        number, deadline = 0, time.monotonic() + 90
        acknowledged_after_restart = 0
        while acknowledged_after_restart < 10 and time.monotonic() < deadline:
            response = client.post("/v1/invocations", json=batch_body(number))
            outcomes[number] = response.status_code
            if response.status_code == 503:
                assert response.headers["Retry-After"] == "3"
            else:
                assert response.status_code == 200, response.text
                acknowledged_after_restart += restarted.is_set()
            if number == 10:
                crasher.start()
            number += 1
        crasher.join(timeout=90)

    assert 503 in outcomes.values(), "the outage must have been seen by some requests"
    assert acknowledged_after_restart >= 10, "ingest must recover once PostgreSQL is back"
    engine = open_engine(private_postgres.url)
    for batch_number, status in outcomes.items():
        counts = stored_counts(engine, batch_number)
        if status == 200:
            assert counts == [batch_number + 1] * MINUTES_PER_BATCH, f"acknowledged batch {batch_number} lost"
        else:  # refused: either rolled back entirely, or committed entirely just before the crash
            assert counts in ([], [batch_number + 1] * MINUTES_PER_BATCH), f"batch {batch_number} half-written"
    engine.dispose()


# --- fuzzing the OpenAPI schema -------------------------------------------------------------------------


@pytest.fixture
def api_schema(engine: Engine, database_url: str) -> schemathesis.BaseSchema:
    config = ServiceSettings(database_url=database_url, migrate_on_start=False, ingest_requests_per_minute=0)
    return schemathesis.openapi.from_asgi("/openapi.json", create_api_app(config))


# Generating from a whole API schema can trip too_slow / filter_too_much on a loaded machine; max_examples bounds it.
ALL_HEALTH_CHECKS: list[HealthCheck] = list(HealthCheck)  # pyright: ignore[reportAssignmentType]
EXAMPLES_PER_OPERATION = int(os.environ.get("ISF_FUZZ_EXAMPLES", "30"))  # x 13 operations: a few hundred requests, bounded


def test_no_request_generated_from_the_openapi_schema_gets_a_server_error(api_schema: schemathesis.BaseSchema) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]  # pyright: ignore[reportAttributeAccessIssue]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=ALL_HEALTH_CHECKS)  # fmt: skip
        def no_server_error(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        no_server_error()
