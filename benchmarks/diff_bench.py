"""Time `isf diff` as CI runs it: the base ref rendered in a git worktree plus the working tree, per stack.

    .venv/bin/python benchmarks/diff_bench.py [--runs 3] [--base HEAD] [--stack staging --stack production]

Prints each phase (worktree render at the base, in-process render of the working tree, diff + Markdown)
and the end-to-end time of the command in a fresh process, median over the runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description="Time isf diff per stack.")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base", default="HEAD")
    parser.add_argument("--stack", action="append")
    args = parser.parse_args()
    from infra.diff import diff_inventories, render_inventory_at
    from infra.render import render_stack

    isf = Path(sys.executable).with_name("isf")
    for stack in args.stack or ["staging", "production"]:
        phases: dict[str, list[float]] = {"base (worktree)": [], "head (in process)": [], "diff+markdown": [], "isf diff (cli)": []}
        head: list[dict[str, object]] = []
        for _ in range(args.runs):
            start = time.perf_counter()
            base = render_inventory_at(args.base, stack, [], project_dir=ROOT)
            phases["base (worktree)"].append(time.perf_counter() - start)
            start = time.perf_counter()
            head = render_stack(stack, project_dir=ROOT).inventory
            phases["head (in process)"].append(time.perf_counter() - start)
            start = time.perf_counter()
            diff_inventories(stack, base, head, base_label=args.base, head_label="working tree").markdown()
            phases["diff+markdown"].append(time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run([str(isf), "diff", "--stack", stack, "--base", args.base], cwd=ROOT, check=True,
                           capture_output=True)
            phases["isf diff (cli)"].append(time.perf_counter() - start)
        print(f"stack {stack} ({len(head)} resources), {args.runs} runs, median seconds:")
        for phase, times in phases.items():
            print(f"  {phase:18} {statistics.median(times):6.2f}  (min {min(times):.2f}, max {max(times):.2f})")


if __name__ == "__main__":
    main()
