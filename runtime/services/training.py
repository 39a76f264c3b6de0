"""Training a forecaster on stored per-minute history and registering the version; shared by the
predictor service (hourly) and `isf train`."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, func, select

from runtime.predictor import Forecaster, ForecasterName, expected_concurrency, make_forecaster
from runtime.predictor.ensemble import EnsembleForecaster
from runtime.predictor.evaluation import rolling_origin_forecasts
from runtime.predictor.hybrid import HybridForecaster
from runtime.predictor.lstm import LstmForecaster
from runtime.services.accuracy import score_rows
from runtime.settings import PredictionSettings
from runtime.store.forecasts import Forecast, record_forecasts
from runtime.store.functions import average_durations
from runtime.store.invocations import invocation_matrix
from runtime.store.models import RegisteredModel, register_model
from runtime.store.schema import Invocation


class NoHistory(ValueError):
    """The store holds no invocations to train on for the requested functions and window."""


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def last_stored_minute(engine: Engine) -> datetime | None:
    """The newest minute with stored invocations (imported traces end in the past)."""
    with engine.connect() as connection:
        return connection.execute(select(func.max(Invocation.minute))).scalar_one_or_none()


def history(
    engine: Engine, end: datetime, window_s: int, function_ids: Sequence[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """Per-minute counts of [end - window, end) as functions x minutes, for the given functions or all."""
    minutes = window_s // 60
    if minutes < 1:
        raise ValueError(f"history window must be at least 60 seconds, got {window_s}")
    start = end - timedelta(minutes=minutes)
    ids, counts = invocation_matrix(engine, start, minutes)
    if function_ids is not None:
        index = {f: i for i, f in enumerate(ids)}
        missing = sorted(set(function_ids) - index.keys())
        if missing:
            raise NoHistory(
                f"no invocations stored for function(s) {missing} in [{start.isoformat()}, {end.isoformat()})"
            )
        ids = list(dict.fromkeys(function_ids))
        counts = counts[[index[f] for f in ids]]
    if not ids:
        raise NoHistory(f"no invocations stored in [{start.isoformat()}, {end.isoformat()})")
    return ids, counts


@dataclass(frozen=True)
class Holdout:
    """Rolling-origin forecasts of the last minutes of history, and their scores."""

    ahead_1: np.ndarray
    """functions x holdout minutes: each minute's count as forecast one minute earlier."""
    metrics: dict[str, float]
    expected_1: np.ndarray | None = None
    """The same minutes' expected counts, where the forecast is not the mean (the ensemble's), else None."""


def score_holdout(
    model: ForecasterName, settings: PredictionSettings, counts: np.ndarray, holdout_minutes: int
) -> Holdout:
    """Rolling-origin WAPE/MAPE 1 and 5 minutes ahead over the last `holdout_minutes` (absent when undefined)."""
    forecaster = make_forecaster(model, settings)
    expected_1 = None if forecaster.forecast_is_mean else np.empty((counts.shape[0], holdout_minutes))
    ahead_1, ahead_5 = rolling_origin_forecasts(forecaster, counts.astype(float), holdout_minutes, lead=5,
                                                expected_1=expected_1)
    actual = counts[:, -holdout_minutes:].astype(float)
    ids = [str(i) for i in range(counts.shape[0])]
    _, one = score_rows(ids, ahead_1, actual)
    _, five = score_rows(ids, ahead_5, actual)
    metrics = {"wape_h1": one.wape, "mape_h1": one.mape, "wape_h5": five.wape, "mape_h5": five.mape}
    return Holdout(ahead_1, {name: value for name, value in metrics.items() if value is not None}, expected_1)


def _lstm_of(model: Forecaster | None) -> LstmForecaster | None:
    if isinstance(model, LstmForecaster):
        return model
    if isinstance(model, EnsembleForecaster):
        return _lstm_of(model.hybrid)
    if isinstance(model, HybridForecaster):
        return next((m for m in model.members if isinstance(m, LstmForecaster)), None)
    return None


def weights_blob(model: Forecaster) -> bytes | None:
    """The LSTM weights (the only member with learned weights worth keeping), as `LstmForecaster.save` writes them."""
    lstm = _lstm_of(model)
    if lstm is None or lstm.network is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lstm.pt"
        lstm.save(path)
        return path.read_bytes()


@dataclass(frozen=True)
class TrainedModel:
    """A fitted forecaster, the rows it forecasts, where its history ended and its registry entry."""

    forecaster: Forecaster
    function_ids: list[str]
    history_end: datetime
    registered: RegisteredModel


def train(
    engine: Engine,
    settings: PredictionSettings,
    end: datetime,
    trained_at: datetime,
    *,
    model: ForecasterName | None = None,
    function_ids: Sequence[str] | None = None,
    window_s: int | None = None,
    holdout_minutes: int = 0,
) -> TrainedModel:
    """Fit `model` (default: `settings.forecaster`) on [end - window, end), optionally score a holdout
    first, and register the version."""
    model = model or settings.forecaster
    window_s = window_s or settings.history_window
    ids, counts = history(engine, end, window_s, function_ids)
    holdout = score_holdout(model, settings, counts, holdout_minutes) if holdout_minutes else None
    forecaster = make_forecaster(model, settings).fit(counts.astype(float))
    registered = RegisteredModel(
        name=model.value,
        version=f"{trained_at:%Y%m%dT%H%M%S.%f}Z",
        parameters={
            "settings": settings.model_dump(mode="json"),
            "history_end": end.isoformat(),
            "history_minutes": counts.shape[1],
            "functions": len(ids),
            "function_ids": ids if function_ids is not None else "all",
            "holdout_minutes": holdout_minutes,
        },
        metrics={} if holdout is None else holdout.metrics,
        blob=weights_blob(forecaster),
    )
    register_model(engine, registered)
    trained = TrainedModel(forecaster, ids, end, registered)
    if holdout is not None:
        # Stored like live 1-minute-ahead forecasts, so `isf check-model-performance` can score a
        # model right after training, before the predictor service has produced any.
        holdout_start, durations = end - timedelta(minutes=holdout_minutes), average_durations(engine)
        record_forecasts(engine, [
            forecast
            for minute in range(holdout_minutes)
            for forecast in forecasts_of(
                engine, trained, holdout.ahead_1[:, minute : minute + 1], holdout_start + timedelta(minutes=minute),
                durations, None if holdout.expected_1 is None else holdout.expected_1[:, minute : minute + 1])
        ])
    return trained


def forecasts_of(
    engine: Engine,
    trained: TrainedModel,
    predicted: np.ndarray,
    window_start: datetime,
    durations: Mapping[str, float] | None = None,
    expected: np.ndarray | None = None,
) -> list[Forecast]:
    """Store-ready forecasts of `predicted` (functions x horizon, the point forecast) and `expected`
    (the expected counts, None where `predicted` is the mean), with concurrency where durations are known."""
    durations = average_durations(engine) if durations is None else durations
    known = np.array([f in durations for f in trained.function_ids])
    means = predicted if expected is None else expected
    concurrency = expected_concurrency(means, np.array([durations.get(f, 0.0) for f in trained.function_ids]))
    version = f"{trained.registered.name}:{trained.registered.version}"
    return [
        Forecast(f, window_start, version, predicted[i].tolist(), concurrency[i].tolist() if known[i] else None,
                 None if expected is None else expected[i].tolist())
        for i, f in enumerate(trained.function_ids)
    ]
