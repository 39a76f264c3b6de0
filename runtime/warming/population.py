"""A probability model trained offline on a population of apps, shipped as a versioned artifact.

P(invocation in the coming minute) = sigmoid(weights . features + bias) over the causal evidence of
`signals.py` and `recurrence.py`. The weights are fitted once on every app-minute of the bundled
traces (`isf train-warming`, `runtime/warming/population_training.py`) and shipped as JSON beside
the code, with the feature list, the training command and the sha256 of the training data. Online,
the predictive policy starts from these weights and fine-tunes them on the apps it serves
(`calibration.OnlineLogistic`, L2-penalised towards the shipped weights), so a new deployment
decides well from its first hour instead of from the hazard alone.
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
}
"""Features by the kind of evidence they carry (the ablation drops one group at a time)."""

ARTIFACT_VERSION: Final = "population-logistic-v1"
ARTIFACT_PATH: Final = Path(__file__).resolve().parent.parent / "data" / "warming" / f"{ARTIFACT_VERSION}.json"


def population_features(signals: InvocationSignals, recurrence: RecurrenceEvidence, apps: Ints, since: Ints) -> Floats:
    """apps x len(POPULATION_FEATURES) evidence for an invocation in the coming minute."""
    return np.concatenate([signals.features(apps, since), recurrence.features(apps, since)], axis=1)


@dataclass(frozen=True)
class PopulationModel:
    """Logistic weights over a subset of `POPULATION_FEATURES`, and how they were trained."""

    feature_names: tuple[str, ...]
    weights: Floats
    bias: float
    training: dict[str, Any] = field(default_factory=dict)
    version: str = ARTIFACT_VERSION

    def __post_init__(self) -> None:
        unknown = set(self.feature_names) - set(POPULATION_FEATURES)
        if unknown:
            raise ValueError(f"population model uses unknown features {sorted(unknown)}")
        if self.weights.shape != (len(self.feature_names),):
            raise ValueError(f"{len(self.feature_names)} features but {self.weights.shape} weights")

    @property
    def columns(self) -> Ints:
        """Indices of this model's features among `POPULATION_FEATURES`."""
        return np.array([POPULATION_FEATURES.index(name) for name in self.feature_names], dtype=np.int64)

    def to_json(self) -> str:
        return (
            json.dumps(
                {
                    "version": self.version,
                    "feature_names": list(self.feature_names),
                    "weights": [float(w) for w in self.weights],
                    "bias": float(self.bias),
                    "training": self.training,
                },
                indent=2,
            )
            + "\n"
        )

    @classmethod
    def from_json(cls, text: str) -> PopulationModel:
        data = json.loads(text)
        return cls(
            feature_names=tuple(data["feature_names"]),
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            training=data.get("training", {}),
            version=data["version"],
        )


@cache
def shipped_model() -> PopulationModel:
    """The artifact shipped in the package (`isf train-warming` writes it)."""
    return PopulationModel.from_json(ARTIFACT_PATH.read_text())
