"""The hybrid blends its members with configured or per-function error-adapted weights."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.predictor.arima import ArimaForecaster
from runtime.predictor.baselines import MovingAverageForecaster, NaiveLastForecaster
from runtime.predictor.hybrid import HybridForecaster
from runtime.predictor.lstm import LstmForecaster
from runtime.settings import HybridWeights


def test_fixed_weights_blend_member_forecasts() -> None:
    hybrid = HybridForecaster([NaiveLastForecaster(), MovingAverageForecaster(window=4)], [0.25, 0.75])
    hybrid.fit([[0.0, 0.0, 0.0, 8.0]])
    assert hybrid.forecast(2).tolist() == [[0.25 * 8 + 0.75 * 2, 0.25 * 8 + 0.75 * 2]]


def test_adaptive_weights_favour_the_member_with_less_recent_error_per_function() -> None:
    alternating = np.tile([0.0, 10.0], 20)
    history = np.stack([np.full(40, 5.0), alternating])
    hybrid = HybridForecaster(
        [NaiveLastForecaster(), MovingAverageForecaster(window=2)], [0.5, 0.5], adaptive=True
    ).fit(history)
    for minute in range(10):
        hybrid.forecast(1)
        hybrid.update(np.array([[5.0], [10.0 * (minute % 2)]]))
    weights = hybrid.weights()
    np.testing.assert_allclose(weights[0], [0.5, 0.5])  # both perfect on the constant: the prior stands
    np.testing.assert_allclose(weights[1], [1 / 3, 2 / 3])  # naive is off by 10, the mean by 5


def test_from_settings_uses_the_configured_arima_and_lstm_weights() -> None:
    hybrid = HybridForecaster.from_settings(
        ArimaForecaster(), LstmForecaster(), HybridWeights(arima_weight=0.3, lstm_weight=0.7, adaptive=False)
    )
    assert hybrid.prior.tolist() == [0.3, 0.7] and not hybrid.adaptive


def test_each_member_needs_a_weight() -> None:
    with pytest.raises(ValueError, match="one weight per member"):
        HybridForecaster([NaiveLastForecaster()], [0.5, 0.5])
