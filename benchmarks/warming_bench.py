"""Predictive warming against the baselines: the Pareto front of its cold-start price, and its speed.

    .venv/bin/python benchmarks/warming_bench.py [--trace sampled-500fn-1day] [--tune real-500fn-8h]

Both probability models (the hazard alone, and every signal calibrated online) at each cold-start
price. Knobs were chosen on `--tune` (a different trace), then reported on `--trace`; figures are
app level with the semantics of docs/architecture.md (wasted memory relative to fixed-10 = 100 %).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from runtime.settings import CostSettings
from runtime.sim.replay import app_profile, replay, score
from runtime.traces import load_trace
from runtime.warming.baselines import FixedKeepAlive, HybridHistogram, Oracle
from runtime.warming.policy import WarmingPolicy
from runtime.warming.predictive import PredictiveConfig, PredictiveWarming, ProbabilityModel

MEMORY_GB_SECOND_USD = CostSettings().memory_gb_second_usd
MB_MINUTE_USD = MEMORY_GB_SECOND_USD * 60 / 1024
PRICES_MB_MINUTES = (2_500, 5_000, 10_000, 20_000, 40_000, 80_000, 160_000)
"""Cold-start price expressed in MB-minutes of idle memory: the policy's one trade-off knob."""


def predictive(cold_start_mb_minutes: float, **knobs: object) -> PredictiveWarming:
    prices = {
        "cold_start_usd": cold_start_mb_minutes * MB_MINUTE_USD,
        "memory_gb_second_usd": MEMORY_GB_SECOND_USD,
    }
    config = PredictiveConfig.model_validate({**prices, **knobs})
    return PredictiveWarming(config)


def evaluate(trace_name: str, policies: list[tuple[str, WarmingPolicy]]) -> None:
    trace = load_trace(trace_name).by_app()
    counts, profile = trace.counts, app_profile(trace)
    fixed10 = score(counts, replay(counts, profile, FixedKeepAlive(10)), profile.memory_mb)
    reference = fixed10.wasted_memory_mb_minutes.sum()
    print(f"\n{trace_name}: {counts.shape[0]} apps x {counts.shape[1]} minutes")
    print(f"{'policy':<34}{'p75 cold %':>11}{'cold starts':>12}{'waste vs fixed-10':>19}{'seconds':>9}")
    for label, policy in policies:
        start = time.perf_counter()
        outcome = score(counts, replay(counts, profile, policy), profile.memory_mb)
        elapsed = time.perf_counter() - start
        active = outcome.invocations > 0
        p75 = np.percentile(100 * outcome.cold_starts[active] / outcome.invocations[active], 75)
        waste = 100 * outcome.wasted_memory_mb_minutes.sum() / reference
        print(f"{label:<34}{p75:>11.1f}{outcome.cold_starts.sum():>12d}{waste:>18.1f}%{elapsed:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trace", default="sampled-500fn-1day")
    parser.add_argument("--tune", default="real-500fn-8h")
    args = parser.parse_args()
    for name in (args.tune, args.trace):
        policies: list[tuple[str, WarmingPolicy]] = [
            ("fixed-10", FixedKeepAlive(10)),
            ("fixed-60", FixedKeepAlive(60)),
            ("hybrid-histogram", HybridHistogram()),
            ("oracle", Oracle()),
        ]
        for model in ProbabilityModel:
            for price in PRICES_MB_MINUTES:
                policies.append(
                    (f"predictive {model.value} c={price}", predictive(price, probability_model=model))
                )
        evaluate(name, policies)


if __name__ == "__main__":
    main()
