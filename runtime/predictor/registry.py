"""Every shipped forecaster by name, built from the runtime settings."""

from __future__ import annotations

from runtime.predictor.arima import ArimaForecaster
from runtime.predictor.base import Forecaster
from runtime.predictor.baselines import MovingAverageForecaster, NaiveLastForecaster
from runtime.predictor.ensemble import EnsembleForecaster
from runtime.predictor.hybrid import HybridForecaster
from runtime.predictor.lstm import LstmForecaster
from runtime.settings import ForecasterName, PredictionSettings

__all__ = ["ForecasterName", "make_forecaster"]


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
            return _hybrid(settings)
        case ForecasterName.ENSEMBLE:
            hybrid = _hybrid(settings) if settings.ensemble.models else None
            return EnsembleForecaster(settings.ensemble, hybrid, horizon=settings.horizon_minutes)


def _hybrid(settings: PredictionSettings) -> HybridForecaster:
    return HybridForecaster.from_settings(
        ArimaForecaster(settings.arima),
        LstmForecaster(settings.lstm, horizon=settings.horizon_minutes),
        settings.hybrid,
    )
