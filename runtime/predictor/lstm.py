"""One global LSTM over many functions: per-function log scaling, batched training and inference.

Counts are mapped to `log1p(count) / scale` with a per-function scale, so one network serves a
function invoked twice an hour and one invoked a thousand times a minute. The network reads the
last `lookback_minutes` and predicts the next `horizon` minutes directly; longer horizons are
rolled out by feeding predictions back. Training uses L1 loss in log space, whose optimum is the
median count: the forecast that minimises absolute (WAPE) error.

Timer-triggered functions repeat every 15, 30 or 60 minutes, which an LSTM cannot count out from the
raw window, so each step also reads the value one period before the minute it predicts next
(`SEASONAL_LAGS`). The 1-minute-ahead forecast, which the hybrid and the warm pool lean on most,
weighs as much in the loss as all the later minutes together. `benchmarks/lstm_seeds.py` prints the
WAPE over several seeds (docs/benchmarks.md has the figures).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from runtime.predictor.base import Counts, Forecaster
from runtime.predictor.interrupt import check_interrupted
from runtime.settings import LstmSettings

LSTM_FORMAT_VERSION = 3
"""Bumped whenever the saved layout or the meaning of the inputs changes."""


SEASONAL_LAGS = (15, 30, 60)
"""Periods (minutes) whose value one period before the next minute is an extra input at every step."""

_LAG_CONTEXT = max(SEASONAL_LAGS) - 1
"""Minutes kept before the lookback window so that every step's lagged inputs exist."""

_N_INPUTS = 2 + len(SEASONAL_LAGS)


_PARALLEL_MIN_WORK = 1 << 16
"""rows x hidden units below which one thread is faster: threads spinning on a busy machine cost more."""


def _set_threads(rows: int, hidden_size: int) -> None:
    import torch

    cores = len(os.sched_getaffinity(0))
    torch.set_num_threads(cores if rows * hidden_size >= _PARALLEL_MIN_WORK else 1)


def _build_network(settings: LstmSettings, horizon: int) -> Any:
    import torch
    from torch import nn

    class SequenceToHorizon(nn.Module):
        """LSTM over (scaled count, level, seasonal lags); a linear head reads every step's next `horizon`."""

        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(_N_INPUTS, settings.hidden_size, settings.num_layers, batch_first=True)
            self.head = nn.Linear(settings.hidden_size, horizon)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, _ = self.lstm(x)
            # Residual on the latest minute: an untrained network is naive-last, training refines it.
            return x[..., :1] + self.head(out)

    return SequenceToHorizon()


class LstmForecaster(Forecaster):
    """A single LSTM shared by all functions; shape and training knobs from `LstmSettings`."""

    name = "lstm"

    def __init__(
        self,
        settings: LstmSettings | None = None,
        horizon: int = 15,
        max_windows_per_epoch: int = 4096,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if horizon < 1:
            raise ValueError(f"lstm horizon must be at least 1 minute, got {horizon}")
        self.settings = settings or LstmSettings()
        self.horizon = horizon
        self.max_windows_per_epoch = max_windows_per_epoch
        self.seed = seed
        self.network: Any = None
        self.pretrained = False

    @property
    def min_history_minutes(self) -> int:
        return 1 if self.pretrained else self.settings.lookback_minutes + self.horizon

    # --- scaling -------------------------------------------------------------------------------

    def _scaled(self, counts: Counts) -> npt.NDArray[np.float32]:
        return (np.log1p(counts) / self._scale[:, None]).astype(np.float32)

    def _inputs(self, scaled: npt.NDArray[np.float32], steps: int) -> Any:
        """Inputs (functions x steps x features) for the last `steps` minutes of `scaled`.

        Step t reads its scaled count, the function's level and, per period P in `SEASONAL_LAGS`, the
        scaled count at t + 1 - P (0 before the start of `scaled`).
        """
        import torch

        padded = np.concatenate([np.zeros((scaled.shape[0], _LAG_CONTEXT), np.float32), scaled], axis=1)
        end = padded.shape[1]
        columns = [
            padded[:, end - steps :],
            np.broadcast_to(np.log1p(self._scale)[:, None], (scaled.shape[0], steps)).astype(np.float32),
        ]
        columns += [padded[:, end - steps + 1 - lag : end + 1 - lag] for lag in SEASONAL_LAGS]
        return torch.from_numpy(np.stack(columns, axis=-1))

    # --- Forecaster ----------------------------------------------------------------------------

    def _fit(self, history: Counts) -> None:
        # A function's scale is a high quantile of its log counts (>= 1 so quiet functions stay raw log1p).
        self._scale = np.maximum(np.quantile(np.log1p(history), 0.99, axis=1), 1.0)
        if not self.pretrained:
            self._train(history)
        self._recent = history[:, -self._context :].copy()

    @property
    def _context(self) -> int:
        """Minutes of recent history a forecast reads: the lookback plus the seasonal lags' reach."""
        return self.settings.lookback_minutes + _LAG_CONTEXT

    def _update(self, new_minutes: Counts) -> None:
        self._recent = np.concatenate([self._recent, new_minutes], axis=1)[:, -self._context :]

    def _forecast(self, horizon: int) -> Counts:
        import torch

        _set_threads(self._recent.shape[0], self.settings.hidden_size)
        window = self._scaled(self._recent)
        lookback = min(self.settings.lookback_minutes, window.shape[1])
        steps: list[npt.NDArray[np.float32]] = []
        produced = 0
        with torch.no_grad():
            while produced < horizon:
                predicted = self.network(self._inputs(window, lookback))[:, -1, :].numpy()
                steps.append(predicted)
                produced += predicted.shape[1]
                window = np.concatenate([window, predicted], axis=1)[:, -self._context :]
        scaled = np.concatenate(steps, axis=1)[:, :horizon].astype(np.float64)
        return np.expm1(np.maximum(scaled, 0.0) * self._scale[:, None])

    # --- training ------------------------------------------------------------------------------

    def _train(self, history: Counts) -> None:
        import torch

        _set_threads(self.settings.batch_size, self.settings.hidden_size)
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        lookback, horizon = self.settings.lookback_minutes, self.horizon
        if history.shape[1] < lookback + horizon:
            raise ValueError(
                f"lstm needs at least lookback_minutes + horizon = {lookback + horizon} minutes of history,"
                f" got {history.shape[1]}"
            )
        scaled = self._scaled(history)
        # Every window of `lookback` minutes predicts `horizon` minutes from each of its second-half
        # steps, so half-overlapping windows train every position once with >= lookback/2 of context.
        # Windows start late enough for their seasonal lags to exist, where the history allows.
        warmup = lookback // 2
        last_start = history.shape[1] - lookback - horizon
        starts = np.arange(min(_LAG_CONTEXT, last_start), last_start + 1, max(1, lookback - warmup))
        functions, origins = np.meshgrid(np.arange(history.shape[0]), starts, indexing="ij")
        functions, origins = functions.ravel(), origins.ravel()
        inputs = self._inputs(scaled, scaled.shape[1])
        targets = np.lib.stride_tricks.sliding_window_view(scaled, horizon, axis=1)  # f x t x horizon
        level = torch.from_numpy(self._scale.astype(np.float32))
        # The 1-minute-ahead error weighs as much as all `horizon` minutes' errors together.
        horizon_weight = torch.ones(horizon)
        horizon_weight[0] = float(horizon)

        self.network = _build_network(self.settings, horizon)
        optimiser = torch.optim.Adam(self.network.parameters(), lr=self.settings.learning_rate)
        steps_in = np.arange(lookback)
        for _ in range(self.settings.epochs):
            order = rng.permutation(len(functions))[: self.max_windows_per_epoch]
            for batch in np.array_split(order, max(1, int(np.ceil(len(order) / self.settings.batch_size)))):
                check_interrupted()  # a batch is milliseconds; a whole fit can be minutes
                f, o = functions[batch], origins[batch]
                x = inputs[torch.from_numpy(f[:, None]), torch.from_numpy(o[:, None] + steps_in)]
                y = torch.from_numpy(
                    np.ascontiguousarray(targets[f[:, None], o[:, None] + steps_in[warmup:] + 1])
                )
                predicted = self.network(x)[:, warmup:, :]
                # L1 in log1p units (scaled back by each function's scale): busier functions weigh more.
                error = (predicted - y).abs() * horizon_weight
                loss = (error * level[torch.from_numpy(f)][:, None, None]).mean()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        self.network.eval()

    # --- persistence ---------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the trained network with its format version, settings and horizon."""
        import torch

        if self.network is None:
            raise RuntimeError("lstm: nothing to save, call fit(history) first")
        torch.save(
            {
                "format_version": LSTM_FORMAT_VERSION,
                "settings": self.settings.model_dump(),
                "horizon": self.horizon,
                "state_dict": self.network.state_dict(),
            },
            Path(path),
        )

    @classmethod
    def load(cls, path: str | Path) -> LstmForecaster:
        """Read a saved model; its `fit` then only calibrates per-function scaling (no training)."""
        import torch

        source = Path(path)
        saved = torch.load(source, map_location="cpu", weights_only=True)
        version = saved.get("format_version") if isinstance(saved, dict) else None
        if version != LSTM_FORMAT_VERSION:
            raise ValueError(
                f"{source}: lstm model format_version {version!r} is not supported"
                f" (this build reads version {LSTM_FORMAT_VERSION}); retrain with `isf train`"
            )
        model = cls(LstmSettings.model_validate(saved["settings"]), horizon=int(saved["horizon"]))
        model.network = _build_network(model.settings, model.horizon)
        model.network.load_state_dict(saved["state_dict"])
        model.network.eval()
        model.pretrained = True
        return model
