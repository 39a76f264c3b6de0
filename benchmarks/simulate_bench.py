"""How long `isf simulate` takes: every shipped policy on the 500-function day, then a synthetic scale-up.

Run: .venv/bin/python benchmarks/simulate_bench.py [--apps 5000]. Targets: the first line <= 60 s, the
default policy (`predictive`, budget controller and population model) <= 30 s.
"""

from __future__ import annotations

import argparse
import time

import repo_root  # noqa: F401  (before tests.support: puts the repository root on sys.path)

from runtime.sim import SHIPPED, simulate
from runtime.traces import load_trace
from tests.support.synthetic_trace import synthetic_trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=2000, help="synthetic apps for the scale run (0 skips it)")
    args = parser.parse_args()

    started = time.perf_counter()
    report = simulate(load_trace("sampled-500fn-1day"), list(SHIPPED), label="sampled-500fn-1day")
    total = time.perf_counter() - started
    print(f"sampled-500fn-1day, {len(SHIPPED)} policies (load + simulate): {total:.1f} s (target <= 60 s)")
    for name, result in report.policies.items():
        print(f"  {name:<18} {result.seconds:6.2f} s  p75 {result.p75_cold_start_pct:5.1f} %  "
              f"cold {result.cold_starts:>6}  memory {result.wasted_memory_vs_fixed10_pct:5.1f} % of fixed-10")  # fmt: skip

    if args.apps:
        trace = synthetic_trace(args.apps, 1440, seed=1)
        baselines = ["fixed-10", "fixed-60", "hybrid-histogram", "oracle"]
        started = time.perf_counter()
        simulate(trace, baselines, label="synthetic")
        print(f"synthetic {args.apps} apps x 1440 min, {len(baselines)} baselines: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
