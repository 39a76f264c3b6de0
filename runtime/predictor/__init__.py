"""Invocation forecasting: one interface, many models, all vectorised over many functions.

Every forecaster (`runtime.predictor.base.Forecaster`) is used the same way:

    from runtime.predictor import ForecasterName, make_forecaster
    model = make_forecaster(ForecasterName.HYBRID, settings.prediction)
    model.fit(history)           # functions x minutes array of per-minute invocation counts
    model.update(new_minutes)    # functions x k: the minutes observed since (cheap, no full refit)
    model.forecast(h)            # functions x h float64 point forecast (what WAPE scores), all >= 0
    model.expected(h)            # functions x h expected counts (the same unless not forecast_is_mean)

Rows keep the order given to `fit`. Bad shapes, NaNs or negative counts raise ValueError naming the
argument. `expected_concurrency(counts, duration_ms)` turns counts into mean busy instances.
Models: `naive-last`, `moving-average`, `arima` (seasonal ARIMA, vectorised filter between refits),
`lstm` (one global PyTorch model, `save`/`load` with a format version), `hybrid` (their blend) and
`ensemble` (the default: a weighted median of cheap members and the hybrid, by trailing error).
"""

from runtime.predictor.base import Counts, Forecaster
from runtime.predictor.concurrency import expected_concurrency
from runtime.predictor.registry import ForecasterName, make_forecaster

__all__ = ["Counts", "Forecaster", "ForecasterName", "expected_concurrency", "make_forecaster"]
