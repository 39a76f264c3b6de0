"""Forecast read latency of `isf serve api` at a fixed request rate with 10,000 functions stored.

Run: `.venv/bin/python benchmarks/read_api_bench.py [--functions 10000] [--rate 200] [--seconds 15]`
Open loop: requests are sent on schedule whatever the server's pace, and latency is measured from the
scheduled send time (no coordinated omission). Two runs: forecasts cached in Redis as the predictor
leaves them, and Redis absent (every read from PostgreSQL). Target (issue 4): p99 <= 50 ms at 200/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import repo_root  # noqa: F401  (before tests.support: puts the repository root on sys.path)
from prometheus_client import CollectorRegistry

from runtime.state.hot_state import HotState
from runtime.store import Forecast, latest_forecasts, open_engine, record_forecasts, upgrade
from tests.support.scratch_database import create_scratch_database, drop_scratch_database

WINDOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def store_forecasts(database_url: str, functions: int) -> list[str]:
    engine = open_engine(database_url)
    upgrade(engine)
    ids = [f"default.fn-{i:05d}" for i in range(functions)]
    rng = np.random.default_rng(7)
    record_forecasts(
        engine, [Forecast(f, WINDOW, "hybrid-bench", rng.poisson(3, 15).astype(float).tolist()) for f in ids]
    )
    engine.dispose()
    return ids


def start_api(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    isf = Path(sys.executable).with_name("isf")
    process = subprocess.Popen([str(isf), "serve", "api", "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)


class KeepAliveConnection:
    """A minimal HTTP/1.1 GET client on one keep-alive socket: the generator must cost far less than the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self._reader, self._writer, self._host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> KeepAliveConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def get(self, path: str) -> tuple[int, bytes]:
        self._writer.write(f"GET {path} HTTP/1.1\r\nHost: {self._host}\r\n\r\n".encode())
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))  # fmt: skip
        return status, await self._reader.readexactly(length)

    def close(self) -> None:
        self._writer.close()


async def drive(base: str, ids: list[str], rate: float, seconds: float) -> tuple[np.ndarray, int, dict[str, int]]:
    """Send `rate` GETs per second for `seconds`; returns latencies (s), error count and where reads came from."""
    host, port = base.removeprefix("http://").split(":")
    pool: asyncio.Queue[KeepAliveConnection] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await KeepAliveConnection.open(host, int(port)))
    latencies: list[float] = []
    errors = 0
    served: dict[str, int] = {}

    async def one(function_id: str, scheduled: float) -> None:
        nonlocal errors
        connection = await pool.get()
        try:
            status, body = await connection.get(f"/v1/functions/{function_id}/forecast")
        finally:
            pool.put_nowait(connection)
        if status != 200:
            errors += 1
            return
        latencies.append(time.perf_counter() - scheduled)
        source = "cache" if b'"served_from":"cache"' in body else "database"
        served[source] = served.get(source, 0) + 1

    tasks = []
    start = time.perf_counter() + 0.1
    for k in range(int(rate * seconds)):
        scheduled = start + k / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(random.choice(ids), scheduled)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().close()
    return np.array(latencies), errors, served


def run(label: str, env: dict[str, str], ids: list[str], rate: float, seconds: float) -> None:
    process, base = start_api(env)
    try:
        asyncio.run(drive(base, ids, rate, 2.0))  # warm-up: connections, caches, JIT-free but lazy imports
        latencies, errors, served = asyncio.run(drive(base, ids, rate, seconds))
    finally:
        process.terminate()
        process.wait(timeout=30)
    p50, p95, p99 = (np.percentile(latencies, q) * 1000 for q in (50, 95, 99))
    verdict = "meets" if p99 <= 50 and not errors else "misses"
    print(f"  {label:<28} {len(latencies):>5} ok, {errors} errors, served {served}; "
          f"p50 {p50:.1f} ms  p95 {p95:.1f} ms  p99 {p99:.1f} ms  max {latencies.max() * 1000:.0f} ms "
          f"({verdict} p99 <= 50 ms)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="Forecast read latency at a fixed request rate.")
    parser.add_argument("--functions", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    database_url = create_scratch_database(server_url, "isf_bench")
    prefix = f"isf-bench-{uuid.uuid4().hex[:8]}:"
    hot_state = HotState.from_url(redis_url, CollectorRegistry(), prefix=prefix)
    try:
        ids = store_forecasts(database_url, args.functions)
        base_env = os.environ | {"DATABASE_URL": database_url, "ISF_MIGRATE_ON_START": "false"}
        print(f"GET /v1/functions/{{id}}/forecast, {args.functions:,} functions stored, {args.rate:.0f} req/s "
              f"for {args.seconds:.0f} s (1-min load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):")
        # As the predictor leaves them: every latest forecast cached in Redis.
        if hot_state.check():
            engine = open_engine(database_url)
            hot_state.put_forecasts({f.function_id: f.to_document() for f in latest_forecasts(engine)})
            engine.dispose()
            run("Redis cache + PostgreSQL", base_env | {"REDIS_URL": redis_url, "ISF_REDIS_PREFIX": prefix},
                ids, args.rate, args.seconds)  # fmt: skip
        else:
            print(f"  (Redis at {redis_url} unreachable: cached run skipped)")
        env = dict(base_env)
        env.pop("REDIS_URL", None)
        run("PostgreSQL only", env, ids, args.rate, args.seconds)
    finally:
        hot_state.clear()
        drop_scratch_database(database_url)


if __name__ == "__main__":
    main()
