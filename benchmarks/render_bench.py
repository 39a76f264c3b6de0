"""Time `isf render --stack production` end to end (a fresh process per run, as a user runs it).

    .venv/bin/python benchmarks/render_bench.py [--runs 5] [--stack production]
    .venv/bin/python benchmarks/render_bench.py --counts   # resources per stack and cloud, no timing

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
# Both stack files, each on the other cloud, and staging on a cluster you already run ({kubeconfig}).
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "staging (aws)": ("staging", []),
    "staging on gcp": ("staging", ["cloud=gcp", "region=us-central1", "gcp.project=isf-staging"]),
    "staging on existing": ("staging", ["cloud=existing", "existing.kubeconfig={kubeconfig}"]),
    "production (gcp)": ("production", []),
    "production on aws": ("production", ["cloud=aws", "region=eu-west-1"]),
}
KUBECONFIG = """apiVersion: v1
kind: Config
current-context: lab
clusters: [{name: lab, cluster: {server: 'https://lab.example:6443'}}]
users: [{name: lab, user: {token: t}}]
contexts: [{name: lab, context: {cluster: lab, user: lab}}]
"""


def print_counts() -> None:
    """Render every variant in this process and print its resource, object and chart counts."""
    sys.path.insert(0, str(ROOT))
    from infra.render import render_stack

    with tempfile.TemporaryDirectory() as scratch:
        kubeconfig = Path(scratch) / "kubeconfig"
        kubeconfig.write_text(KUBECONFIG)
        for label, (stack, overrides) in VARIANTS.items():
            rendered = render_stack(
                stack, project_dir=ROOT, overrides=[o.format(kubeconfig=kubeconfig) for o in overrides]
            )
            cloud = sum(1 for item in rendered.inventory if item["type"].startswith(("aws:", "gcp:")))
            print(f"{label:22} {len(rendered.inventory):4} resources ({cloud:3} cloud), "
                  f"{len(rendered.manifests):3} Kubernetes objects, {len(rendered.charts):2} Helm charts")


def main() -> None:
    parser = argparse.ArgumentParser(description="Time isf render end to end.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stack", default="production")
    parser.add_argument("--counts", action="store_true", help="print resource counts per stack and cloud instead")
    args = parser.parse_args()
    if args.counts:
        print_counts()
        return
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
