"""`isf loop`: the four services as real processes against one simulated cluster, replaying a trace.

Design (why one parent process holds everything shared): the parent runs the simulated cluster, the
simulated clock and its barrier, and serves them on one loopback HTTP port (`api_server.py`); the
services reach the cluster through a generated kubeconfig (the `kubernetes` client's own path) and
the clock through $ISF_CLOCK. One in-memory model behind one lock is simpler and more robust than a
shared-file cluster state (no cross-process locking, no torn writes), and it dies with the parent.

Each simulated minute k (time T0 + k min) goes:
  1. at T(k): every barrier loop due (warming every `warming.interval`, placement every
     `placement.optimization_interval`) runs its pass; the clock waits until all have finished;
  2. the cluster serves minute k's requests with the revisions' annotations as they now are (cold
     starts, pods, waste);
  3. at T(k) + 30 s: minute k-1 is POSTed to the api's /v1/invocations (the collector stores a
     minute about 90 s after it began, `runtime/warming/deployed.py`), then the clock moves on and the
     passes due then run, and so on to T(k+1), paced to `speed` minutes of trace per wall minute.
The predictor follows the clock without holding it (an LSTM retrain takes seconds of CPU); its
forecasts only size warm pools, not which functions are warm, so the measured figures stay exact.

What is compared with `isf simulate`'s `predictive-deployed` on the same window and functions
(`LoopReport.comparison`): total cold starts (invocation minutes without a ready pod) and app-level
wasted memory (minutes with a ready pod and no request, x the function's memory, MB-minutes).

Cold starts and the posted minutes are *measured* as in production: the cluster's Knative series go
into a simulated Prometheus (`prometheus.py`: `kn_revision_pods_count`, the queue-proxy's request
histogram) and the collector's own `collect_minute` queries it over HTTP; the records it returns
(count, latency, cold starts, ready pods) are what is posted and what the report adds up. The api exports
`isf_invocations_total`, `isf_cold_starts_total`, `isf_wasted_memory_mb_seconds_total` and
`isf_cost_usd_total` from them (runtime/ingest/counters.py); the cluster's /isf/v1/metrics serves only its
Knative series, so every `isf_*` series has one exporter.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from runtime.cluster_sim.api_server import CLOCK_PATH, METRICS_PATH, PROMETHEUS_PATH, ClusterApiServer
from runtime.cluster_sim.clock import BarrierClock
from runtime.cluster_sim.knative import FunctionSpec, MinuteOutcome, SimulatedCluster
from runtime.cluster_sim.prometheus import SimulatedPrometheus
from runtime.contract import environment
from runtime.ingest.prometheus_collector import CollectorConfig, collect_minute
from runtime.settings import RuntimeSettings
from runtime.store.invocations import InvocationRecord
from runtime.traces.trace import Trace

ROLES = ("api", "predictor", "warming", "placement")
BARRIER = frozenset({"warming", "placement"})
HOLD_CLOCK = BARRIER | {"api"}
"""What each simulated minute waits for: the barrier loops' passes and the api's ingest of the minute."""
EPOCH = datetime(2019, 7, 15, tzinfo=UTC)
"""Trace minute 0 on the simulated clock (the Azure Functions 2019 trace is from July 2019)."""
INGEST_LAG = timedelta(seconds=30)
"""Minute k-1 is stored at T(k) + INGEST_LAG, as the collector does it (settle 30 s after the minute ends)."""
START_TIMEOUT_S = 120.0
PASS_TIMEOUT_S = 300.0
SOURCE = "isf-loop"


class LoopError(RuntimeError):
    """The loop could not run (a service did not start, a pass never finished); one line for the user."""


@dataclass(frozen=True)
class LoopConfig:
    trace: str
    minutes: int = 120
    start_minute: int = 0
    speed: float = 60.0
    functions: int | None = None
    workdir: Path | None = None


@dataclass
class Totals:
    cold_starts: int = 0
    invocations: int = 0
    wasted_mb_minutes: float = 0.0
    cost_usd: float = 0.0

    def pct_of(self, other: Totals) -> dict[str, float | None]:
        def pct(a: float, b: float) -> float | None:
            return None if b == 0 else round(100.0 * (a - b) / b, 3)

        return {"cold_starts_pct": pct(self.cold_starts, other.cold_starts),
                "wasted_memory_pct": pct(self.wasted_mb_minutes, other.wasted_mb_minutes)}


@dataclass
class LoopReport:
    trace: str
    functions: int
    start_minute: int
    minutes: int
    speed: float
    wall_seconds: float = 0.0
    loop: Totals = field(default_factory=Totals)
    predictive_deployed: Totals = field(default_factory=Totals)
    fixed_10: Totals = field(default_factory=Totals)
    idle_pod_mb_minutes: float = 0.0
    series: dict[str, list[float]] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)
    """Each service's `/metrics` and the cluster's (key `cluster`) while the loop runs (the dashboard previews)."""

    @property
    def trace_minutes_per_wall_minute(self) -> float:
        return self.minutes / max(self.wall_seconds / 60.0, 1e-9)

    @property
    def comparison(self) -> dict[str, float | None]:
        """The loop's cold starts and wasted memory relative to `predictive-deployed` (percent, + = more)."""
        return self.loop.pct_of(self.predictive_deployed)

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        del body["endpoints"]  # the services' ports, gone with the run
        body["trace_minutes_per_wall_minute"] = round(self.trace_minutes_per_wall_minute, 2)
        body["comparison_with_predictive_deployed"] = self.comparison
        body["definitions"] = {
            "cold_starts": "invocation minutes in which the function had no ready pod (one per minute), measured "
                           "by the collector from kn_revision_pods_count (runtime/ingest/prometheus_collector.py)",
            "wasted_mb_minutes": "minutes with a ready pod and no invocation, x the function's memory (app level)",
            "idle_pod_mb_minutes": "every ready pod above the minute's need, x memory (instance level, loop only)",
            "cost_usd": "cost.cold_start_usd x cold starts + cost.memory_gb_second_usd x wasted GB-seconds",
        }
        return body


def window_trace(trace: Trace, start: int, minutes: int, functions: int | None) -> Trace:
    """The first `functions` rows of minutes [start, start + minutes), one row per application."""
    if start < 0 or minutes < 1 or start + minutes > trace.n_minutes:
        raise LoopError(f"window {start}..{start + minutes} is outside the trace's {trace.n_minutes} minutes")
    window = trace.window(start, start + minutes).by_app()
    if functions is None or functions >= window.n_functions:
        return window
    keep = slice(0, functions)
    return Trace(
        window.owners[keep], window.apps[keep], window.functions[keep], window.counts[keep], window.first_minute,
        window.duration_ms[keep], window.duration_percentiles_ms[keep], window.memory_mb[keep],
        window.triggers[keep] if window.triggers else (),
    )  # fmt: skip


def _cost(cold: float, wasted_mb_minutes: float, settings: RuntimeSettings) -> float:
    return cold * settings.cost.cold_start_usd + wasted_mb_minutes * 60.0 / 1024.0 * settings.cost.memory_gb_second_usd


def simulated(trace: Trace, policy: str, settings: RuntimeSettings) -> tuple[Totals, np.ndarray, np.ndarray]:
    """`isf simulate`'s figures for `policy` on `trace`: totals and cumulative cold starts / waste per minute."""
    from runtime.sim.policies import make_policy
    from runtime.sim.replay import app_profile, replay

    counts = trace.counts
    loaded = replay(counts, app_profile(trace), make_policy(policy, settings))  # type: ignore[arg-type]
    invoked = counts > 0
    cold = (invoked & ~loaded).sum(axis=0)
    wasted = ((loaded & ~invoked) * trace.memory_mb[:, None]).sum(axis=0)
    totals = Totals(int(cold.sum()), int(counts.sum()), float(wasted.sum()),
                    _cost(float(cold.sum()), float(wasted.sum()), settings))
    return totals, np.cumsum(cold), np.cumsum(wasted)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


FOLLOWER_NICE = 10
"""How much nicer than the others the services that hold no clock run (the predictor): on a busy machine
the passes the clock waits for get the CPU first, and a retrain (LSTM, seconds of CPU) takes what is left."""


def _start_child(nice: int) -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):  # no orphan if the parent dies
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if nice:
        os.nice(nice)


@dataclass
class _Service:
    role: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def last_line(self) -> str:
        try:
            lines = [line for line in self.log.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            return ""
        for line in reversed(lines):  # a start-up failure is one plain line; JSON logs carry a message
            if not line.startswith("{"):
                return line.strip()
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if record.get("level") in ("ERROR", "CRITICAL"):
                    return str(record.get("message", line))
        return lines[-1].strip() if lines else ""


class ServiceProcesses:
    """`isf serve ROLE` for each role, started together and stopped together (SIGTERM, then SIGKILL)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self._env, self._logs = env, logs
        self.services: list[_Service] = []

    def start(self, roles: tuple[str, ...] = ROLES) -> None:
        for role in roles:
            port = _free_port()
            log = self._logs / f"{role}.log"
            env = {**self._env, environment.HTTP_PORT: str(port), environment.POD_NAME: f"isf-loop-{role}"}
            with log.open("wb") as handle:
                process = subprocess.Popen(
                    [sys.executable, "-c", "from runtime.cli import main; main()", "serve", role,
                     "--host", "127.0.0.1", "--port", str(port)],
                    env=env, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    preexec_fn=functools.partial(_start_child, 0 if role in HOLD_CLOCK else FOLLOWER_NICE),  # noqa: PLW1509 - a prctl and a nice only
                )
            self.services.append(_Service(role, port, process, log))

    def check_alive(self) -> None:
        for service in self.services:
            code = service.process.poll()
            if code is not None:
                detail = service.last_line() or f"exit status {code}"
                raise LoopError(f"isf serve {service.role} stopped (exit {code}): {detail}")

    def wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        pending = list(self.services)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                self.check_alive()
                for service in list(pending):
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(f"http://127.0.0.1:{service.port}/healthz").status_code == 200:
                            pending.remove(service)
                if time.monotonic() > deadline:
                    raise LoopError(f"services did not answer /healthz within {timeout_s:.0f} s: "
                                    + ", ".join(s.role for s in pending))
                time.sleep(0.2)

    def port(self, role: str) -> int:
        return next(s.port for s in self.services if s.role == role)

    def stop(self, timeout_s: float = 25.0) -> None:
        for service in self.services:
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for service in self.services:
            try:
                service.process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait(5)


Progress = Callable[[int, "LoopReport", MinuteOutcome], None]
"""Called after each simulated minute with (minutes done, the report so far, that minute's outcome)."""


def _environment(run_dir: Path, kubeconfig: Path, clock_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in (environment.KUBERNETES_SERVICE_HOST, environment.SERVICE, environment.FUNCTION_NAMESPACES,
                        environment.PROMETHEUS_URL, environment.HTTP_PORT)}
    env.update({
        environment.DATABASE_URL: os.environ.get(environment.DATABASE_URL) or f"sqlite:///{run_dir / 'isf.sqlite3'}",
        environment.REDIS_PREFIX: f"isf-loop-{os.getpid()}-{secrets.token_hex(3)}:",
        "KUBECONFIG": str(kubeconfig),
        environment.CLOCK: clock_url,
        environment.MIGRATE_ON_START: "false",  # the parent migrated once: four concurrent upgrades would race
        environment.LOCAL_TOKEN_FILE: str(run_dir / "token"),
        environment.INGEST_REQUESTS_PER_MINUTE: "0",
        environment.API_REQUESTS_PER_MINUTE: "0",
        environment.LOG_LEVEL: os.environ.get(environment.LOG_LEVEL, "WARNING"),
        environment.OTEL_DISABLED: "true",
    })
    env.pop(environment.DATABASE_URL_FILE, None)
    if environment.REDIS_URL not in os.environ:
        env.pop(environment.REDIS_URL_FILE, None)
    return env


def _prepare_store(database_url: str, trace: Trace) -> None:
    from runtime.store.engine import open_engine
    from runtime.store.functions import FunctionInfo, upsert_functions
    from runtime.store.migrate import upgrade

    engine = open_engine(database_url)
    try:
        upgrade(engine)
        upsert_functions(engine, [FunctionInfo(f, memory_mb=float(m)) for f, m in
                                  zip(trace.functions, trace.memory_mb.tolist(), strict=True)])
    finally:
        engine.dispose()


@contextlib.contextmanager
def _run_dir(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="isf-loop-") as folder:
        yield Path(folder)


def run_loop(config: LoopConfig, trace: Trace, *, settings: RuntimeSettings | None = None,
             progress: Progress | None = None, on_started: Callable[[str], None] | None = None) -> LoopReport:
    """Replay `config`'s window of `trace` through the four services and the simulated cluster.

    `settings` must be what the services load ($ISF_SETTINGS_FILE, else the defaults)."""
    from runtime.sim.policies import make_policy

    settings = settings or RuntimeSettings()
    window = window_trace(trace, config.start_minute, config.minutes, config.functions)
    report = LoopReport(config.trace, window.n_functions, config.start_minute, config.minutes, config.speed)
    make_policy("predictive-deployed", settings)  # fail on a bad setting before any process starts
    report.predictive_deployed, deployed_cold, deployed_waste = simulated(window, "predictive-deployed", settings)
    report.fixed_10, fixed_cold, fixed_waste = simulated(window, "fixed-10", settings)
    t0 = EPOCH + timedelta(minutes=config.start_minute)

    cluster = SimulatedCluster()
    for function_id, memory in zip(window.functions, window.memory_mb.tolist(), strict=True):
        cluster.deploy(FunctionSpec(function_id, float(memory)))
    durations = dict(zip(window.functions, window.duration_ms.tolist(), strict=True))
    clock = BarrierClock(t0, BARRIER)
    knative_series = SimulatedPrometheus()
    series: dict[str, list[float]] = {k: [] for k in ("cold_starts", "wasted_mb_minutes", "warm_mb",
                                                        "fixed10_cold_starts", "fixed10_wasted_mb_minutes",
                                                        "deployed_cold_starts", "deployed_wasted_mb_minutes")}
    report.series = series
    alive = threading.Event()
    alive.set()

    with _run_dir(config.workdir) as run_dir, ClusterApiServer(
        cluster, clock, metrics=knative_series.exposition, prometheus=knative_series
    ) as server:
        kubeconfig = server.write_kubeconfig(run_dir / "kubeconfig")
        env = _environment(run_dir, kubeconfig, server.url + CLOCK_PATH)
        (run_dir / "token").write_text(secrets.token_urlsafe(32) + "\n", encoding="utf-8")
        os.chmod(run_dir / "token", 0o600)
        token = (run_dir / "token").read_text(encoding="utf-8").strip()
        _prepare_store(env[environment.DATABASE_URL], window)
        processes = ServiceProcesses(env, run_dir)
        watcher_stop = threading.Event()

        def watch() -> None:  # a service that dies mid-run releases the barrier's waits
            while not watcher_stop.wait(0.5):
                if any(s.process.poll() is not None for s in processes.services):
                    alive.clear()
                    return

        try:
            processes.start()
            processes.wait_healthy(START_TIMEOUT_S)
            report.endpoints = {s.role: f"http://127.0.0.1:{s.port}/metrics" for s in processes.services}
            report.endpoints["cluster"] = server.url + METRICS_PATH
            threading.Thread(target=watch, name="loop-watch", daemon=True).start()
            if not clock.wait_idle(START_TIMEOUT_S, alive):
                processes.check_alive()
                raise LoopError("warming and placement did not take their Leases and finish a first pass in time")
            if on_started is not None:
                on_started(server.url)
            api = httpx.Client(base_url=f"http://127.0.0.1:{processes.port('api')}", timeout=60.0,
                               headers={"Authorization": f"Bearer {token}"})
            measure = _Measurement(server.url + PROMETHEUS_PATH)
            measured: list[InvocationRecord] = []
            started = time.monotonic()
            counts = window.counts
            for k in range(config.minutes):
                minute_start = t0 + timedelta(minutes=k)
                wanted = started + k * 60.0 / config.speed if config.speed > 0 else started
                time.sleep(max(0.0, wanted - time.monotonic()))
                if not clock.advance_through(minute_start, PASS_TIMEOUT_S, alive):
                    processes.check_alive()
                    raise LoopError(f"a control pass at {minute_start.isoformat()} did not finish in time")
                outcome = cluster.step({f: int(c) for f, c in zip(window.functions, counts[:, k].tolist(),
                                                                   strict=True) if c}, durations)
                knative_series.scrape_minute(minute_start, ((f.function_id, f.invocations, f.ready_pods,
                                                             durations[f.function_id]) for f in outcome.functions),
                                             cluster.revision_of)
                previous, measured = measured, measure(minute_start)
                report.loop.cold_starts += sum(r.cold_starts or 0 for r in measured)
                report.loop.invocations += sum(r.count for r in measured)
                report.loop.wasted_mb_minutes += outcome.wasted_mb_minutes
                report.idle_pod_mb_minutes += outcome.idle_mb_minutes
                report.loop.cost_usd = _cost(report.loop.cold_starts, report.loop.wasted_mb_minutes, settings)
                series["cold_starts"].append(report.loop.cold_starts)
                series["wasted_mb_minutes"].append(report.loop.wasted_mb_minutes)
                series["warm_mb"].append(outcome.warm_mb)
                series["fixed10_cold_starts"].append(float(fixed_cold[k]))
                series["fixed10_wasted_mb_minutes"].append(float(fixed_waste[k]))
                series["deployed_cold_starts"].append(float(deployed_cold[k]))
                series["deployed_wasted_mb_minutes"].append(float(deployed_waste[k]))
                if k >= 1:
                    _post_minute(api, previous)
                if not clock.advance_through(minute_start + INGEST_LAG, PASS_TIMEOUT_S, alive):
                    processes.check_alive()
                    raise LoopError(f"a control pass at {(minute_start + INGEST_LAG).isoformat()} did not finish")
                report.wall_seconds = time.monotonic() - started
                if progress is not None:
                    progress(k + 1, report, outcome)
            _post_minute(api, measured)  # the last minute too, so the api's counters hold the whole run
            measure.close()
            api.close()
        finally:
            watcher_stop.set()
            processes.stop()
    return report


class _Measurement:
    """The collector's `collect_minute` against the simulated Prometheus: a minute's measured records."""

    def __init__(self, prometheus_url: str) -> None:
        self._config = CollectorConfig(prometheus_url=prometheus_url, source=SOURCE)
        self._client = httpx.Client(timeout=self._config.timeout_s)

    def __call__(self, minute: datetime) -> list[InvocationRecord]:
        records = collect_minute(self._client, self._config, minute)
        unmeasured = [r.function_id for r in records if r.count and r.cold_starts is None]
        if unmeasured:
            raise LoopError(f"no kn_revision_pods_count for {len(unmeasured)} function(s), e.g. {unmeasured[0]}")
        return records

    def close(self) -> None:
        self._client.close()


def _post_minute(api: httpx.Client, measured: list[InvocationRecord]) -> None:
    """One minute's records as the collector measured them: the invoked functions' and the idle warm ones'."""
    records = [
        {"function_id": r.function_id, "minute": r.minute.isoformat(), "count": r.count,
         "duration_ms_avg": r.duration_ms_avg, "cold_starts": r.cold_starts, "ready_pods": r.ready_pods}
        for r in measured if r.count > 0 or r.ready_pods
    ]
    if not records:
        return
    response = api.post("/v1/invocations", json={"source": SOURCE, "records": records})
    if response.status_code != 200:
        raise LoopError(f"POST /v1/invocations answered {response.status_code}: {response.text[:200]}")
