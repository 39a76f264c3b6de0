"""How low 1-minute-ahead WAPE plausibly goes on a trace's busy functions: a reference that sees the future.

Run: .venv/bin/python benchmarks/forecast_noise_floor.py [--trace sampled-500fn-1day] [--holdout-minutes 360]
Same functions and holdout as `isf forecast-eval`. Each minute is "predicted" by the mean of itself
and its two neighbours: a smoother no causal forecaster has, so its WAPE shows how much of the
error is minute-to-minute noise rather than missed structure.
"""

from __future__ import annotations

import argparse

from scipy.ndimage import uniform_filter1d

from runtime.predictor.evaluation import busy_functions, wape
from runtime.traces import load_trace


def main() -> None:
    parser = argparse.ArgumentParser(description="WAPE of a centred 3-minute mean on busy functions")
    parser.add_argument("--trace", default="sampled-500fn-1day")
    parser.add_argument("--holdout-minutes", type=int, default=360)
    args = parser.parse_args()

    counts = load_trace(args.trace).counts.astype(float)
    counts = counts[busy_functions(counts)]
    actual = counts[:, -args.holdout_minutes :]
    centred_3 = uniform_filter1d(counts, size=3, axis=1, mode="nearest")[:, -args.holdout_minutes :]
    print(f"{counts.shape[0]} busy functions, last {args.holdout_minutes} minutes of {args.trace}")
    print(f"  centred 3-minute mean (sees the future): WAPE {wape(centred_3, actual):.1%}")


if __name__ == "__main__":
    main()
