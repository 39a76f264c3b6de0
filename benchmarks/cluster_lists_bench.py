"""What a warming pass's three lists cost through the `kubernetes` client on the simulated cluster's facade.

Run: `.venv/bin/python benchmarks/cluster_lists_bench.py [--functions 500] [--repeats 20]`
Lists the labelled Services (`function_services`), the nodes (`list_nodes`) and the serving Revisions
(`KnativeActuator.serving_revisions`, as PartialObjectMetadataList) as the warming service does every pass,
and prints CPU and wall milliseconds per list. Client and facade share this process, so the CPU is both sides'.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import repo_root  # noqa: F401  (puts the repository root on sys.path)
from kubernetes import client

from runtime.actuation.patches import KnativeActuator
from runtime.cluster_sim.api_server import ClusterApiServer
from runtime.cluster_sim.knative import FunctionSpec, SimulatedCluster
from runtime.contract.kubernetes import FUNCTION_LABEL
from runtime.services.kube import function_services, list_nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--functions", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    cluster = SimulatedCluster()
    for i in range(args.functions):
        cluster.deploy(FunctionSpec(f"fn-{i}", 256.0))
    with ClusterApiServer(cluster) as server:
        api = server.api_client()
        actuator = KnativeActuator(client.CustomObjectsApi(api))
        lists: dict[str, Callable[[], object]] = {
            "services": lambda: function_services(api, FUNCTION_LABEL, []),
            "nodes": lambda: list_nodes(api),
            "revisions (metadata only)": lambda: actuator.serving_revisions(FUNCTION_LABEL, []),
        }
        for call in lists.values():
            call()  # connections open, caches warm: a pass after the first
        for name, call in lists.items():
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(args.repeats):
                call()
            print(f"{name:>26}: {1000 * (time.process_time() - cpu) / args.repeats:6.1f} ms CPU, "
                  f"{1000 * (time.perf_counter() - wall) / args.repeats:6.1f} ms wall per list "
                  f"({args.functions} functions)")
    print(f"load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
