"""Does the warming budget hold at every hour, not only by the end of the trace?

    .venv/bin/python benchmarks/budget_pacing.py [--traces sampled-500fn-1day,real-500fn-8h,...]
                                                 [--held-out] [--seed 0]

For `predictive` and `predictive-deployed` at default settings (budget 1.0 x fixed-10's waste), the
cumulative wasted memory divided by fixed-10's cumulative wasted memory after each of the hours in
`HOURS` the trace has (100 % = exactly on budget); the highest cumulative ratio from hour 2 on and from
hour 3 on; the highest ratio over any window of 3 hours (spend / fixed-10's waste in the same window);
then the whole trace's cold starts and memory (the figures `isf simulate` prints) and the seconds each
replay took. `--held-out`: the policies decide with a model trained without the trace they are scored
on (the ablation's "trace left out", `benchmarks/warming_ablation.py`; `--seed` its training seed)
instead of the shipped model, which has seen every bundled trace.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from warming_ablation import trace_left_out

from runtime.settings import RuntimeSettings
from runtime.sim.replay import app_profile, replay
from runtime.traces import load_trace
from runtime.warming.baselines import FixedKeepAlive
from runtime.warming.deployed import IngestLagged
from runtime.warming.policy import WarmingPolicy
from runtime.warming.population import PopulationModel
from runtime.warming.predictive import PredictiveConfig, PredictiveWarming

TRACES = ("sampled-500fn-1day", "real-500fn-8h", "invitro-busy-1306fn-1day")
POLICIES = ("predictive", "predictive-deployed")


def make(name: str, settings: RuntimeSettings, model: PopulationModel | None = None) -> WarmingPolicy:
    """The two app-level budgeted policies, built as `isf simulate` builds them (runtime/sim/policies.py);
    `model`: the population model instead of the shipped one."""
    policy = PredictiveWarming(PredictiveConfig.from_settings(settings), model)
    return IngestLagged(policy) if name == "predictive-deployed" else policy
HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
WINDOW_MINUTES = 180


def waste_per_minute(counts: np.ndarray, loaded: np.ndarray, memory_mb: np.ndarray) -> np.ndarray:
    """MB-minutes wasted (loaded, not invoked) in each minute."""
    return ((loaded & (counts == 0)) * memory_mb[:, None]).sum(axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traces", default=",".join(TRACES))
    parser.add_argument("--policies", default=",".join(POLICIES), help="of predictive, predictive-deployed")
    parser.add_argument("--held-out", action="store_true", help="models trained without the trace scored")
    parser.add_argument("--seed", type=int, default=0, help="training seed of the held-out models")
    args = parser.parse_args()
    settings = RuntimeSettings()
    for name in args.traces.split(","):
        model = trace_left_out(name, seed=args.seed) if args.held_out else None
        trace = load_trace(name).by_app()
        counts, profile = trace.counts, app_profile(trace)
        hours = [h for h in HOURS if 60 * h <= counts.shape[1]]
        fixed10 = waste_per_minute(counts, replay(counts, profile, FixedKeepAlive(10)), profile.memory_mb)
        reference = np.cumsum(fixed10)
        weights = f"weights held out (seed {args.seed})" if args.held_out else "shipped model"
        print(f"\n{name}: {counts.shape[0]} apps x {counts.shape[1]} minutes, {weights}; cumulative waste / fixed-10's")
        header = "".join(f"{f'h{h}':>7}" for h in hours)
        print(f"{'policy':<22}{header}{'max h2+':>8}{'max h3+':>8}{'max 3h':>8}{'cold starts':>13}{'memory':>8}{'s':>6}")
        for policy_name in args.policies.split(","):
            start = time.perf_counter()
            loaded = replay(counts, profile, make(policy_name, settings, model))
            elapsed = time.perf_counter() - start
            per_minute = waste_per_minute(counts, loaded, profile.memory_mb)
            spent = np.cumsum(per_minute)
            ratios = "".join(f"{100 * spent[60 * h - 1] / reference[60 * h - 1]:>6.0f}%" for h in hours)
            cumulative = spent / np.maximum(reference, 1e-9)
            window = np.ones(WINDOW_MINUTES)
            windowed = np.convolve(per_minute, window, "valid") / np.convolve(fixed10, window, "valid")
            worst = "".join(f"{100 * x.max():>7.0f}%" for x in (cumulative[119:], cumulative[179:], windowed))
            cold = int(((counts > 0) & ~loaded).sum())
            memory = 100 * spent[-1] / reference[-1]
            print(f"{policy_name:<22}{ratios}{worst}{cold:>13,d}{memory:>7.1f}%{elapsed:>6.0f}")


if __name__ == "__main__":
    main()
