"""Ingest throughput into PostgreSQL: the store's batched upsert, and end to end through `isf serve api`.

Run: `.venv/bin/python benchmarks/ingest_bench.py [--records 100000] [--batch 5000]`
Uses DATABASE_URL's server (default the local PostgreSQL) with a scratch database it drops afterwards.
Target (issue 4): >= 20,000 records/s, also with two writers posting the same keys in opposite orders
(issue 14: that case deadlocked and answered 503 before rows were written in (function, minute) order).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import repo_root  # noqa: F401  (before tests.support: puts the repository root on sys.path)

from runtime.store import InvocationRecord, open_engine, record_invocations, upgrade
from tests.support.scratch_database import create_scratch_database, drop_scratch_database

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FUNCTIONS = 2000


def records(count: int, offset_minutes: int) -> list[InvocationRecord]:
    return [
        InvocationRecord(f"fn-{i % FUNCTIONS}", T0 + timedelta(minutes=offset_minutes + i // FUNCTIONS), i % 17, 12.5)
        for i in range(count)
    ]


def bench_store(database_url: str, total: int, batch: int, writers: int) -> float:
    engine = open_engine(database_url)
    data = records(total, writers * 10_000_000)  # fresh minutes per run: every row is an insert
    chunks = [data[begin : begin + batch] for begin in range(0, total, batch)]

    def write(share: list[list[InvocationRecord]]) -> None:
        for chunk in share:
            record_invocations(engine, "bench", chunk)

    threads = [threading.Thread(target=write, args=(chunks[k::writers],)) for k in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return total / elapsed


def bench_http(database_url: str, total: int, batch: int, clients: int = 2, *, overlapping: bool = False) -> float:
    """Records/s through the API. `overlapping`: every client posts the same batches, the odd ones with
    the records reversed (the case that deadlocked before writes were ordered); none may fail."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {"DATABASE_URL": database_url, "ISF_INGEST_REQUESTS_PER_MINUTE": "0"}
    env.pop("REDIS_URL", None)
    isf = Path(sys.executable).with_name("isf")
    server = subprocess.Popen([str(isf), "serve", "api", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("isf serve api did not come up")
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        bodies = [
            {"source": "bench-http", "records": [
                {"function_id": r.function_id, "minute": r.minute.isoformat(), "count": r.count,
                 "duration_ms_avg": r.duration_ms_avg} for r in records(batch, 1_000_000 + b * batch)
            ]}
            for b in range(total // (batch * clients) if overlapping else total // batch)
        ]  # fmt: skip
        failures: list[int] = []

        def send(share: list[dict[str, object]]) -> None:
            with httpx.Client(base_url=base, timeout=60) as client:
                for body in share:
                    response = client.post("/v1/invocations", json=body)
                    if response.status_code != 200:
                        failures.append(response.status_code)

        if overlapping:
            def reversed_body(body: dict[str, object]) -> dict[str, object]:
                return body | {"records": list(reversed(body["records"]))}  # type: ignore[call-overload]

            shares = [bodies if k % 2 == 0 else [reversed_body(b) for b in bodies] for k in range(clients)]
        else:
            shares = [bodies[k::clients] for k in range(clients)]
        threads = [threading.Thread(target=send, args=(share,)) for share in shares]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        if failures:
            raise RuntimeError(f"{len(failures)} batches failed: statuses {sorted(set(failures))}")
        return sum(len(share) for share in shares) * batch / elapsed
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description="Ingest throughput into PostgreSQL.")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    database_url = create_scratch_database(server_url, "isf_bench")
    try:
        upgrade(open_engine(database_url))
        rates = {}
        for writers in (1, 2):
            rates[f"store, {writers} writer(s)"] = bench_store(database_url, args.records, args.batch, writers)
        rates["POST /v1/invocations, 2 clients"] = bench_http(database_url, args.records, args.batch)
        rates["POST, 2 clients, same keys (1 reversed)"] = bench_http(
            database_url, args.records, args.batch, overlapping=True
        )
        load = os.getloadavg()[0]
        print(f"ingest into PostgreSQL, batches of {args.batch}, {args.records:,} records per run "
              f"(1-min load average {load:.1f} on {os.cpu_count()} CPUs):")  # fmt: skip
        for name, rate in rates.items():
            verdict = "meets" if rate >= 20_000 else "below"
            print(f"  {name:<34} {rate:>10,.0f} records/s  ({verdict} the 20,000/s target)")
    finally:
        drop_scratch_database(database_url)


if __name__ == "__main__":
    main()
