"""What each ingredient of the predictive policy contributes, on every bundled trace.

    .venv/bin/python benchmarks/warming_ablation.py [--folds 2] [--skip-offline] [--skip-policies]
                                                    [--traces a,b] [--variants substring,...] [--max-apps N]
                                                    [--seed 0] [--drop-features name,...]

1. Offline: held-out log-loss of the population model, grouped folds (apps with identical activity
   rows are never on both sides): the logistic model with every feature, without each feature group,
   the hazard alone, and the shipped ensemble's recipe with every feature.
2. Replayed (app level, every app and minute of each trace, wasted memory vs fixed-10): from the
   issue-3 calibrated model at a fixed price, adding one ingredient at a time up to the shipped
   default, then the shipped model scored honestly: trained without the apps it is scored on
   (grouped folds over all three traces) and trained without the trace it is scored on
   (leave-one-trace-out), each for `predictive` and the one-minute-behind `predictive-deployed`.
   The shipped artifact is trained on all three traces, so its own rows are in-sample everywhere.
   In this part only, `--seed` sets the retrained models' training seed (row thinning and initial
   weights; the logistic model, the grouped folds' and the leave-one-trace-out ones), to tell a held-out
   difference from seed-to-seed spread, and `--drop-features` the features they go without.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

import numpy as np
from scipy.special import expit

from runtime.settings import RuntimeSettings
from runtime.sim.replay import AppOutcome, replay, score
from runtime.traces import load_trace
from runtime.traces.bundled import BUNDLED_TRACES
from runtime.warming import budget as budget_module
from runtime.warming.baselines import FixedKeepAlive, HybridHistogram
from runtime.warming.deployed import IngestLagged
from runtime.warming.policy import AppProfile, Counts, Mask, WarmingPolicy
from runtime.warming.population import FEATURE_GROUPS, POPULATION_FEATURES, PopulationModel
from runtime.warming.population_training import (
    activity_groups,
    fit_ensemble,
    fit_logistic,
    group_folds,
    rows_of,
    train,
)
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
    fitters: dict[str, tuple[Callable[..., PopulationModel], tuple[str, ...]]] = {
        "ensemble (shipped)": (fit_ensemble, POPULATION_FEATURES),
        "logistic, all": (fit_logistic, POPULATION_FEATURES),
        "hazard alone": (fit_logistic, ("hazard",)),
    }
    for group, names in FEATURE_GROUPS.items():
        fitters[f"logistic w/o {group}"] = (fit_logistic, tuple(n for n in POPULATION_FEATURES if n not in names))
    print(f"\nheld-out log-loss ({folds} grouped folds), lower is better", flush=True)
    print(f"{'model':<24}" + "".join(f"{name:>28}" for name in BUNDLED_TRACES))
    for label, (fit, names) in fitters.items():
        p = np.zeros(y.size)
        for k in range(folds):
            model = fit(x[fold != k], y[fold != k], names)
            p[fold == k] = expit(model.logit(x[fold == k][:, model.columns]))
        print(f"{label:<24}" + "".join(f"{log_loss(p[trace == i], y[trace == i]):>28.4f}" for i in range(len(parts))))


def figures(outcome: AppOutcome, fixed10: float) -> str:
    active = outcome.invocations > 0
    p75 = np.percentile(100 * outcome.cold_starts[active] / outcome.invocations[active], 75)
    waste = 100 * outcome.wasted_memory_mb_minutes.sum() / fixed10
    return f"{p75:5.1f} / {outcome.cold_starts.sum():6,d} / {waste:5.1f} %"


Make = Callable[[str], WarmingPolicy]
"""A policy for one trace (the trace's name picks a held-out model where one is needed)."""


def policies(folds: int, traces: list[str], only: list[str], max_apps: int, seed: int, drop: list[str]) -> None:
    defaults = PredictiveConfig.from_settings(RuntimeSettings()).model_dump()

    def config(**knobs: object) -> PredictiveConfig:
        return PredictiveConfig.model_validate({**defaults, **knobs})

    def predictive(**knobs: object) -> Make:
        return lambda _: PredictiveWarming(config(**knobs))

    def paced(headroom: float, make: Make) -> Make:
        def made(name: str) -> WarmingPolicy:
            return _Paced(make(name), headroom)

        return made

    calibrated = {"probability_model": ProbabilityModel.CALIBRATED}
    unknown = set(drop) - set(POPULATION_FEATURES)
    if unknown:
        raise SystemExit(f"--drop-features: unknown features {sorted(unknown)}")
    names = tuple(name for name in POPULATION_FEATURES if name not in drop)
    started = time.perf_counter()

    @cache
    def linear() -> PopulationModel:
        return train(BUNDLED_TRACES, names=names, seed=seed, linear=True)

    @cache
    def without_fold(k: int) -> PopulationModel:
        return train(BUNDLED_TRACES, names=names, seed=seed, exclude_fold=(k, folds))

    def without_trace(name: str) -> PopulationModel:
        return trace_left_out(name, names, seed)

    variants: list[tuple[str, Make | None]] = [  # None: the shipped recipe, scored by grouped folds
        ("hybrid-histogram (the target)", lambda _: HybridHistogram()),
        ("calibrated (issue 3), fixed price", predictive(**calibrated, budget=None)),
        ("+ budget controller", predictive(**calibrated)),
        ("logistic population model", lambda _: PredictiveWarming(config(), linear())),
        ("MLP ensemble (shipped), fixed price", predictive(budget=None)),
        ("MLP ensemble + budget, rarity 10", predictive(rarity_weight=10.0)),
        ("  same, paced at 97 % (was)", paced(0.97, predictive(rarity_weight=10.0))),
        ("shipped default (rarity 3, 99 %)", predictive()),
        ("  + online recalibration", predictive(fine_tune=True)),
        ("  held out: grouped folds", None),
        ("  held out: trace left out", lambda name: PredictiveWarming(config(), without_trace(name))),
        ("predictive-deployed (shipped)", lambda _: IngestLagged(PredictiveWarming(config()))),
        ("  held out: trace left out", lambda name: IngestLagged(PredictiveWarming(config(), without_trace(name)))),
    ]
    print("\nreplayed: p75 cold % / cold starts / wasted memory vs fixed-10")
    if seed or drop:
        print(f"(retrained models: seed {seed}; features dropped: {', '.join(drop) or 'none'})")
    print(f"{'variant':<38}" + "".join(f"{name:>30}" for name in traces), flush=True)
    data = {name: _apps(name, max_apps, folds) for name in traces}
    fixed10 = {name: _fixed10_waste(counts, profile) for name, (counts, profile, _) in data.items()}
    for label, make in variants:
        if only and not any(word in label for word in only):
            continue
        cells = []
        for name, (counts, profile, fold) in data.items():
            if make is not None:
                outcome = score(counts, replay(counts, profile, make(name)), profile.memory_mb)
            else:  # each app scored by the replay whose model never saw its activity row
                loaded = np.zeros(counts.shape, dtype=np.bool_)
                for k in range(folds):
                    schedule = replay(counts, profile, PredictiveWarming(config(), without_fold(k)))
                    loaded[fold == k] = schedule[fold == k]
                outcome = score(counts, loaded, profile.memory_mb)
            cells.append(figures(outcome, fixed10[name]))
        print(f"{label:<38}" + "".join(f"{cell:>30}" for cell in cells), flush=True)
    print(f"({time.perf_counter() - started:.0f} s in all)")


@cache
def trace_left_out(name: str, names: tuple[str, ...] = POPULATION_FEATURES, seed: int = 0) -> PopulationModel:
    """The shipped recipe trained on the other bundled traces only (`name` held out); also used by
    `benchmarks/budget_pacing.py --held-out`."""
    return train([other for other in BUNDLED_TRACES if other != name], names=names, seed=seed)


def _apps(name: str, max_apps: int, folds: int) -> tuple[np.ndarray, AppProfile, np.ndarray]:
    """A trace's counts, profile and grouped fold per app; above `max_apps` apps, whole activity groups
    drawn at random (seed 0) until there are at least `max_apps` (the folds stay those of the full trace)."""
    apps = load_trace(name).by_app()
    groups = activity_groups(apps.counts)
    fold = group_folds(groups, folds, 0)
    rows = np.arange(apps.counts.shape[0])
    if rows.size > max_apps:
        order = np.random.default_rng(0).permutation(int(groups.max()) + 1)
        sizes = np.bincount(groups)[order]
        chosen = order[: int(np.searchsorted(np.cumsum(sizes), max_apps)) + 1]
        rows = np.flatnonzero(np.isin(groups, chosen))
        print(f"({name}: {rows.size} of {apps.counts.shape[0]} apps, whole activity groups drawn at random)")
    profile = AppProfile(memory_mb=apps.memory_mb[rows].copy(), duration_ms=apps.duration_ms[rows].copy())
    return apps.counts[rows], profile, fold[rows]


def _fixed10_waste(counts: np.ndarray, profile: AppProfile) -> float:
    outcome = score(counts, replay(counts, profile, FixedKeepAlive(10)), profile.memory_mb)
    return float(outcome.wasted_memory_mb_minutes.sum())


class _Paced(WarmingPolicy):
    """`policy` with its budget controller pacing at `headroom` of the budget instead of the shipped share."""

    def __init__(self, policy: WarmingPolicy, headroom: float):
        self.policy, self.headroom, self.name = policy, headroom, policy.name

    def reset(self, profile: AppProfile, future: Counts | None = None) -> None:
        self.policy.reset(profile, future)

    def loaded_next(self) -> Mask:
        with _headroom(self.headroom):
            return self.policy.loaded_next()

    def observe(self, counts: Counts) -> None:
        with _headroom(self.headroom):
            self.policy.observe(counts)


@contextmanager
def _headroom(share: float) -> Iterator[None]:
    shipped = budget_module._HEADROOM  # pyright: ignore[reportPrivateUsage]
    budget_module._HEADROOM = share  # pyright: ignore[reportPrivateUsage]
    try:
        yield
    finally:
        budget_module._HEADROOM = shipped  # pyright: ignore[reportPrivateUsage]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--skip-offline", action="store_true")
    parser.add_argument("--skip-policies", action="store_true")
    parser.add_argument("--traces", default=",".join(BUNDLED_TRACES), help="comma-separated bundled traces")
    parser.add_argument("--variants", default="", help="only variants whose label contains one of these words")
    parser.add_argument("--max-apps", type=int, default=100_000, help="subsample larger traces (whole activity groups)")
    parser.add_argument("--seed", type=int, default=0, help="training seed of the retrained models")
    parser.add_argument("--drop-features", default="", help="comma-separated features the retrained models go without")
    args = parser.parse_args()
    if not args.skip_offline:
        offline(args.folds)
    if not args.skip_policies:
        words = [word for word in args.variants.split(",") if word]
        drop = [name for name in args.drop_features.split(",") if name]
        policies(args.folds, args.traces.split(","), words, args.max_apps, args.seed, drop)


if __name__ == "__main__":
    main()
