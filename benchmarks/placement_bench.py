"""How fast and how close to optimal tier placement is: 10,000 functions x 3 tiers by default.

Run: .venv/bin/python benchmarks/placement_bench.py [--functions 10000 ...] [--repeat 3] [--milp-limit 120]
Targets: `place` with default settings <= 2 s, within 1 % of the MILP optimum (HiGHS run to completion).
Wall time suffers when the machine is shared, so CPU time is printed beside it.
"""

from __future__ import annotations

import argparse
import statistics
import time

import repo_root  # noqa: F401  (before tests.support: puts the repository root on sys.path)

from runtime.placement import PlacementResult, Solver, place
from runtime.settings import PlacementSettings
from tests.support.placement_problems import random_problem


def _bench(functions: int, seed: int, repeat: int, milp_limit: float) -> None:
    started = time.perf_counter()
    problem = random_problem(functions, seed=seed)
    print(f"problem: {functions} functions x {len(problem.tiers)} tiers "
          f"(generated and validated in {time.perf_counter() - started:.2f} s, not counted below)")  # fmt: skip

    settings = PlacementSettings()
    walls: list[float] = []
    cpus: list[float] = []
    result: PlacementResult | None = None
    for _ in range(repeat):
        cpu_started = time.process_time()
        result = place(problem, settings)
        cpus.append(time.process_time() - cpu_started)
        walls.append(result.solve_seconds)
    assert result is not None
    print(f"  place (default settings): solver {result.solver.value}, wall median {statistics.median(walls):.2f} s "
          f"(best {min(walls):.2f} s), CPU median {statistics.median(cpus):.2f} s over {repeat} runs "
          f"(target <= 2 s)")  # fmt: skip
    print(f"  objective {result.objective:.3f}  lower bound {result.lower_bound:.3f}  "
          f"reported gap {100 * result.gap:.3f} %  moves {len(result.moves)}  unplaced {len(result.infeasible)}")  # fmt: skip

    if milp_limit > 0:
        exact = place(problem, settings.model_copy(update={"milp_time_limit_s": milp_limit}), Solver.MILP)
        print(f"  MILP reference (HiGHS, limit {milp_limit:.0f} s): {exact.status.value} in "
              f"{exact.solve_seconds:.1f} s, objective {exact.objective:.3f}, gap {100 * exact.gap:.4f} %")  # fmt: skip
        distance = (result.objective - exact.objective) / abs(exact.objective)
        print(f"  default path vs MILP: {100 * distance:+.3f} % (target <= 1 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--functions", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the default path")
    parser.add_argument("--milp-limit", type=float, default=120.0, help="seconds for the exact run (0 skips)")
    args = parser.parse_args()
    for functions in args.functions:
        _bench(functions, args.seed, args.repeat, args.milp_limit)


if __name__ == "__main__":
    main()
