"""Time `isf render --stack production` end to end (a fresh process per run, as a user runs it).

    .venv/bin/python benchmarks/render_bench.py [--runs 5] [--stack production]

Prints every run's wall time, the median, and the stack's resource / Kubernetes object counts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description="Time isf render end to end.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stack", default="production")
    args = parser.parse_args()
    isf = Path(sys.executable).with_name("isf")
    timings: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "render"
        for run in range(args.runs):
            started = time.perf_counter()
            subprocess.run(
                [str(isf), "render", "--stack", args.stack, "--out", str(out), "--project-dir", str(ROOT)],
                check=True,
                capture_output=True,
                env={"COLUMNS": "200", "PATH": str(isf.parent)},
            )
            timings.append(time.perf_counter() - started)
            print(f"run {run + 1}: {timings[-1]:.2f} s")
        resources = len(json.loads((out / "inventory.json").read_text()))
        objects = len(list((out / "manifests").rglob("*.yaml")))
    print(f"isf render --stack {args.stack}: median {statistics.median(timings):.2f} s over {args.runs} runs "
          f"(min {min(timings):.2f}, max {max(timings):.2f}); {resources} resources, {objects} Kubernetes objects")


if __name__ == "__main__":
    main()
