"""The predictor service retrains, refreshes forecasts minute by minute, stores them and scores itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from runtime.predictor import ForecasterName
from runtime.services.predictor import PredictorService
from runtime.settings import RuntimeSettings
from runtime.state.hot_state import HotState
from runtime.store import InvocationRecord, latest_forecast, list_models, record_invocations

START = datetime(2024, 5, 1, tzinfo=UTC)
# A one-epoch LSTM keeps the tests fast but forecasts poorly, so the blend here trusts ARIMA alone.
SETTINGS = RuntimeSettings.model_validate({"prediction": {
    "history_window": 3 * 3600, "horizon_minutes": 5,
    "lstm": {"hidden_size": 8, "num_layers": 1, "lookback_minutes": 16, "epochs": 1, "batch_size": 64},
    "arima": {"max_p": 1, "max_d": 1, "max_q": 1},
    "hybrid": {"arima_weight": 1.0, "lstm_weight": 0.0},
}})


class SteppingClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def ingest(engine: Engine, first_minute: int, minutes: int) -> None:
    records = []
    for m in range(first_minute, first_minute + minutes):
        records.append(InvocationRecord("steady", START + timedelta(minutes=m), 30))
        records.append(InvocationRecord("timer", START + timedelta(minutes=m), 1 if m % 5 == 0 else 0))
    record_invocations(engine, "collector", records)


def service(engine: Engine, clock: SteppingClock, registry: CollectorRegistry,
            hot_state: HotState | None = None) -> PredictorService:
    return PredictorService(engine, hot_state or HotState(None, registry), SETTINGS, registry, clock=clock,
                            model=ForecasterName.HYBRID)


def refreshed_after_three_hours(engine: Engine) -> tuple[SteppingClock, CollectorRegistry, PredictorService]:
    """Three hours stored, a service on a clock 10 s into the next minute, and its first refresh done."""
    ingest(engine, 0, 180)
    clock = SteppingClock(START + timedelta(minutes=180, seconds=10))
    registry = CollectorRegistry()
    predictor = service(engine, clock, registry)
    predictor.refresh()
    return clock, registry, predictor


def test_a_refresh_without_a_model_trains_one_registers_it_and_stores_the_next_window(engine: Engine) -> None:
    ingest(engine, 0, 180)
    clock = SteppingClock(START + timedelta(minutes=180, seconds=10))
    registry = CollectorRegistry()

    forecasts = service(engine, clock, registry).refresh()

    assert sorted(f.function_id for f in forecasts) == ["steady", "timer"]
    [model] = list_models(engine)
    assert model.name == "hybrid" and model.parameters["history_minutes"] == 180
    stored = latest_forecast(engine, "steady")
    assert stored is not None and stored.window_start == START + timedelta(minutes=180)
    assert stored.model_version == f"hybrid:{model.version}"
    assert abs(float(np.mean(stored.counts)) - 30) < 10
    assert registry.get_sample_value("isf_predicted_invocations", {"function": "steady"}) is not None
    # on the service's clock (isf loop's simulated one), so `time() - ...` on the dashboard is the model's age
    assert registry.get_sample_value("isf_model_last_trained_timestamp_seconds", {"model": "hybrid"}) == (
        clock.now.timestamp())


def test_new_minutes_update_the_model_and_are_scored_as_wape_and_mape(engine: Engine) -> None:
    clock, registry, predictor = refreshed_after_three_hours(engine)

    assert predictor.refresh() == []  # same minute: nothing new, the stored forecast stands
    ingest(engine, 180, 3)
    clock.now += timedelta(minutes=3)
    forecasts = predictor.refresh()

    assert forecasts and forecasts[0].window_start == START + timedelta(minutes=183)
    overall = registry.get_sample_value("isf_forecast_wape", {"model": "hybrid"})
    steady = registry.get_sample_value("isf_function_forecast_mape", {"function": "steady"})
    assert overall is not None and 0 <= overall < 0.5
    assert steady is not None and steady < 0.5


def test_a_minute_the_collector_has_not_stored_yet_is_read_when_it_lands_not_as_silence(engine: Engine) -> None:
    # The collector stores minute m about 30 s + one interval after it ends: a refresh before that must not
    # observe m as zero invocations (and then never read it again).
    clock, registry, predictor = refreshed_after_three_hours(engine)

    clock.now += timedelta(minutes=1)  # minute 180 has ended, but is not stored yet
    assert predictor.refresh() == []  # nothing new is stored: the forecast from minute 180 stands
    ingest(engine, 180, 1)
    forecasts = predictor.refresh()

    assert forecasts and forecasts[0].window_start == START + timedelta(minutes=181)
    steady = registry.get_sample_value("isf_function_forecast_mape", {"function": "steady"})
    assert steady is not None and steady < 0.5  # scored against the 30 it really had, not a 0


def test_forecasts_reach_redis_for_the_read_api(engine: Engine, hot_state: HotState) -> None:
    ingest(engine, 0, 180)
    clock = SteppingClock(START + timedelta(minutes=180))

    service(engine, clock, CollectorRegistry(), hot_state).refresh()

    cached = hot_state.get_forecast("steady")
    assert cached is not None
    assert cached["window_start"] == (START + timedelta(minutes=180)).isoformat()
    assert len(cached["counts"]) == 5


def test_with_nothing_stored_the_predictor_waits_instead_of_failing(engine: Engine) -> None:
    clock = SteppingClock(START)

    assert service(engine, clock, CollectorRegistry()).refresh() == []
    assert list_models(engine) == []
