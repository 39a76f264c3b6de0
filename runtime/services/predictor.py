"""`isf serve predictor`: retrain every retrain_interval, refresh forecasts every update_interval, prune the
store every retention.interval (runtime/store/retention.py).

A refresh feeds the minutes completed since the last one to the model (`update`, no refit), scores
the previous 1-minute-ahead forecast against them (WAPE/MAPE metrics, per function and overall),
and stores the next `horizon_minutes` per function in the database and Redis. Functions first seen
after a retrain are forecast from the next retrain on.

The data's clock, not the wall clock, bounds the window: when the newest stored minute is older than
the history window (an imported trace, e.g. the bundled 2019 day), the model trains on the window that
ends there and forecasts the minutes after it. Training stops between functions, members and batches
once `stopping` is set (`runtime.predictor.interrupt`), so SIGTERM does not wait for a fit.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import numpy as np
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from runtime.api.loop import Clock, utc_now
from runtime.contract import metrics
from runtime.predictor import ForecasterName
from runtime.predictor.interrupt import TrainingInterrupted, interruptible
from runtime.services.accuracy import RollingAccuracy
from runtime.services.training import (
    NoHistory,
    TrainedModel,
    floor_minute,
    forecasts_of,
    last_stored_minute,
    train,
)
from runtime.settings import RuntimeSettings
from runtime.state.hot_state import HotState
from runtime.store.forecasts import Forecast, record_forecasts
from runtime.store.invocations import invocation_matrix
from runtime.store.retention import Pruned, prune

log = logging.getLogger(__name__)

ACCURACY_WINDOW_MINUTES = 60


class PredictorService:
    """Holds the current model; `retrain` and `refresh` are the two passes its loops drive."""

    def __init__(
        self,
        engine: Engine,
        hot_state: HotState,
        settings: RuntimeSettings,
        registry: CollectorRegistry,
        *,
        clock: Clock = utc_now,
        model: ForecasterName | None = None,
        forecast_ttl_s: int = 900,
    ) -> None:
        self._engine, self._hot_state, self._settings = engine, hot_state, settings
        self._clock, self._ttl_s = clock, forecast_ttl_s
        self._model_name = model or settings.prediction.forecaster
        self._lock = threading.Lock()
        self._training = threading.Lock()  # one fit at a time
        self.stopping = threading.Event()
        self._state = "starting: the first model is not trained yet"
        self._trained: TrainedModel | None = None
        self._observed_until: datetime | None = None
        self._last: np.ndarray | None = None
        self._accuracy: RollingAccuracy | None = None
        self._wape = metrics.FORECAST_WAPE.gauge(registry)
        self._mape = metrics.FORECAST_MAPE.gauge(registry)
        self._function_wape = metrics.FUNCTION_FORECAST_WAPE.gauge(registry)
        self._function_mape = metrics.FUNCTION_FORECAST_MAPE.gauge(registry)
        self._predicted = metrics.PREDICTED_INVOCATIONS.gauge(registry)
        self._trained_at = metrics.MODEL_LAST_TRAINED.gauge(registry)
        self._pruned = metrics.PRUNED_ROWS.counter(registry)

    @property
    def model(self) -> TrainedModel | None:
        return self._trained

    def readiness(self) -> tuple[bool, str]:
        """For /readyz: ready once a model serves, or once it is known there is no data to train on."""
        trained = self._trained
        if trained is not None:
            return True, f"{trained.registered.name}:{trained.registered.version}, {len(trained.function_ids)} functions"
        return self._state.startswith("no data"), self._state

    def _now_minute(self) -> datetime:
        """The first minute not yet stored: training and observation stop before it, forecasts start at it.

        A minute counts as stored once the store holds it (the collector writes every function of a minute in one
        batch, about `settle_seconds` + one interval after it ends; runtime/ingest/prometheus_collector.py), as
        warming's gate reads it (`LivePredictiveGate.decide`, runtime/services/warming_policy.py). Reading up to the
        clock's minute instead would observe the newest minute as silent before it is stored, and never read it
        again. Stored data that ended long ago (a replayed trace) is followed the same way."""
        now = floor_minute(self._clock())
        newest = last_stored_minute(self._engine)
        return now if newest is None else min(now, floor_minute(newest) + timedelta(minutes=1))

    def retrain(self) -> TrainedModel | None:
        """Fit a new version on the latest stored history_window and swap it in; None when nothing is stored
        (or the service is stopping)."""
        with self._training:
            now = self._clock()
            end = self._now_minute()
            try:
                with interruptible(self.stopping):
                    trained = train(self._engine, self._settings.prediction, end, now, model=self._model_name)
            except NoHistory as error:
                if self._trained is None:
                    self._state = "no data: nothing stored to train on yet"
                log.info("nothing to train on yet", extra={"reason": str(error)})
                return None
            except TrainingInterrupted:
                log.info("training interrupted: the service is stopping")
                return None
            except Exception as error:
                if self._trained is None:
                    self._state = f"first training failed: {type(error).__name__}: {error}"
                raise
            self._swap_in(trained, end)
        return trained

    def prune(self) -> Pruned:
        """Delete what `retention` no longer keeps (runtime/store/retention.py)."""
        pruned = prune(self._engine, self._settings.retention)
        self._pruned.labels("invocations").inc(pruned.invocations)
        self._pruned.labels("forecasts").inc(pruned.forecasts)
        if pruned.invocations or pruned.forecasts:
            log.info("pruned", extra={"invocations": pruned.invocations, "forecasts": pruned.forecasts,
                                      "invocations_before": pruned.invocations_before,
                                      "forecasts_before": pruned.forecasts_before})
        return pruned

    def _swap_in(self, trained: TrainedModel, end: datetime) -> None:
        with self._lock:
            self._trained, self._observed_until, self._last = trained, end, None
            self._accuracy = RollingAccuracy(trained.function_ids, ACCURACY_WINDOW_MINUTES)
        # the service's clock, so `time() - isf_model_last_trained_timestamp_seconds` holds under isf loop's too
        self._trained_at.labels(self._model_name.value).set(self._clock().timestamp())
        log.info("retrained", extra={"model": trained.registered.name, "version": trained.registered.version,
                                     "functions": len(trained.function_ids)})

    def refresh(self) -> list[Forecast]:
        """Update with the completed minutes, score, forecast and store; trains first if there is no model."""
        if self._trained is None and self.retrain() is None:
            return []
        with self._lock:
            trained, accuracy = self._trained, self._accuracy
            assert trained is not None and accuracy is not None and self._observed_until is not None
            now_minute = self._now_minute()
            new_minutes = int((now_minute - self._observed_until).total_seconds() // 60)
            if new_minutes < 1 and self._last is not None:
                return []  # no minute completed since the last refresh: the stored forecast stands
            if new_minutes >= 1:
                observed = self._observed(trained, self._observed_until, new_minutes)
                if self._last is not None:
                    accuracy.observe(self._last[:, 0], observed[:, 0])
                trained.forecaster.update(observed)
                self._observed_until = now_minute
            horizon, model = self._settings.prediction.horizon_minutes, trained.forecaster
            predicted, expected = model.forecast_and_expected(horizon)
            self._last = predicted
        forecasts = forecasts_of(self._engine, trained, predicted, now_minute, expected=expected)
        record_forecasts(self._engine, forecasts)
        self._hot_state.put_forecasts({f.function_id: f.to_document() for f in forecasts}, ttl_s=self._ttl_s)
        self._export(trained, predicted, accuracy)
        return forecasts

    def _observed(self, trained: TrainedModel, start: datetime, minutes: int) -> np.ndarray:
        # Rows follow the model's function order; a function silent in these minutes is all zeros.
        ids, counts = invocation_matrix(self._engine, start, minutes)
        positions = {f: i for i, f in enumerate(ids)}
        observed = np.zeros((len(trained.function_ids), minutes))
        for row, function_id in enumerate(trained.function_ids):
            if function_id in positions:
                observed[row] = counts[positions[function_id]]
        return observed

    def _export(self, trained: TrainedModel, predicted: np.ndarray, accuracy: RollingAccuracy) -> None:
        for function_id, next_minute in zip(trained.function_ids, predicted[:, 0].tolist(), strict=True):
            self._predicted.labels(function_id).set(next_minute)
        per_function, overall = accuracy.scores()
        for score in per_function:
            if score.wape is not None:
                self._function_wape.labels(score.function_id).set(score.wape)
            if score.mape is not None:
                self._function_mape.labels(score.function_id).set(score.mape)
        if overall.wape is not None:
            self._wape.labels(self._model_name.value).set(overall.wape)
        if overall.mape is not None:
            self._mape.labels(self._model_name.value).set(overall.mape)

