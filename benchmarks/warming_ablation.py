"""What each ingredient of the predictive policy contributes, on every bundled trace.

    .venv/bin/python benchmarks/warming_ablation.py [--folds 2] [--skip-policies]

1. Offline: held-out log-loss of the population model with every feature, without each feature
   group, and the hazard alone; folds group apps with identical activity rows (never on both sides).
2. Replayed (app level, wasted memory vs fixed-10): the old calibrated model at its fixed price, then
   adding the budget controller, the shipped population model (in-sample), the population model
   trained without the apps it is scored on (grouped folds: the honest figure), and without online
   fine-tuning.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.special import expit

from runtime.settings import RuntimeSettings
from runtime.sim.replay import AppOutcome, app_profile, replay, score
from runtime.traces import load_trace
from runtime.traces.bundled import BUNDLED_TRACES
from runtime.warming.baselines import FixedKeepAlive
from runtime.warming.population import FEATURE_GROUPS, POPULATION_FEATURES
from runtime.warming.population_training import activity_groups, fit_logistic, group_folds, rows_of, train
from runtime.warming.predictive import PredictiveConfig, PredictiveWarming, ProbabilityModel


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def offline(folds: int) -> None:
    parts = []
    for name in BUNDLED_TRACES:
        rows = rows_of(name)
        fold = group_folds(activity_groups(load_trace(name).by_app().counts), folds, 0)[rows.groups]
        parts.append((name, rows, fold))
    x = np.concatenate([rows.features for _, rows, _ in parts]).astype(np.float64)
    y = np.concatenate([rows.labels for _, rows, _ in parts])
    fold = np.concatenate([f for _, _, f in parts])
    trace = np.concatenate([np.full(rows.labels.size, i) for i, (_, rows, _) in enumerate(parts)])
    variants = {"all features": POPULATION_FEATURES, "hazard alone": ("hazard",)}
    for group, names in FEATURE_GROUPS.items():
        variants[f"without {group}"] = tuple(n for n in POPULATION_FEATURES if n not in names)
    print(f"\nheld-out log-loss ({folds} grouped folds), lower is better")
    print(f"{'features':<22}" + "".join(f"{name:>28}" for name in BUNDLED_TRACES))
    for label, names in variants.items():
        p = np.zeros(y.size)
        columns = [POPULATION_FEATURES.index(n) for n in names]
        for k in range(folds):
            weights, bias = fit_logistic(x[fold != k], y[fold != k], names)
            p[fold == k] = expit(x[fold == k][:, columns] @ weights + bias)
        print(f"{label:<22}" + "".join(f"{log_loss(p[trace == i], y[trace == i]):>28.4f}" for i in range(len(parts))))


def figures(counts: np.ndarray, outcome: AppOutcome, fixed10: float) -> str:
    active = outcome.invocations > 0
    p75 = np.percentile(100 * outcome.cold_starts[active] / outcome.invocations[active], 75)
    waste = 100 * outcome.wasted_memory_mb_minutes.sum() / fixed10
    return f"{p75:5.1f} {outcome.cold_starts.sum():6d} {waste:5.0f} %"


def policies(folds: int) -> None:
    base = PredictiveConfig.from_settings(RuntimeSettings()).model_dump()
    variants: list[tuple[str, dict[str, object], bool]] = [
        ("calibrated, fixed price", {"probability_model": ProbabilityModel.CALIBRATED, "budget": None}, False),
        ("calibrated + budget", {"probability_model": ProbabilityModel.CALIBRATED}, False),
        ("population, fixed price", {"budget": None}, False),
        ("population + budget (default)", {}, False),
        ("  same, grouped folds", {}, True),
        ("  no online fine-tuning", {"fine_tune": False}, False),
    ]
    print("\nreplayed: p75 cold %, cold starts, wasted memory vs fixed-10")
    print(f"{'variant':<32}" + "".join(f"{name:>28}" for name in BUNDLED_TRACES))
    held_out = [train(BUNDLED_TRACES, exclude_fold=(k, folds)) for k in range(folds)] if any(v[2] for v in variants) else []
    for label, knobs, grouped in variants:
        config = PredictiveConfig.model_validate({**base, **knobs})
        cells = []
        for name in BUNDLED_TRACES:
            apps = load_trace(name).by_app()
            counts, profile = apps.counts, app_profile(apps)
            fixed10 = float(score(counts, replay(counts, profile, FixedKeepAlive(10)), apps.memory_mb)
                            .wasted_memory_mb_minutes.sum())  # fmt: skip
            if not grouped:
                outcome = score(counts, replay(counts, profile, PredictiveWarming(config)), apps.memory_mb)
            else:  # each app scored by the replay whose model never saw its activity row
                fold = group_folds(activity_groups(counts), folds, 0)
                loaded = np.zeros(counts.shape, dtype=np.bool_)
                for k, model in enumerate(held_out):
                    schedule = replay(counts, profile, PredictiveWarming(config, model))
                    loaded[fold == k] = schedule[fold == k]
                outcome = score(counts, loaded, apps.memory_mb)
            cells.append(figures(counts, outcome, fixed10))
        print(f"{label:<32}" + "".join(f"{cell:>28}" for cell in cells), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--skip-policies", action="store_true")
    args = parser.parse_args()
    offline(args.folds)
    if not args.skip_policies:
        policies(args.folds)


if __name__ == "__main__":
    main()
