"""A pooled, online logistic model that turns many signals into one calibrated probability.

Rows (one per app and minute: features and label) arrive in batches, one batch a minute. Each batch
is thinned at random to `capacity / window` rows before entering a ring buffer, so the buffer spans
at least `window` minutes however many apps there are and a refit costs the same at any scale. A
refit runs a few damped Newton steps of logistic regression, warm-started from the previous weights
and L2-penalised towards the `prior` weights: with little evidence the model stays the prior (e.g.
the hazard alone), and it departs from it only as far as the data pays for.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import expit

Floats = npt.NDArray[np.float64]


class OnlineLogistic:
    """P(label) = sigmoid(features . weights + bias), refitted on a sample of the recent rows."""

    def __init__(
        self,
        prior: Floats,
        *,
        prior_bias: float = 0.0,
        capacity: int,
        window: int,
        l2: float = 1.0,
        newton_steps: int = 3,
        seed: int = 0,
    ):
        if window < 1 or capacity < window:
            raise ValueError(
                f"calibration capacity ({capacity} rows) must be at least its window ({window} minutes) >= 1"
            )
        if l2 <= 0:
            raise ValueError(f"calibration l2 penalty must be positive, got {l2}")
        self._prior = np.append(np.asarray(prior, dtype=np.float64), prior_bias)  # last entry: the bias
        self.weights = self._prior.copy()
        self.l2 = l2
        self.newton_steps = newton_steps
        self._rows = np.zeros((capacity, self.weights.size))
        self._labels = np.zeros(capacity)
        self._written = 0
        self._per_batch = capacity // window
        self._rng = np.random.default_rng(seed)

    @property
    def n_rows(self) -> int:
        """Rows currently held (at most `capacity`)."""
        return min(self._written, self._rows.shape[0])

    def probability(self, features: Floats) -> Floats:
        """Calibrated probability per row of `features`."""
        return expit(features @ self.weights[:-1] + self.weights[-1])

    def add(self, features: Floats, labels: npt.NDArray[np.bool_]) -> None:
        """Remember one batch of labelled rows (thinned at random), overwriting the oldest once full."""
        if features.shape[0] > self._per_batch:
            keep = self._rng.choice(features.shape[0], size=self._per_batch, replace=False)
            features, labels = features[keep], labels[keep]
        slots = (self._written + np.arange(features.shape[0])) % self._rows.shape[0]
        self._rows[slots, :-1] = features
        self._rows[slots, -1] = 1.0
        self._labels[slots] = labels
        self._written += features.shape[0]

    def refit(self) -> None:
        """Damped Newton steps on the log-likelihood of the held rows, L2-penalised towards the prior."""
        rows, labels = self._rows[: self.n_rows], self._labels[: self.n_rows]
        if not (0 < labels.sum() < labels.size):
            return  # one class only: nothing to separate yet, keep the current weights
        for _ in range(self.newton_steps):
            p = expit(rows @ self.weights)
            gradient = rows.T @ (p - labels) + self.l2 * (self.weights - self._prior)
            curvature = (rows * (p * (1.0 - p))[:, None]).T @ rows + self.l2 * np.eye(self.weights.size)
            step = np.linalg.solve(curvature, gradient)
            # Halve the step until the objective falls: separable data would otherwise overshoot.
            current = self._objective(rows, labels, self.weights)
            scale = 1.0
            while self._objective(rows, labels, self.weights - scale * step) > current and scale > 1e-3:
                scale /= 2.0
            self.weights = self.weights - scale * step

    def _objective(self, rows: Floats, labels: Floats, weights: Floats) -> float:
        """Negative log-likelihood plus the L2 distance from the prior."""
        margin = rows @ weights
        loss = np.logaddexp(0.0, margin) - labels * margin
        return float(loss.sum() + 0.5 * self.l2 * np.sum((weights - self._prior) ** 2))
