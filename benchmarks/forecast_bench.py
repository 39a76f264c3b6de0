"""How long one forecast refresh of the hybrid and of the default ensemble takes for many functions
(default 10,000), CPU only.

Run: .venv/bin/python benchmarks/forecast_bench.py [--functions 10000] [--ticks 5] [--train-functions 500]
     [--models-warmup-minutes N]
Target (issue 3): one refresh (update with the last minute + forecast `horizon_minutes`) <= 15 s.
The LSTM is trained once on a sample (as `isf train` would), saved, and loaded by the predictor,
whose `fit` then estimates every function's ARIMA and the LSTM's per-function scaling; both are
timed separately from the refresh, which is what runs every `update_interval` (an update with the
newest minute, then the point forecast and the expected counts, both of which the service stores).
The ensemble (`prediction.forecaster`, the default) wraps the same hybrid; its fit also replays the
last `ensemble.warmup_minutes` to score every member, the hybrid's forecasts only over the last
`ensemble.models_warmup_minutes`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import repo_root  # noqa: F401  (before tests.support: puts the repository root on sys.path)

from runtime.predictor.arima import ArimaForecaster
from runtime.predictor.base import Forecaster
from runtime.predictor.ensemble import EnsembleForecaster
from runtime.predictor.hybrid import HybridForecaster
from runtime.predictor.lstm import LstmForecaster
from runtime.settings import PredictionSettings
from tests.support.synthetic_trace import synthetic_trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--functions", type=int, default=10_000)
    parser.add_argument("--history-minutes", type=int, default=720)
    parser.add_argument("--ticks", type=int, default=5, help="timed refreshes")
    parser.add_argument("--train-functions", type=int, default=500, help="functions the LSTM trains on")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--models-warmup-minutes", type=int, help="ensemble.models_warmup_minutes (default: the settings' default)"
    )
    args = parser.parse_args()

    settings = PredictionSettings()
    if args.models_warmup_minutes is not None:
        ensemble = settings.ensemble.model_copy(update={"models_warmup_minutes": args.models_warmup_minutes})
        settings = settings.model_copy(update={"ensemble": ensemble})
    counts = synthetic_trace(args.functions, args.history_minutes + args.ticks, seed=args.seed).counts.astype(
        float
    )
    history, live = counts[:, : args.history_minutes], counts[:, args.history_minutes :]
    load = os.getloadavg()[0]
    print(f"{args.functions} functions x {args.history_minutes} minutes of history, {os.cpu_count()} CPUs, "
          f"load average {load:.1f} at start")  # fmt: skip

    started = time.perf_counter()
    sample = np.random.default_rng(args.seed).choice(
        args.functions, size=min(args.train_functions, args.functions)
    )
    trainer = LstmForecaster(settings.lstm, horizon=settings.horizon_minutes).fit(history[sample])
    print(f"lstm train ({len(sample)} functions, {settings.lstm.epochs} epochs, "
          f"{settings.lstm.hidden_size}x{settings.lstm.num_layers}): {time.perf_counter() - started:.1f} s")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        trainer.save(Path(tmp) / "lstm.pt")
        lstm = LstmForecaster.load(Path(tmp) / "lstm.pt")

    hybrid = HybridForecaster.from_settings(ArimaForecaster(settings.arima), lstm, settings.hybrid)
    _time("hybrid", hybrid, history, live, settings.horizon_minutes, args.ticks)
    ensemble = EnsembleForecaster(
        settings.ensemble,
        HybridForecaster.from_settings(ArimaForecaster(settings.arima), lstm, settings.hybrid),
        horizon=settings.horizon_minutes,
    )
    _time("ensemble (default)", ensemble, history, live, settings.horizon_minutes, args.ticks)
    print(f"load average {os.getloadavg()[0]:.1f} at end")


def _time(label: str, model: Forecaster, history: np.ndarray, live: np.ndarray, horizon: int, ticks: int) -> None:
    started = time.perf_counter()
    model.fit(history)
    print(f"{label} fit: {time.perf_counter() - started:.1f} s")
    timings = []
    model.forecast(horizon)
    for tick in range(ticks):
        started = time.perf_counter()
        model.update(live[:, tick : tick + 1])
        predicted = model.forecast(horizon)
        if not model.forecast_is_mean:
            model.expected(horizon)  # the predictor service stores both (runtime/services/predictor.py)
        timings.append(time.perf_counter() - started)
        assert predicted.shape == (history.shape[0], horizon)
    print(f"{label} refresh (update 1 minute + forecast {horizon} minutes, and the expected counts where they differ): "
          f"median {statistics.median(timings):.2f} s, max {max(timings):.2f} s over {ticks} ticks (target <= 15 s)")  # fmt: skip


if __name__ == "__main__":
    main()
