"""Offline training of the population model on the bundled traces (`isf train-warming`).

Rows are every app-minute the predictive policy would ask about (an app seen before, within the
horizon of its last invocation), with the causal features it would see and whether the app was
invoked; each trace is thinned at random (seeded) to at most `max_rows_per_trace`. The shipped model
is an ensemble of `MEMBERS` small ReLU networks (`HIDDEN` units) on standardised columns, each
trained by Adam on the log-loss with its own seed (torch, one thread, so the same data and seed give
the same artifact on one machine; other CPUs' instruction sets round differently, within 0.003 in mean
probability); `fit_logistic` (scipy's L-BFGS, L2-penalised) fits the linear model the
ablation compares with. Apps with identical activity rows are one group: grouped folds never put
copies of one row on both sides of a split.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit

from runtime.warming.population import POPULATION_FEATURES, Layer, PopulationModel, population_features
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
HIDDEN: Final = (64, 32)
"""Hidden units per layer of each member (two ReLU layers; `()` is a logistic model)."""
MEMBERS: Final = 3
EPOCHS: Final = 8
LEARNING_RATE: Final = 3e-3
WEIGHT_DECAY: Final = 1e-5
BATCH_ROWS: Final = 4096


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


def _standardise(x: Floats) -> tuple[Floats, Floats]:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0  # a constant column carries nothing; keep it finite
    return mean, scale


def fit_logistic(
    features: npt.NDArray[np.floating], labels: npt.NDArray[np.bool_], names: Sequence[str], *, l2: float = DEFAULT_L2
) -> PopulationModel:
    """The logistic model (one linear member) minimising the log-loss + l2/2 |w|^2 on standardised columns."""
    columns = [POPULATION_FEATURES.index(name) for name in names]
    x = np.asarray(features[:, columns], dtype=np.float64)
    mean, scale = _standardise(x)
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
    layer = (result.x[:-1, None], result.x[-1:])
    return PopulationModel(feature_names=tuple(names), mean=mean, scale=scale, members=((layer,),))


def fit_ensemble(
    features: npt.NDArray[np.floating],
    labels: npt.NDArray[np.bool_],
    names: Sequence[str],
    *,
    hidden: Sequence[int] = HIDDEN,
    members: int = MEMBERS,
    seed: int = DEFAULT_SEED,
) -> PopulationModel:
    """`members` ReLU networks, seeds seed..seed+members-1, on standardised columns; logits averaged."""
    import torch

    columns = [POPULATION_FEATURES.index(name) for name in names]
    x = np.asarray(features[:, columns], dtype=np.float64)
    mean, scale = _standardise(x)
    inputs = torch.tensor((x - mean) / scale, dtype=torch.float32)
    targets = torch.tensor(labels, dtype=torch.float32)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the sums run in one order, so the same seed gives the same weights
    try:
        nets = [_train_net(inputs, targets, hidden, seed + k) for k in range(members)]
    finally:
        torch.set_num_threads(threads)
    return PopulationModel(feature_names=tuple(names), mean=mean, scale=scale, members=tuple(nets))


def _train_net(inputs: Any, targets: Any, hidden: Sequence[int], seed: int) -> tuple[Layer, ...]:
    import torch

    torch.manual_seed(seed)
    widths = [inputs.shape[1], *hidden, 1]
    dense = [torch.nn.Linear(a, b) for a, b in itertools.pairwise(widths)]
    modules: list[torch.nn.Module] = []
    for layer in dense[:-1]:
        modules += [layer, torch.nn.ReLU()]
    net = torch.nn.Sequential(*modules, dense[-1])
    optimiser = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(EPOCHS):
        for batch in torch.randperm(targets.shape[0], generator=generator).split(BATCH_ROWS):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(inputs[batch]).squeeze(1), targets[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return tuple(
        (layer.weight.detach().double().numpy().T.copy(), layer.bias.detach().double().numpy().copy()) for layer in dense
    )


def train(
    traces: Sequence[str],
    *,
    names: Sequence[str] = POPULATION_FEATURES,
    seed: int = DEFAULT_SEED,
    max_rows: int = DEFAULT_MAX_ROWS,
    exclude_fold: tuple[int, int] | None = None,
    linear: bool = False,
) -> PopulationModel:
    """Fit on the bundled `traces`; `exclude_fold=(fold, folds)` leaves that grouped fold out of every trace.

    `linear`: the logistic model instead of the ensemble (for the ablation)."""
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
    if linear:
        model = fit_logistic(features, labels, names)
        recipe: dict[str, Any] = {"model": "logistic", "l2": DEFAULT_L2}
    else:
        model = fit_ensemble(features, labels, names, seed=seed)
        recipe = {
            "model": "relu-mlp-ensemble",
            "hidden": list(HIDDEN),
            "members": MEMBERS,
            "epochs": EPOCHS,
            "learning_rate": LEARNING_RATE,
            "weight_decay": WEIGHT_DECAY,
            "batch_rows": BATCH_ROWS,
        }
    training = {
        "command": TRAINING_COMMAND,
        "traces": {name: trace_sha256(str(bundled_trace_dir(name))) for name in traces},
        "rows": int(labels.size),
        "positive_rows": int(labels.sum()),
        "seed": seed,
        **recipe,
        "max_rows_per_trace": max_rows,
        "horizon_minutes": DEFAULT_HORIZON,
        "prior_strength": DEFAULT_PRIOR_STRENGTH,
    }
    return PopulationModel(
        feature_names=model.feature_names, mean=model.mean, scale=model.scale, members=model.members, training=training
    )


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
