"""Every shipped forecaster by name, built from the runtime settings."""

from __future__ import annotations

from enum import StrEnum

from runtime.predictor.arima import ArimaForecaster
from runtime.predictor.base import Forecaster
from runtime.predictor.baselines import MovingAverageForecaster, NaiveLastForecaster
from runtime.predictor.hybrid import HybridForecaster
from runtime.predictor.lstm import LstmForecaster
from runtime.settings import PredictionSettings


class ForecasterName(StrEnum):
    """The forecasters `isf forecast-eval` compares and the predictor service can run."""

    NAIVE_LAST = "naive-last"
    MOVING_AVERAGE = "moving-average"
    ARIMA = "arima"
    LSTM = "lstm"
    HYBRID = "hybrid"


def make_forecaster(name: ForecasterName, settings: PredictionSettings | None = None) -> Forecaster:
    """A fresh, unfitted forecaster of kind `name` configured from `settings`."""
    settings = settings or PredictionSettings()
    match name:
        case ForecasterName.NAIVE_LAST:
            return NaiveLastForecaster()
        case ForecasterName.MOVING_AVERAGE:
            return MovingAverageForecaster()
        case ForecasterName.ARIMA:
            return ArimaForecaster(settings.arima)
        case ForecasterName.LSTM:
            return LstmForecaster(settings.lstm, horizon=settings.horizon_minutes)
        case ForecasterName.HYBRID:
            return HybridForecaster.from_settings(
                ArimaForecaster(settings.arima),
                LstmForecaster(settings.lstm, horizon=settings.horizon_minutes),
                settings.hybrid,
            )
