"""Every forecaster honours one interface: shapes, validation, non-negativity, causality."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.predictor import ForecasterName, expected_concurrency, make_forecaster
from runtime.predictor.baselines import MovingAverageForecaster, NaiveLastForecaster
from runtime.settings import LstmSettings, PredictionSettings

TINY = PredictionSettings(
    horizon_minutes=5,
    lstm=LstmSettings(hidden_size=8, num_layers=1, lookback_minutes=16, epochs=2, batch_size=64),
)


def _mixed_history(n_minutes: int = 160) -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(n_minutes)
    return np.stack(
        [
            np.full(n_minutes, 4.0),
            (t % 10 == 0) * 12.0,
            rng.poisson(30, n_minutes).astype(float),
            np.zeros(n_minutes),
        ]
    )


@pytest.mark.parametrize("name", list(ForecasterName))
def test_every_forecaster_returns_functions_by_horizon_non_negative_counts(name: ForecasterName) -> None:
    model = make_forecaster(name, TINY).fit(_mixed_history())
    model.update(np.array([[4.0], [0.0], [25.0], [0.0]]))
    predicted = model.forecast(20)  # longer than the LSTM's direct horizon: rolled out
    assert predicted.shape == (4, 20)
    assert np.isfinite(predicted).all() and (predicted >= 0).all()


def test_history_must_be_functions_by_minutes() -> None:
    with pytest.raises(ValueError, match="history must be 2-D"):
        NaiveLastForecaster().fit(np.arange(10.0))


def test_negative_or_nan_counts_are_refused_naming_the_argument() -> None:
    with pytest.raises(ValueError, match="history contains negative counts"):
        NaiveLastForecaster().fit([[1.0, -1.0]])
    model = NaiveLastForecaster().fit([[1.0, 2.0]])
    with pytest.raises(ValueError, match="new_minutes contains NaN"):
        model.update([[np.nan]])


def test_update_must_cover_the_functions_the_model_was_fitted_on() -> None:
    model = NaiveLastForecaster().fit(np.ones((3, 5)))
    with pytest.raises(ValueError, match="new_minutes has 2 functions but the model was fitted on 3"):
        model.update(np.ones((2, 1)))


def test_forecast_before_fit_says_to_fit_first() -> None:
    with pytest.raises(RuntimeError, match="call fit"):
        MovingAverageForecaster().forecast(1)


def test_naive_last_repeats_the_latest_minute_after_each_update() -> None:
    model = NaiveLastForecaster().fit([[1.0, 2.0, 3.0]])
    assert model.forecast(2).tolist() == [[3.0, 3.0]]
    model.update([[7.0, 5.0]])
    assert model.forecast(3).tolist() == [[5.0, 5.0, 5.0]]


def test_moving_average_is_the_mean_of_the_window_and_slides_with_updates() -> None:
    model = MovingAverageForecaster(window=3).fit([[9.0, 1.0, 2.0, 3.0]])
    assert model.forecast(1).tolist() == [[2.0]]
    model.update([[6.0]])
    assert model.forecast(1).tolist() == [[pytest.approx(11.0 / 3.0)]]


def test_expected_concurrency_is_count_times_duration_over_a_minute() -> None:
    concurrency = expected_concurrency([[60.0, 0.0], [6.0, 12.0]], [500.0, 30_000.0])
    assert concurrency.tolist() == [[0.5, 0.0], [3.0, 6.0]]


def test_expected_concurrency_needs_one_duration_per_function() -> None:
    with pytest.raises(ValueError, match="duration_ms must hold one average per function"):
        expected_concurrency(np.ones((2, 3)), [100.0])
