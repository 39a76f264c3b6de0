"""`isf loop` replay speed: a day of the bundled 500 functions through the four services (target <= 10 min).

    .venv/bin/python benchmarks/loop_bench.py [--minutes 1440] [--functions 500] [--start-minute 0]

Prints progress every hour of trace (wall seconds and each process's CPU seconds in that hour, which
show a cost that grows through the day even on a busy machine), then the wall time, trace minutes per wall minute, the CPU
seconds each process used (the services' from /proc, so the figure can be read on a busy machine),
the load average, and the loop's figures next to `isf simulate`'s `predictive-deployed` on the same
window. With DATABASE_URL naming a PostgreSQL server the run gets a scratch database of its own
(dropped at the end); otherwise the loop's own SQLite file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import repo_root  # noqa: F401  (puts the repository root on sys.path)

from runtime.cluster_sim.loop import LoopConfig, run_loop
from runtime.store.engine import normalize_url
from runtime.traces import load_trace
from tests.support.scratch_database import create_scratch_database, drop_scratch_database

TARGET_S = 600.0


def _children_cpu_s() -> dict[str, float]:
    """CPU seconds (user + system) of each `isf serve ROLE` child of this process, by role."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != os.getpid():
                continue
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
            role = argv[argv.index(b"serve") + 1].decode()
            found[role] = (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, ValueError, IndexError):
            continue
    return found


def _own_cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _backend() -> str:
    url = os.environ.get("DATABASE_URL")
    return "SQLite (the loop's own file)" if not url else normalize_url(url).get_backend_name()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trace", default="sampled-500fn-1day")
    parser.add_argument("--minutes", type=int, default=1440)
    parser.add_argument("--start-minute", type=int, default=0)
    parser.add_argument("--functions", type=int, default=500)
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL")
    scratch = None
    if server and normalize_url(server).get_backend_name() == "postgresql":
        scratch = create_scratch_database(server, "isf_loop_bench")
        os.environ["DATABASE_URL"] = scratch
    try:
        _run(args)
    finally:
        if scratch is not None:
            drop_scratch_database(scratch)


def _run(args: argparse.Namespace) -> None:
    trace = load_trace(args.trace)
    started = time.perf_counter()
    last = [started]
    cpu: dict[str, float] = {}
    hour_start: dict[str, float] = {"loop": _own_cpu_s()}

    def progress(done: int, report: object, outcome: object) -> None:
        del report, outcome
        if done % 60 == 0 or done == args.minutes:
            cpu.update(_children_cpu_s())  # read while the services run: they are gone at the end
        if done % 60 == 0:
            now, reading = time.perf_counter(), {**cpu, "loop": _own_cpu_s()}
            spent = ", ".join(f"{role} {seconds - hour_start.get(role, 0.0):.1f}" for role, seconds in sorted(reading.items()))
            print(f"  {done} minutes, {now - started:.0f} s (last hour {now - last[0]:.1f} s; CPU s {spent}),"
                  f" load {os.getloadavg()[0]:.1f}", flush=True)
            last[0] = now
            hour_start.update(reading)

    report = run_loop(LoopConfig(args.trace, minutes=args.minutes, start_minute=args.start_minute,
                                 functions=args.functions, speed=0), trace, progress=progress)
    total = time.perf_counter() - started
    cpu["isf loop (cluster, clock, replay)"] = _own_cpu_s()
    body = report.to_json()
    print(json.dumps({"loop": body["loop"], "predictive_deployed": body["predictive_deployed"],
                      "comparison": report.comparison,
                      "cpu_seconds": {k: round(v, 1) for k, v in sorted(cpu.items())}}, indent=1))
    verdict = "meets" if report.wall_seconds <= TARGET_S else "misses"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load average at the end"
          f" {' / '.join(f'{x:.1f}' for x in os.getloadavg())}; database {_backend()}")
    print(f"{args.minutes} minutes x {report.functions} functions: replay {report.wall_seconds:.0f} s"
          f" ({report.trace_minutes_per_wall_minute:.0f} trace minutes per wall minute), {total:.0f} s with start-up;"
          f" {sum(cpu.values()):.0f} CPU seconds in all; {verdict} the {TARGET_S:.0f} s target")


if __name__ == "__main__":
    main()
