"""ARIMA: order selection within the settings' bounds, seasonal timers, incremental filtering."""

from __future__ import annotations

from typing import Any

import numpy as np

from runtime.predictor.arima import ArimaForecaster
from runtime.predictor.arima_estimation import LONG_AR_ORDER, estimate, seasonal_periods
from runtime.settings import ArimaSettings


def _timer(period: int, n_minutes: int, burst: float = 6.0, phase: int = 0) -> np.ndarray:
    return ((np.arange(n_minutes) - phase) % period == 0) * burst


def test_a_constant_is_forecast_as_that_constant() -> None:
    model = ArimaForecaster().fit(np.full((2, 200), 7.0))
    np.testing.assert_allclose(model.forecast(10), 7.0)


def test_a_periodic_timer_is_learned_exactly() -> None:
    history = np.stack([_timer(15, 300), _timer(5, 300, burst=3.0, phase=2)])
    model = ArimaForecaster().fit(history)
    expected = np.stack([_timer(15, 330)[300:], _timer(5, 330, burst=3.0, phase=2)[300:]])
    np.testing.assert_allclose(model.forecast(30), expected, atol=1e-9)


def test_timers_get_their_period_and_noise_gets_none() -> None:
    rng = np.random.default_rng(0)
    history = np.stack([_timer(10, 400), rng.poisson(20, 400).astype(float)])
    assert seasonal_periods(history, max_period=60).tolist() == [10, 0]


def test_selected_orders_stay_within_the_configured_bounds() -> None:
    rng = np.random.default_rng(1)
    ar1 = np.zeros(500)
    for t in range(1, 500):
        ar1[t] = 0.8 * ar1[t - 1] + rng.normal()
    settings = ArimaSettings(max_p=1, max_d=0, max_q=1)
    model = ArimaForecaster(settings).fit(np.stack([ar1 + 50, rng.poisson(9, 500).astype(float)]))
    for i in range(2):
        p, d, q = model.parameters.order(i)
        assert p <= 1 and d == 0 and q <= 1
    assert model.parameters.order(0)[0] == 1 and 0.6 < model.parameters.ar[0, 0] < 0.95


def test_batched_estimates_match_statsmodels_hannan_rissanen() -> None:
    from statsmodels.tsa.arima.estimators.hannan_rissanen import hannan_rissanen

    rng = np.random.default_rng(5)
    noise = rng.normal(size=(3, 800))
    series = np.zeros((3, 800))
    for t in range(2, 800):  # ARMA(1, 1), AR(2), MA(1)
        series[0, t] = 0.7 * series[0, t - 1] + noise[0, t] + 0.4 * noise[0, t - 1]
        series[1, t] = 0.5 * series[1, t - 1] - 0.3 * series[1, t - 2] + noise[1, t]
        series[2, t] = noise[2, t] - 0.5 * noise[2, t - 1]
    for i, (p, q) in enumerate([(1, 1), (2, 0), (0, 1)]):
        params = estimate(series + 20, ArimaSettings(max_p=p, max_d=0, max_q=q), max_period=0)
        assert params.order(i) == (p, 0, q)
        reference: Any
        reference, _ = hannan_rissanen(series[i] + 20, ar_order=p, ma_order=q, initial_ar_order=LONG_AR_ORDER)
        np.testing.assert_allclose(params.ar[i, :p], reference.ar_params, atol=0.05)
        np.testing.assert_allclose(params.ma[i, :q], reference.ma_params, atol=0.05)


def test_updates_filter_with_fixed_coefficients_until_the_refit_is_due() -> None:
    rng = np.random.default_rng(2)
    history = rng.poisson(10, (3, 300)).astype(float)
    model = ArimaForecaster(ArimaSettings(refit_every_minutes=30)).fit(history)
    fitted = model.parameters
    model.update(rng.poisson(10, (3, 29)).astype(float))
    assert model.parameters is fitted
    model.update(rng.poisson(10, (3, 1)).astype(float))
    assert model.parameters is not fitted


def test_an_ar1_forecast_decays_towards_the_mean() -> None:
    rng = np.random.default_rng(4)
    series = np.zeros(600)
    for t in range(1, 600):
        series[t] = 0.9 * series[t - 1] + rng.normal()
    series += 100.0
    model = ArimaForecaster(ArimaSettings(max_d=0)).fit(series[None, :])
    model.update([[120.0]])  # a shock far above the mean
    path = model.forecast(60)[0]
    assert 110 < path[0] < 120 and abs(path[-1] - series.mean()) < 3
    assert np.all(np.diff(path) < 0)


def test_a_very_short_history_still_fits_without_differencing() -> None:
    rng = np.random.default_rng(6)
    model = ArimaForecaster().fit(rng.poisson(3, (4, 36)).astype(float))
    assert (model.parameters.d == 0).all()
    assert np.isfinite(model.forecast(5)).all()
