"""Offline training of the population model on the bundled traces (`isf train-warming`).

Rows are every app-minute the predictive policy would ask about (an app seen before, within the
horizon of its last invocation), with the causal features it would see and whether the app was
invoked; each trace is thinned at random (seeded) to at most `max_rows_per_trace`. The logistic
weights minimise the L2-penalised log-loss (scipy's L-BFGS on standardised columns), so the same
data and seed give the same artifact. Apps with identical activity rows are one group: grouped
folds never put copies of one row on both sides of a split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit

from runtime.warming.population import POPULATION_FEATURES, PopulationModel, population_features
from runtime.warming.recurrence import RecurrenceEvidence
from runtime.warming.signals import InvocationSignals

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

TRAINING_COMMAND: Final = "isf train-warming"
DEFAULT_L2: Final = 1.0
DEFAULT_SEED: Final = 0
DEFAULT_MAX_ROWS: Final = 300_000
DEFAULT_HORIZON: Final = 240
DEFAULT_PRIOR_STRENGTH: Final = 1.0


@dataclass(frozen=True)
class Rows:
    """Training rows of one trace: features, labels, and the activity group of each row's app."""

    features: npt.NDArray[np.float32]
    labels: npt.NDArray[np.bool_]
    groups: Ints


def activity_groups(counts: npt.NDArray[np.int64]) -> Ints:
    """Per app, an id shared exactly by the apps with an identical count vector."""
    _, inverse = np.unique(counts, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def group_folds(groups: Ints, folds: int, seed: int) -> Ints:
    """Per app, its fold in 0..folds-1: whole activity groups, shuffled (seeded), dealt round-robin."""
    order = np.random.default_rng(seed).permutation(int(groups.max()) + 1)
    return (np.argsort(order) % folds)[groups].astype(np.int64)


def trace_sha256(directory: str) -> str:
    """sha256 over a bundled trace's files (sorted by name): what the artifact was trained on."""
    from pathlib import Path

    digest = hashlib.sha256()
    for path in sorted(Path(directory).iterdir()):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def collect_rows(
    counts: npt.NDArray[np.int64],
    *,
    horizon: int = DEFAULT_HORIZON,
    prior_strength: float = DEFAULT_PRIOR_STRENGTH,
    max_rows: int = DEFAULT_MAX_ROWS,
    seed: int = DEFAULT_SEED,
) -> Rows:
    """Replay `counts` (apps x minutes) causally and keep a random sample of the asked app-minutes."""
    apps_n, minutes = counts.shape
    keep = min(1.0, max_rows / max(1, apps_n * minutes))
    rng = np.random.default_rng(seed)
    signals = InvocationSignals(apps_n, horizon, prior_strength)
    recurrence = RecurrenceEvidence(apps_n, horizon)
    groups = activity_groups(counts)
    features, labels, owners = [], [], []
    for t in range(minutes):
        apps, since = signals.candidates()
        chosen = rng.random(apps.size) < keep
        if chosen.any():
            apps, since = apps[chosen], since[chosen]
            features.append(population_features(signals, recurrence, apps, since).astype(np.float32))
            labels.append(counts[apps, t] > 0)
            owners.append(groups[apps])
        signals.observe(counts[:, t])
        recurrence.observe(counts[:, t] > 0)
    return Rows(np.concatenate(features), np.concatenate(labels), np.concatenate(owners))


def fit_logistic(
    features: npt.NDArray[np.floating], labels: npt.NDArray[np.bool_], names: Sequence[str], *, l2: float = DEFAULT_L2
) -> tuple[Floats, float]:
    """Weights and bias (on the raw features) minimising the log-loss + l2/2 |w|^2 on standardised columns."""
    columns = [POPULATION_FEATURES.index(name) for name in names]
    x = np.asarray(features[:, columns], dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0  # a constant column carries nothing; keep it finite
    z = np.column_stack([(x - mean) / scale, np.ones(x.shape[0])])
    y = labels.astype(np.float64)
    n = float(x.shape[0])

    def loss(w: Floats) -> tuple[float, Floats]:
        margin = z @ w
        value = np.logaddexp(0.0, margin) - y * margin
        gradient = z.T @ (expit(margin) - y)
        penalty = np.append(w[:-1], 0.0)  # the bias is not penalised
        return float(value.sum() + 0.5 * l2 * penalty @ penalty) / n, (gradient + l2 * penalty) / n

    result = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 500, "gtol": 1e-8})
    weights = result.x[:-1] / scale
    return weights, float(result.x[-1] - weights @ mean)


def train(
    traces: Sequence[str],
    *,
    names: Sequence[str] = POPULATION_FEATURES,
    l2: float = DEFAULT_L2,
    seed: int = DEFAULT_SEED,
    max_rows: int = DEFAULT_MAX_ROWS,
    exclude_fold: tuple[int, int] | None = None,
) -> PopulationModel:
    """Fit on the bundled `traces`; `exclude_fold=(fold, folds)` leaves that grouped fold out of every trace."""
    from runtime.traces.bundled import bundled_trace_dir, load_trace

    parts = [rows_of(name, seed=seed, max_rows=max_rows) for name in traces]
    if exclude_fold is not None:
        fold, folds = exclude_fold
        parts = [
            _subset(rows, group_folds(activity_groups(load_trace(name).by_app().counts), folds, seed)[rows.groups] != fold)
            for name, rows in zip(traces, parts, strict=True)
        ]
    features = np.concatenate([rows.features for rows in parts])
    labels = np.concatenate([rows.labels for rows in parts])
    weights, bias = fit_logistic(features, labels, names, l2=l2)
    training = {
        "command": TRAINING_COMMAND,
        "traces": {name: trace_sha256(str(bundled_trace_dir(name))) for name in traces},
        "rows": int(labels.size),
        "positive_rows": int(labels.sum()),
        "seed": seed,
        "l2": l2,
        "max_rows_per_trace": max_rows,
        "horizon_minutes": DEFAULT_HORIZON,
        "prior_strength": DEFAULT_PRIOR_STRENGTH,
    }
    return PopulationModel(feature_names=tuple(names), weights=weights, bias=bias, training=training)


_ROWS: dict[tuple[str, int, int], Rows] = {}


def rows_of(trace: str, *, seed: int = DEFAULT_SEED, max_rows: int = DEFAULT_MAX_ROWS) -> Rows:
    """The training rows of a bundled trace (cached per process: ablations refit on the same rows)."""
    key = (trace, seed, max_rows)
    if key not in _ROWS:
        from runtime.traces.bundled import load_trace

        _ROWS[key] = collect_rows(load_trace(trace).by_app().counts, seed=seed, max_rows=max_rows)
    return _ROWS[key]


def _subset(rows: Rows, keep: npt.NDArray[np.bool_]) -> Rows:
    return Rows(rows.features[keep], rows.labels[keep], rows.groups[keep])
