"""A forecast's point forecast and its expected counts: stored apart, and warming reads the mean.

The default ensemble ranks its members by absolute error, so for a function invoked in under half of
its minutes its point forecast is near 0 while the expected count is not; warming's Poisson fallback,
pool sizing and placement must read the expected counts (`Forecast.means`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from runtime.predictor import ForecasterName
from runtime.predictor.ensemble import EnsembleForecaster
from runtime.services.predictor import PredictorService
from runtime.services.warming import WarmingInputs, decide_pools
from runtime.settings import EnsembleSettings, RuntimeSettings
from runtime.state.hot_state import HotState
from runtime.store import Forecast, InvocationRecord, latest_forecast, record_forecasts, record_invocations

START = datetime(2024, 5, 1, tzinfo=UTC)
RATE = 0.3  # invocations per minute, one at a time: the median minute is 0, the mean about 0.3


def _sparse(minutes: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random(minutes) < RATE).astype(float)


def _near_the_recent_rate(expected: list[float] | np.ndarray, counts: np.ndarray) -> bool:
    """Within 0.05 of the range the last 20 and last 60 minutes' rates span."""
    rates = (counts[-20:].mean(), counts[-60:].mean())
    return min(rates) - 0.05 <= float(np.mean(expected)) <= max(rates) + 0.05


def test_the_ensembles_point_forecast_is_median_like_and_its_expected_count_a_mean() -> None:
    counts = np.stack([_sparse(300), np.full(300, 30.0)])
    model = EnsembleForecaster(EnsembleSettings(models=False, warmup_minutes=60)).fit(counts)
    point, expected = model.forecast(5), model.expected(5)
    assert point[0].max() < 0.1  # absolute error favours 0 for a function silent in most minutes
    assert _near_the_recent_rate(expected[0], counts[0])  # squared error among mean estimators: the rate
    np.testing.assert_allclose(point[1], 30.0)  # where both agree (a constant), they coincide
    np.testing.assert_allclose(expected[1], 30.0)


def test_the_predictor_stores_both_and_the_read_api_document_carries_them(engine: Engine) -> None:
    records = [InvocationRecord("sparse", START + timedelta(minutes=m), int(c)) for m, c in enumerate(_sparse(180))]
    records += [InvocationRecord("steady", START + timedelta(minutes=m), 30) for m in range(180)]
    record_invocations(engine, "collector", records)
    settings = RuntimeSettings.model_validate({"prediction": {
        "history_window": 3 * 3600, "horizon_minutes": 5, "ensemble": {"models": False}}})
    clock = lambda: START + timedelta(minutes=180, seconds=10)
    registry = CollectorRegistry()
    PredictorService(engine, HotState(None, registry), settings, registry, clock=clock,
                     model=ForecasterName.ENSEMBLE).refresh()

    sparse = latest_forecast(engine, "sparse")
    assert sparse is not None and sparse.expected is not None
    assert max(sparse.counts) < 0.1 and _near_the_recent_rate(sparse.means, _sparse(180))
    assert sparse.to_document()["expected"] == sparse.expected


def test_warming_reads_the_expected_counts_not_the_point_forecast(engine: Engine) -> None:
    minute = START.replace(second=0)
    point_only = Forecast("f", minute, "m", [0.0] * 5)
    with_mean = Forecast("f", minute, "m", [0.0] * 5, expected=[0.9] * 5)
    record_forecasts(engine, [with_mean])
    stored = latest_forecast(engine, "f")
    assert stored is not None and stored.expected == [0.9] * 5 and stored.means == [0.9] * 5
    assert point_only.means == [0.0] * 5  # no expected counts: the point forecast is the mean

    settings = RuntimeSettings()
    [cold] = decide_pools(WarmingInputs([point_only], {"f": 100.0}, {"f": 128.0}), settings, START)
    [warm] = decide_pools(WarmingInputs([stored], {"f": 100.0}, {"f": 128.0}), settings, START)
    assert cold.pool_size == 0
    assert warm.pool_size >= 1 and "expected 0.9 invocations" in warm.reason


def test_a_forecaster_whose_forecast_is_the_mean_returns_it_as_the_expected_counts() -> None:
    from runtime.predictor import make_forecaster

    counts = np.stack([_sparse(120), np.full(120, 30.0)])
    for name in (ForecasterName.NAIVE_LAST, ForecasterName.MOVING_AVERAGE, ForecasterName.ARIMA):
        model = make_forecaster(name).fit(counts)
        assert model.forecast_is_mean
        np.testing.assert_array_equal(model.expected(5), model.forecast(5))
    assert not EnsembleForecaster().forecast_is_mean
