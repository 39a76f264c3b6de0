"""The ensemble forecaster: causal, per-function selection of the member with the lowest trailing error."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.predictor import ForecasterName, make_forecaster
from runtime.predictor.ensemble import EnsembleForecaster
from runtime.predictor.evaluation import rolling_origin_forecasts
from runtime.settings import Combination, EnsembleSettings, LstmSettings, PredictionSettings

CHEAP = EnsembleSettings(models=False, warmup_minutes=30)


def _series(minutes: int = 240, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(minutes)
    timer = np.where(t % 15 == 0, 40.0, 0.0)  # a 15-minute timer: the last value is always wrong
    noisy = rng.poisson(20, minutes).astype(float)  # steady noise: a long mean or median beats the last value
    bursty = rng.poisson(np.where(rng.random(minutes) < 0.1, 60, 2)).astype(float)
    return np.stack([timer, noisy, bursty])


def test_changing_the_future_does_not_change_past_forecasts() -> None:
    counts = _series()
    changed = counts.copy()
    changed[:, 200:] = changed[:, 200:][:, ::-1] * 3 + 7
    a1, a5 = rolling_origin_forecasts(EnsembleForecaster(CHEAP), counts, holdout_minutes=100, lead=5)
    b1, b5 = rolling_origin_forecasts(EnsembleForecaster(CHEAP), changed, holdout_minutes=100, lead=5)
    # Holdout column j is minute 140 + j; its 1-minute forecast is made after minute 139 + j.
    np.testing.assert_array_equal(a1[:, :61], b1[:, :61])  # origins up to minute 199
    np.testing.assert_array_equal(a5[:, :65], b5[:, :65])
    assert not np.array_equal(a1[:, 61:], b1[:, 61:])  # ...and the later ones do see the change


def test_each_function_follows_the_member_that_forecasts_it_best() -> None:
    counts = _series()
    model = EnsembleForecaster(CHEAP).fit(counts[:, :200])
    chosen = [model.member_names[i] for i in model.member_weights(1).argmax(axis=1)]
    assert chosen[0].startswith(("seasonal-15x", "seasonal-30x", "seasonal-60x"))
    assert chosen[1] != "last"
    a1, _ = rolling_origin_forecasts(EnsembleForecaster(CHEAP), counts, holdout_minutes=60, lead=5)
    naive = counts[:, -61:-1]
    actual = counts[:, -60:]
    assert np.abs(a1[0] - actual[0]).sum() == 0  # the timer is forecast exactly
    for row in (1, 2):
        assert np.abs(a1[row] - actual[row]).sum() < 0.8 * np.abs(naive[row] - actual[row]).sum()


def test_weighted_blends_the_top_k_members_by_inverse_error() -> None:
    settings = EnsembleSettings(models=False, warmup_minutes=30, combination=Combination.WEIGHTED, top_k=3)
    model = EnsembleForecaster(settings).fit(_series()[:, :200])
    weights = model.member_weights(5)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert ((weights > 0).sum(axis=1) == 3).all()
    error = model.trailing_error(5)
    best = np.argsort(error, axis=1, kind="stable")[:, :3]
    np.testing.assert_allclose(np.take_along_axis(weights, best, axis=1).sum(axis=1), 1.0)


def test_the_default_forecaster_is_the_ensemble_with_the_hybrid_as_member() -> None:
    tiny = LstmSettings(hidden_size=8, lookback_minutes=16, epochs=1, batch_size=64)
    settings = PredictionSettings(horizon_minutes=5, lstm=tiny)
    assert settings.forecaster is ForecasterName.ENSEMBLE
    model = make_forecaster(settings.forecaster, settings)
    assert isinstance(model, EnsembleForecaster) and model.hybrid is not None
    assert {"hybrid", "arima", "lstm"} <= set(model.member_names)
    counts = _series(120)
    model.fit(counts[:, :100])
    model.update(counts[:, 100:103])
    assert model.forecast(20).shape == (3, 20)  # beyond the tracked horizon too
    assert (model.forecast(5) >= 0).all()
    with pytest.raises(ValueError, match="2 functions but the model was fitted on 3"):
        model.update(counts[:2, 103:104])


def test_the_models_replay_only_the_last_warm_up_minutes_and_are_scored_only_there() -> None:
    tiny = LstmSettings(hidden_size=8, lookback_minutes=16, epochs=1, batch_size=64)
    settings = PredictionSettings(
        horizon_minutes=5, lstm=tiny, ensemble=EnsembleSettings(warmup_minutes=30, models_warmup_minutes=4)
    )
    model = make_forecaster(ForecasterName.ENSEMBLE, settings)
    assert isinstance(model, EnsembleForecaster) and model.hybrid is not None
    calls = 0
    forecast_members = model.hybrid.forecast_members

    def counted(horizon: int) -> tuple[np.ndarray, list[np.ndarray]]:
        nonlocal calls
        calls += 1
        return forecast_members(horizon)

    model.hybrid.forecast_members = counted  # the real hybrid, its forecasts counted
    counts = _series(150)
    model.fit(counts)
    assert calls == 4  # one per replayed minute with the models, not one per warm-up minute
    models = [model.member_names.index(name) for name in ("hybrid", "arima", "lstm")]
    cheap = model.trailing_error(1)[:, : len(models)]
    assert np.isfinite(model.trailing_error(1)[:, models]).all() and np.isfinite(cheap).all()
    assert np.isinf(model.trailing_error(5)[:, models]).all()  # 4 minutes hold no 5-minute-ahead score
    model.update(counts[:, -1:])
    assert calls == 5 and (model.forecast(5) >= 0).all()
