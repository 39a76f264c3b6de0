"""What each ingredient of the ensemble forecaster contributes, on one trace's busy functions.

Run: .venv/bin/python benchmarks/forecast_ablation.py [--trace invitro-busy-1306fn-1day] [--holdout-minutes 360]
Same protocol as `isf forecast-eval` (rolling origin, fit once, then update minute by minute); every
figure is relative to naive-last. Variants: the default (the weighted median of the cheap members
and the ARIMA/LSTM hybrid), without the models, selecting the best member or weighting the top 3
instead, other temperatures, ranking by squared error (keeps the forecast an expected count),
half-lives of 10 and 40 minutes, no warm-up, the models replaying the whole warm-up.
`--hindsight` adds the bound for any selection among the members: each function's best member over
the holdout, chosen after the fact.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from runtime.predictor import ForecasterName, make_forecaster
from runtime.predictor.ensemble import EnsembleForecaster
from runtime.predictor.evaluation import busy_functions, relative_score, rolling_origin_forecasts
from runtime.settings import Combination, EnsembleSettings, PredictionSettings, SelectionError
from runtime.traces import load_trace

VARIANTS: dict[str, dict[str, object]] = {
    "ensemble (default: weighted median, absolute error, with models)": {},
    "without ARIMA/LSTM/hybrid (cheap members only)": {"models": False},
    "select the best member instead of the weighted median": {"combination": Combination.SELECT},
    "weighted top-3 (inverse error) instead of the weighted median": {"combination": Combination.WEIGHTED},
    "temperature 0.05": {"temperature": 0.05},
    "temperature 0.2": {"temperature": 0.2},
    "ranked by squared error (an expected count)": {"error": SelectionError.SQUARED},
    "half-life 10 minutes": {"half_life_minutes": 10.0},
    "half-life 40 minutes": {"half_life_minutes": 40.0},
    "no warm-up replay": {"warmup_minutes": 0},
    "models replay all 60 warm-up minutes (before: 20)": {"models_warmup_minutes": 60},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trace", default="sampled-500fn-1day")
    parser.add_argument("--holdout-minutes", type=int, default=360)
    parser.add_argument("--variant", action="append", help="substring of the variants to run (default: all)")
    parser.add_argument("--hindsight", action="store_true", help="also print the hindsight-best selection")
    args = parser.parse_args()
    counts = load_trace(args.trace).counts.astype(float)
    counts = counts[busy_functions(counts)]
    actual = counts[:, -args.holdout_minutes :]
    naive = rolling_origin_forecasts(make_forecaster(ForecasterName.NAIVE_LAST), counts, args.holdout_minutes)
    print(f"{args.trace}: {counts.shape[0]} busy functions, last {args.holdout_minutes} minutes")
    print(f"{'variant':<58} {'WAPE 1':>7} {'vs naive':>8} {'geo MAE':>7} {'WAPE 5':>7} {'vs naive':>8} {'geo MAE':>7}")
    for label, knobs in VARIANTS.items():
        if args.variant and not any(v in label for v in args.variant):
            continue
        started = time.perf_counter()
        settings = PredictionSettings(ensemble=EnsembleSettings.model_validate(knobs))
        model = make_forecaster(ForecasterName.ENSEMBLE, settings)
        s = relative_score(rolling_origin_forecasts(model, counts, args.holdout_minutes), naive, actual)
        print(f"{label:<58} {s.wape_h1:>7.1%} {s.wape_ratio_h1:>7.2f}x {s.geomean_mae_ratio_h1:>7.2f} "
              f"{s.wape_h5:>7.1%} {s.wape_ratio_h5:>7.2f}x {s.geomean_mae_ratio_h5:>7.2f}"
              f"   ({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    if args.hindsight:
        _hindsight(counts, args.holdout_minutes, naive, actual)


def _hindsight(counts: np.ndarray, holdout: int, naive: tuple[np.ndarray, np.ndarray], actual: np.ndarray) -> None:
    """Each function's best member over the holdout, after the fact (no causal selection can beat it)."""
    model = EnsembleForecaster(PredictionSettings().ensemble, None)  # cheap members, then the models below
    full = make_forecaster(ForecasterName.ENSEMBLE, PredictionSettings())
    assert isinstance(full, EnsembleForecaster)
    first_target = counts.shape[1] - holdout
    for members in (model, full):
        lead1, lead5 = [], []
        members.fit(counts[:, : first_target - 4])
        for origin in range(first_target - 4, counts.shape[1]):
            forecast = members.member_forecasts
            if origin >= first_target:
                lead1.append(forecast[:, :, 0])
            if first_target <= origin + 4 < counts.shape[1]:
                lead5.append(forecast[:, :, 4])
            members.update(counts[:, origin : origin + 1])
        figures = []
        for ahead, reference in zip((lead1, lead5), naive, strict=True):
            error = np.abs(np.stack(ahead, axis=2) - actual[:, None, :]).sum(axis=2)  # functions x members
            figures.append(error.min(axis=1).sum() / np.abs(reference - actual).sum())
        label = "with models" if members.hybrid is not None else "cheap members only"
        print(f"hindsight-best member per function ({label}): {figures[0]:.2f}x naive at 1 min, "
              f"{figures[1]:.2f}x at 5 min")


if __name__ == "__main__":
    main()
