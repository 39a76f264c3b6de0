"""How low 1-minute-ahead WAPE plausibly goes on a trace's busy functions: references that cheat.

Run: .venv/bin/python benchmarks/forecast_noise_floor.py [--trace sampled-500fn-1day] [--holdout-minutes 360]
Same functions and holdout as `isf forecast-eval`. Two optimistic references, neither available to
a causal forecaster:

- a centred 3-minute mean: each minute "predicted" by the mean of itself and its two neighbours;
- hindsight choice: every function scored by whichever of ~30 simple causal forecasters (last
  value, rolling means and medians, seasonal medians at periods 5..60) or the shipped ARIMA turned
  out best for it over the holdout. Each candidate is causal; choosing per function after the fact
  is not, so this bounds from below what blending or selecting among these forecasters can reach.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy.ndimage import uniform_filter1d

from runtime.predictor import ForecasterName, make_forecaster
from runtime.predictor.evaluation import busy_functions, rolling_origin_forecasts, wape
from runtime.settings import PredictionSettings
from runtime.traces import load_trace

Counts = npt.NDArray[np.float64]


def _rolling(counts: Counts, holdout: int, rule: Callable[[Counts], Counts]) -> Counts:
    """Forecast each holdout minute from the minutes before it with `rule` (history -> one value per row)."""
    start = counts.shape[1] - holdout
    return np.stack([rule(counts[:, : start + k]) for k in range(holdout)], axis=1)


def simple_forecasts(counts: Counts, holdout: int) -> dict[str, Counts]:
    """The simple causal candidates, each functions x holdout."""
    candidates = {"last": _rolling(counts, holdout, lambda h: h[:, -1])}
    for window in (3, 5, 10, 15, 30, 60):
        candidates[f"median{window}"] = _rolling(
            counts, holdout, lambda h, w=window: np.median(h[:, -w:], axis=1)
        )
        candidates[f"mean{window}"] = _rolling(counts, holdout, lambda h, w=window: h[:, -w:].mean(axis=1))
    for period in (5, 10, 15, 30, 60):
        for cycles in (1, 3, 5):
            candidates[f"seasonal-median{period}x{cycles}"] = _rolling(
                counts,
                holdout,
                lambda h, p=period, k=cycles: np.median(h[:, [-p * j for j in range(1, k + 1)]], axis=1),
            )
    return candidates


def main() -> None:
    parser = argparse.ArgumentParser(description="optimistic WAPE references on busy functions")
    parser.add_argument("--trace", default="sampled-500fn-1day")
    parser.add_argument("--holdout-minutes", type=int, default=360)
    args = parser.parse_args()

    counts = load_trace(args.trace).counts.astype(float)
    counts = counts[busy_functions(counts)]
    holdout = args.holdout_minutes
    actual = counts[:, -holdout:]
    print(f"{counts.shape[0]} busy functions, last {holdout} minutes of {args.trace}")

    centred_3 = uniform_filter1d(counts, size=3, axis=1, mode="nearest")[:, -holdout:]
    candidates = simple_forecasts(counts, holdout)
    candidates["arima"], _ = rolling_origin_forecasts(
        make_forecaster(ForecasterName.ARIMA, PredictionSettings()), counts, holdout
    )
    names = list(candidates)
    errors = np.stack([np.abs(candidates[name] - actual).sum(axis=1) for name in names])  # candidate x fn
    best = int(errors.sum(axis=1).argmin())
    total = actual.sum()
    for label, figure in (
        ("centred 3-minute mean (sees the future)", wape(centred_3, actual)),
        (f"best single candidate ({names[best]})", errors[best].sum() / total),
        (f"each function's best of {len(names)} candidates, in hindsight", errors.min(axis=0).sum() / total),
    ):
        print(f"  {label:<62} WAPE {figure:.1%}")
    arima = errors[names.index("arima")]
    print("  functions with the largest ARIMA error:")
    for row in np.argsort(-arima)[:4]:
        series = counts[row]
        lag1 = np.corrcoef(series[:-1], series[1:])[0, 1]
        print(
            f"    row {row:2d}: {arima[row] / arima.sum():4.0%} of ARIMA's error, ARIMA WAPE"
            f" {arima[row] / actual[row].sum():4.0%}, best candidate {errors[:, row].min() / actual[row].sum():4.0%}"
            f" ({names[int(errors[:, row].argmin())]}); mean {series.mean():.1f}/min,"
            f" variance/mean {series.var() / series.mean():.1f}, lag-1 autocorrelation {lag1:.2f}"
        )


if __name__ == "__main__":
    main()
