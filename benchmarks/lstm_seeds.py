"""How much the LSTM's WAPE moves with its random seed, on the same functions and holdout as `isf forecast-eval`.

Run: .venv/bin/python benchmarks/lstm_seeds.py [--seeds 5] [--holdout-minutes 360]
A change to the LSTM is an improvement only if it beats the seed-to-seed spread printed here.
"""

from __future__ import annotations

import argparse
import statistics

from runtime.predictor.evaluation import busy_functions, score
from runtime.predictor.lstm import LstmForecaster
from runtime.settings import PredictionSettings
from runtime.traces import bundled_trace_dir, load_trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--holdout-minutes", type=int, default=360)
    args = parser.parse_args()

    counts = load_trace(bundled_trace_dir()).counts.astype(float)
    counts = counts[busy_functions(counts)]
    settings = PredictionSettings()
    h1: list[float] = []
    h5: list[float] = []
    for seed in range(args.seeds):
        model = LstmForecaster(settings.lstm, horizon=settings.horizon_minutes, seed=seed)
        result = score(model, counts, args.holdout_minutes)
        h1.append(result.wape_h1)
        h5.append(result.wape_h5)
        print(f"  seed {seed}: WAPE 1 min {result.wape_h1:.1%}, 5 min {result.wape_h5:.1%}")
    print(
        f"{counts.shape[0]} busy functions, {args.seeds} seeds: mean 1 min {statistics.mean(h1):.1%}"
        f" (range {min(h1):.1%}-{max(h1):.1%}), 5 min {statistics.mean(h5):.1%}"
    )


if __name__ == "__main__":
    main()
