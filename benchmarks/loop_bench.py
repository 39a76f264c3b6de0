"""`isf loop` replay speed: a day of the bundled 500 functions through the four services (target <= 10 min).

    .venv/bin/python benchmarks/loop_bench.py [--minutes 1440] [--functions 500]

Prints the wall time, trace minutes per wall minute, and the loop's figures next to `isf simulate`'s
`predictive-deployed` on the same window.
"""

from __future__ import annotations

import argparse
import json
import time

import repo_root  # noqa: F401  (puts the repository root on sys.path)

from runtime.cluster_sim.loop import LoopConfig, run_loop
from runtime.traces import load_trace

TARGET_S = 600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trace", default="sampled-500fn-1day")
    parser.add_argument("--minutes", type=int, default=1440)
    parser.add_argument("--functions", type=int, default=500)
    args = parser.parse_args()
    trace = load_trace(args.trace)
    started = time.perf_counter()
    last = [started]

    def progress(done: int, report: object, outcome: object) -> None:
        del report, outcome
        if done % 60 == 0:
            now = time.perf_counter()
            print(f"  {done} minutes, {now - started:.0f} s (last hour {now - last[0]:.1f} s)", flush=True)
            last[0] = now

    report = run_loop(LoopConfig(args.trace, minutes=args.minutes, functions=args.functions, speed=0), trace,
                      progress=progress)
    total = time.perf_counter() - started
    print(json.dumps({"loop": report.to_json()["loop"], "predictive_deployed": report.to_json()["predictive_deployed"],
                      "comparison": report.comparison}, indent=1))
    verdict = "meets" if report.wall_seconds <= TARGET_S else "misses"
    print(f"{args.minutes} minutes x {report.functions} functions: replay {report.wall_seconds:.0f} s"
          f" ({report.trace_minutes_per_wall_minute:.0f} trace minutes per wall minute), {total:.0f} s with start-up;"
          f" {verdict} the {TARGET_S:.0f} s target")


if __name__ == "__main__":
    main()
