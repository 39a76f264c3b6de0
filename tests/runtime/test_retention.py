"""The store keeps `retention`'s days of invocations and forecasts, counted back from the newest stored minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from sqlalchemy import Engine, func, select

from runtime.services.predictor import PredictorService
from runtime.settings import RetentionSettings, RuntimeSettings
from runtime.state.hot_state import HotState
from runtime.store import InvocationRecord, record_invocations
from runtime.store.forecasts import Forecast, record_forecasts
from runtime.store.retention import prune
from runtime.store.schema import Invocation, Prediction

NEWEST = datetime(2019, 7, 31, 12, 0, tzinfo=UTC)  # a 2019 trace: years before the wall clock


def _store_days(engine: Engine, days: int) -> None:
    """One invocation row and one forecast per function per hour, for `days` days up to NEWEST."""
    hours = [NEWEST - timedelta(hours=h) for h in range(days * 24)]
    for function_id in ("a", "b"):
        record_invocations(engine, "collector", [InvocationRecord(function_id, t, 1) for t in hours])
        record_forecasts(engine, [Forecast(function_id, t, "m:1", [1.0]) for t in hours])


def _oldest(engine: Engine) -> tuple[datetime | None, datetime | None]:
    with engine.connect() as connection:
        return (connection.execute(select(func.min(Invocation.minute))).scalar(),
                connection.execute(select(func.min(Prediction.window_start))).scalar())


def test_rows_older_than_retention_are_deleted_counting_from_the_newest_minute_not_the_wall_clock(
    engine: Engine,
) -> None:
    _store_days(engine, 10)
    pruned = prune(engine, RetentionSettings(invocations_days=8, forecasts_days=3))

    # 10 days hourly = 240 rows per function; kept: the newest and everything less than 8 (3) days before it.
    assert (pruned.invocations, pruned.forecasts) == (2 * (240 - 8 * 24 - 1), 2 * (240 - 3 * 24 - 1))
    assert pruned.invocations_before == NEWEST - timedelta(days=8)
    assert _oldest(engine) == (NEWEST - timedelta(days=8), NEWEST - timedelta(days=3))
    again = prune(engine, RetentionSettings(invocations_days=8, forecasts_days=3))
    assert (again.invocations, again.forecasts) == (0, 0)


def test_the_defaults_keep_a_freshly_imported_trace_and_an_empty_store_prunes_nothing(engine: Engine) -> None:
    assert prune(engine, RetentionSettings()).invocations == 0
    _store_days(engine, 2)
    pruned = prune(engine, RetentionSettings())
    assert (pruned.invocations, pruned.forecasts) == (0, 0)
    assert _oldest(engine)[0] == NEWEST - timedelta(hours=47)


def test_the_predictor_prunes_and_counts_what_it_deleted(engine: Engine) -> None:
    _store_days(engine, 3)
    registry = CollectorRegistry()
    settings = RuntimeSettings.model_validate({"retention": {"forecasts_days": 1}})
    PredictorService(engine, HotState(None, registry), settings, registry).prune()

    assert registry.get_sample_value("isf_store_pruned_rows_total", {"table": "forecasts"}) == 2 * (72 - 24 - 1)
    assert registry.get_sample_value("isf_store_pruned_rows_total", {"table": "invocations"}) == 0


def test_a_retention_shorter_than_the_training_window_is_refused_naming_both_keys() -> None:
    with pytest.raises(ValidationError, match=r"retention.invocations_days \(1\).*prediction.history_window"):
        RuntimeSettings.model_validate({"retention": {"invocations_days": 1},
                                        "prediction": {"history_window": 2 * 86400}})
    with pytest.raises(ValidationError, match="invocations_days"):
        RetentionSettings(invocations_days=0)
