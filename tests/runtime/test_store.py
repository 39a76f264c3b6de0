"""The store: migrations, idempotent invocation upserts, forecasts, registry, decisions and audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select

from runtime.contract import Tier
from runtime.settings import CostSettings
from runtime.store import (
    Actuation,
    AuditOutcome,
    DatabaseUrlError,
    DurationStats,
    Forecast,
    FunctionInfo,
    InvocationRecord,
    ModelVersionExists,
    PoolDecision,
    RegisteredModel,
    TierPlacement,
    audit_log,
    average_durations,
    current_revision,
    downgrade,
    get_function,
    get_model,
    invocation_matrix,
    invocations_between,
    latest_decisions,
    latest_forecast,
    latest_forecasts,
    latest_placements,
    list_functions,
    list_models,
    open_engine,
    record_actuations,
    record_decisions,
    record_durations,
    record_forecasts,
    record_invocations,
    record_placements,
    register_model,
    upgrade,
    upsert_functions,
    warm_pool_costs,
)
from runtime.store.schema import Base, Invocation

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def minute(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def stored_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Invocation)).scalar_one()


def test_upgrade_from_empty_creates_every_table_and_the_guides_indexes(empty_database_url: str) -> None:
    engine = open_engine(empty_database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) is not None
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) >= {table.name for table in Base.metadata.sorted_tables}
    invocation_indexes = {index["name"]: index for index in inspector.get_indexes("invocations")}
    assert invocation_indexes["idx_invocation_function_time"]["column_names"][0] == "function_id"
    assert invocation_indexes["idx_invocation_minute"]["column_names"] == ["minute"]
    prediction_indexes = {index["name"]: index for index in inspector.get_indexes("invocation_predictions")}
    assert prediction_indexes["idx_prediction_function_window"]["column_names"] == ["function_id", "window_start"]
    engine.dispose()


def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(empty_database_url: str) -> None:
    engine = open_engine(empty_database_url)
    upgrade(engine)
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert not set(inspect(engine).get_table_names()) & {t.name for t in Base.metadata.sorted_tables}
    upgrade(engine)
    assert "invocations" in inspect(engine).get_table_names()
    engine.dispose()


def test_services_starting_together_on_an_empty_postgresql_migrate_once_without_errors(
    empty_database_url: str,
) -> None:
    if not empty_database_url.startswith("postgresql"):
        pytest.skip("concurrent first starts matter on the shared PostgreSQL; set DATABASE_URL (CI does)")
    import threading
    import time

    errors: list[BaseException] = []

    def start_one_service() -> None:
        engine = open_engine(empty_database_url)
        try:
            upgrade(engine)
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start_one_service, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "concurrent upgrades deadlocked"
    assert errors == []
    engine = open_engine(empty_database_url)
    assert current_revision(engine) is not None
    engine.dispose()


def test_migrations_produce_exactly_the_declared_schema(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_replaying_a_batch_overwrites_instead_of_adding(engine: Engine) -> None:
    batch = [InvocationRecord("f", minute(0), 5, 12.5), InvocationRecord("f", minute(1), 0)]
    assert record_invocations(engine, "collector", batch) == 2
    assert record_invocations(engine, "collector", batch) == 2
    rows = invocations_between(engine, "f", minute(0), minute(2))
    assert [(r.count, r.duration_ms_avg) for r in rows] == [(5, 12.5), (0, None)]
    assert stored_rows(engine) == 2


def test_a_corrected_count_replaces_the_earlier_one(engine: Engine) -> None:
    record_invocations(engine, "collector", [InvocationRecord("f", minute(0), 5)])
    record_invocations(engine, "collector", [InvocationRecord("f", minute(0), 7)])
    assert [r.count for r in invocations_between(engine, "f", minute(0), minute(1))] == [7]


def test_the_last_duplicate_within_one_batch_wins(engine: Engine) -> None:
    batch = [InvocationRecord("f", minute(0), 1), InvocationRecord("f", minute(0), 9)]
    assert record_invocations(engine, "s", batch) == 2
    assert [r.count for r in invocations_between(engine, "f", minute(0), minute(1))] == [9]


def test_sources_are_kept_apart_and_can_be_filtered(engine: Engine) -> None:
    record_invocations(engine, "prometheus", [InvocationRecord("f", minute(0), 3)])
    record_invocations(engine, "trace", [InvocationRecord("f", minute(0), 4)])
    assert {r.source: r.count for r in invocations_between(engine, "f", minute(0), minute(1))} == {
        "prometheus": 3,
        "trace": 4,
    }
    assert [r.count for r in invocations_between(engine, "f", minute(0), minute(1), source="trace")] == [4]


def test_range_reads_are_half_open_and_ordered(engine: Engine) -> None:
    record_invocations(engine, "s", [InvocationRecord("f", minute(n), n) for n in (3, 0, 2, 1)])
    assert [r.count for r in invocations_between(engine, "f", minute(1), minute(3))] == [1, 2]


def test_timestamps_come_back_in_utc_whatever_offset_they_were_written_with(engine: Engine) -> None:
    plus_two = minute(0).astimezone(__import__("datetime").timezone(timedelta(hours=2)))
    record_invocations(engine, "s", [InvocationRecord("f", plus_two, 1)])
    (row,) = invocations_between(engine, "f", minute(0), minute(1))
    assert row.minute == minute(0) and row.minute.tzinfo is not None


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        record_invocations(engine, "s", [InvocationRecord("f", datetime(2024, 5, 1), 1)])


def test_ingest_registers_unknown_functions(engine: Engine) -> None:
    record_invocations(engine, "s", [InvocationRecord("new-fn", minute(0), 1)])
    info = get_function(engine, "new-fn")
    assert info is not None and info.memory_mb is None


def test_invocation_matrix_is_dense_with_zeros_for_missing_minutes(engine: Engine) -> None:
    record_invocations(engine, "a", [InvocationRecord("f", minute(0), 2), InvocationRecord("g", minute(2), 5)])
    record_invocations(engine, "b", [InvocationRecord("f", minute(0), 1)])
    ids, matrix = invocation_matrix(engine, minute(0), 3)
    assert ids == ["f", "g"]
    assert matrix.tolist() == [[3, 0, 0], [0, 0, 5]]


def test_function_metadata_updates_keep_fields_that_are_not_given(engine: Engine) -> None:
    upsert_functions(engine, [FunctionInfo("f", trigger="http", memory_mb=256.0)])
    upsert_functions(engine, [FunctionInfo("f", tier=Tier.EDGE)])
    info = get_function(engine, "f")
    assert info is not None and (info.trigger, info.memory_mb, info.tier) == ("http", 256.0, Tier.EDGE)
    total, page = list_functions(engine, limit=10)
    assert total == 1 and page[0].id == "f"


def test_durations_are_stored_per_source_and_averaged(engine: Engine) -> None:
    record_durations(engine, "trace", [DurationStats("f", 100.0, {"p50": 90.0})])
    record_durations(engine, "collector", [DurationStats("f", 200.0)])
    record_durations(engine, "trace", [DurationStats("f", 120.0)])
    assert average_durations(engine) == {"f": pytest.approx(160.0)}


def test_the_latest_forecast_is_the_one_with_the_latest_window(engine: Engine) -> None:
    record_forecasts(
        engine,
        [
            Forecast("f", minute(0), "hybrid-1", [1.0, 2.0]),
            Forecast("f", minute(1), "hybrid-1", [3.0, 4.0], [0.1, 0.2]),
            Forecast("g", minute(0), "hybrid-1", [5.0]),
        ],
    )
    latest = latest_forecast(engine, "f")
    assert latest is not None and latest.window_start == minute(1) and latest.counts == [3.0, 4.0]
    assert latest.concurrency == [0.1, 0.2]
    assert {f.function_id: f.window_start for f in latest_forecasts(engine)} == {"f": minute(1), "g": minute(0)}
    assert latest_forecast(engine, "unknown") is None



def test_every_latest_forecast_is_the_one_latest_forecast_picks(engine: Engine) -> None:
    # Two models on f's newest window (the later run wins), an older window stored after the newer ones,
    # and a function with no forecast.
    upsert_functions(engine, [FunctionInfo("unforecast", memory_mb=128.0)])
    record_forecasts(engine, [Forecast("f", minute(2), "a", [1.0]), Forecast("g", minute(5), "a", [2.0])])
    record_forecasts(engine, [Forecast("f", minute(2), "b", [3.0]), Forecast("g", minute(4), "b", [4.0])])
    record_forecasts(engine, [Forecast("f", minute(1), "c", [5.0])])
    latest = {f.function_id: f for f in latest_forecasts(engine)}
    assert {f: (latest[f].model_version, latest[f].counts) for f in latest} == {"f": ("b", [3.0]), "g": ("a", [2.0])}
    assert all(latest_forecast(engine, f) == forecast for f, forecast in latest.items())


def test_reforecasting_a_window_with_the_same_model_replaces_it(engine: Engine) -> None:
    record_forecasts(engine, [Forecast("f", minute(0), "v1", [1.0])])
    record_forecasts(engine, [Forecast("f", minute(0), "v1", [2.0])])
    latest = latest_forecast(engine, "f")
    assert latest is not None and latest.counts == [2.0]


def test_a_model_version_is_registered_once_and_the_newest_is_served(engine: Engine) -> None:
    register_model(engine, RegisteredModel("lstm", "1", {"hidden_size": 64}, {"wape": 0.2}, b"weights-1"))
    register_model(engine, RegisteredModel("lstm", "2", {"hidden_size": 64}, {"wape": 0.1}, b"weights-2"))
    with pytest.raises(ModelVersionExists, match="'lstm' version '1'"):
        register_model(engine, RegisteredModel("lstm", "1"))
    newest = get_model(engine, "lstm")
    assert newest is not None and (newest.version, newest.blob) == ("2", b"weights-2")
    first = get_model(engine, "lstm", "1")
    assert first is not None and first.metrics == {"wape": 0.2}
    assert [m.version for m in list_models(engine)] == ["2", "1"]
    assert all(m.blob is None for m in list_models(engine))


def test_decisions_placements_and_audit_are_appended_and_read_newest_first(engine: Engine) -> None:
    record_decisions(engine, [PoolDecision("f", minute(0), 2, 600, 1.2), PoolDecision("f", minute(1), 3, 600, 1.9)])
    record_placements(engine, [TierPlacement("f", minute(0), Tier.EDGE, Tier.CLOUD, 4.5)])
    record_actuations(
        engine,
        [Actuation(minute(0), "warming", "patch-min-scale", "default/f-00001", AuditOutcome.DRY_RUN,
                   {"autoscaling.knative.dev/min-scale": "3"})],
    )
    assert [d.pool_size for d in latest_decisions(engine, "f")] == [3, 2]
    (placement,) = latest_placements(engine)
    assert (placement.tier, placement.previous_tier) == (Tier.EDGE, Tier.CLOUD)
    (entry,) = audit_log(engine)
    assert entry.outcome is AuditOutcome.DRY_RUN and entry.patch == {"autoscaling.knative.dev/min-scale": "3"}


def test_warm_pool_cost_follows_pool_size_memory_and_price(engine: Engine) -> None:
    upsert_functions(engine, [FunctionInfo("big", memory_mb=1024.0), FunctionInfo("small", memory_mb=512.0)])
    record_decisions(
        engine,
        [PoolDecision("big", minute(0), 9, 60, 1.0), PoolDecision("big", minute(1), 2, 60, 1.0),
         PoolDecision("small", minute(1), 1, 60, 1.0)],
    )
    prices = CostSettings(memory_gb_second_usd=0.001)
    costs = warm_pool_costs(engine, prices)
    assert [(c.function_id, c.pool_size) for c in costs] == [("big", 2), ("small", 1)]
    assert costs[0].warm_usd_per_hour == pytest.approx(2 * 1.0 * 3600 * 0.001)
    assert costs[1].warm_usd_per_hour == pytest.approx(0.5 * 3600 * 0.001)


def test_an_unsupported_database_url_is_refused_by_name() -> None:
    with pytest.raises(DatabaseUrlError, match="DATABASE_URL uses 'mysql'"):
        open_engine("mysql://localhost/isf")
    with pytest.raises(DatabaseUrlError, match="not a database URL"):
        open_engine("not a url")
