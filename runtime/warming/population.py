"""A probability model trained offline on a population of apps, shipped as a versioned artifact.

P(invocation in the coming minute) = sigmoid(mean over members of f_k(standardised features)), where
each member f_k is a small multilayer perceptron (ReLU hidden layers; no hidden layer is a logistic
model) over the causal evidence of `signals.py` and `recurrence.py`. The members differ only in their
training seed: averaging their logits halves the seed-to-seed spread of the cold starts a single net
leaves (docs/warming.md). They are fitted once on app-minutes of the bundled traces
(`isf train-warming`, `runtime/warming/population_training.py`) and shipped as JSON beside the code,
with the feature list, the training command and the sha256 of the training data. Inference is numpy
only. Online, the predictive policy may recalibrate the ensemble's logit on the apps it serves
(`fine_tune`, `calibration.OnlineLogistic` L2-penalised towards the identity).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from runtime.warming.recurrence import RECURRENCE_FEATURE_NAMES, RecurrenceEvidence
from runtime.warming.signals import FEATURE_NAMES, InvocationSignals

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

POPULATION_FEATURES: Final = (*FEATURE_NAMES, *RECURRENCE_FEATURE_NAMES)
"""Every feature a population model may use, in the column order `population_features` returns."""

FEATURE_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "hazard": ("hazard", "log_hazard_evidence"),
    "phase": tuple(name for name in FEATURE_NAMES if name.startswith("phase_")),
    "echoes": tuple(name for name in FEATURE_NAMES if "echo" in name or "hour_lag" in name),
    "lags": ("lag_best_rate", "lag_noisy_or", "lag_lift", "lag_support"),
    "gap_mode": ("mode_echo", "mode_multiple", "mode_share"),
    "survival": ("survival",),
    "rate": ("log_since", "log_invocations", "log_recent_minutes", "log_rate_hour", "log_rate_horizon"),
    "regularity": ("gap_log_mean", "gap_log_std", "idle_z", "log_burst_run"),
}
"""Features by the kind of evidence they carry (the ablation drops one group at a time)."""

ARTIFACT_VERSION: Final = "population-mlp-v2"
ARTIFACT_PATH: Final = Path(__file__).resolve().parent.parent / "data" / "warming" / f"{ARTIFACT_VERSION}.json"


def population_features(
    signals: InvocationSignals, recurrence: RecurrenceEvidence, apps: Ints, since: Ints, after_silence: bool = False
) -> Floats:
    """apps x len(POPULATION_FEATURES) evidence for an invocation in the coming minute (`after_silence`: in the one
    after it, had the coming one no invocation)."""
    return np.concatenate(
        [signals.features(apps, since, after_silence), recurrence.features(apps, since, after_silence)], axis=1
    )


Layer = tuple[Floats, Floats]
"""Weights (inputs x outputs) and bias of one dense layer."""


@dataclass(frozen=True)
class PopulationModel:
    """An ensemble of small ReLU networks over a subset of `POPULATION_FEATURES`, and how it was trained."""

    feature_names: tuple[str, ...]
    mean: Floats
    scale: Floats
    members: tuple[tuple[Layer, ...], ...]
    training: dict[str, Any] = field(default_factory=dict)
    version: str = ARTIFACT_VERSION

    def __post_init__(self) -> None:
        unknown = set(self.feature_names) - set(POPULATION_FEATURES)
        if unknown:
            raise ValueError(f"population model uses unknown features {sorted(unknown)}")
        width = len(self.feature_names)
        if self.mean.shape != (width,) or self.scale.shape != (width,) or not (self.scale > 0).all():
            raise ValueError(f"{width} features need {width} means and positive scales")
        if not self.members:
            raise ValueError("a population model needs at least one member")
        for k, layers in enumerate(self.members):
            inputs = width
            for j, (weights, bias) in enumerate(layers):
                if weights.shape != (inputs, bias.size):
                    raise ValueError(f"member {k} layer {j}: weights {weights.shape} do not take {inputs} inputs")
                inputs = bias.size
            if inputs != 1:
                raise ValueError(f"member {k} ends in {inputs} outputs, not one logit")

    @property
    def columns(self) -> Ints:
        """Indices of this model's features among `POPULATION_FEATURES`."""
        return np.array([POPULATION_FEATURES.index(name) for name in self.feature_names], dtype=np.int64)

    def logit(self, features: Floats) -> Floats:
        """The ensemble's log-odds per row of `features` (columns in `feature_names` order)."""
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        total = np.zeros(z.shape[0])
        for layers in self.members:
            h = z
            for weights, bias in layers[:-1]:
                h = np.maximum(_dense(h, weights) + bias, 0.0)
            weights, bias = layers[-1]
            total += (_dense(h, weights) + bias)[:, 0]
        return total / len(self.members)

    def to_json(self) -> str:
        def rounded(array: Floats) -> list[Any]:
            return np.round(array, 6).tolist()  # 6 decimals: the artifact stays small, P moves < 1e-5

        return (
            json.dumps(
                {
                    "version": self.version,
                    "feature_names": list(self.feature_names),
                    "mean": rounded(self.mean),
                    "scale": rounded(self.scale),
                    "members": [[{"weights": rounded(w), "bias": rounded(b)} for w, b in layers] for layers in self.members],
                    "training": self.training,
                },
                separators=(",", ":"),
            )
            + "\n"
        )

    @classmethod
    def from_json(cls, text: str) -> PopulationModel:
        data = json.loads(text)
        return cls(
            feature_names=tuple(data["feature_names"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            members=tuple(
                tuple(
                    (np.asarray(layer["weights"], dtype=np.float64).reshape(-1, len(layer["bias"])), np.asarray(layer["bias"], dtype=np.float64))
                    for layer in layers
                )
                for layers in data["members"]
            ),
            training=data.get("training", {}),
            version=data["version"],
        )


def _dense(inputs: Floats, weights: Floats) -> Floats:
    """inputs @ weights without BLAS: these products are a few hundred rows, where OpenBLAS's threads cost
    more than they save and, on a loaded machine, made a replay ten times slower (docs/warming.md)."""
    return np.einsum("ij,jk->ik", inputs, weights)


@cache
def shipped_model() -> PopulationModel:
    """The artifact shipped in the package (`isf train-warming` writes it)."""
    return PopulationModel.from_json(ARTIFACT_PATH.read_text())
