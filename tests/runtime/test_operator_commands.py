"""`isf train`, `isf check-model-performance` and `isf analyze-patterns` against a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from runtime.cli import app
from runtime.services.patterns import analyze
from runtime.store import InvocationRecord, list_models, record_invocations
from runtime.store.forecasts import latest_forecast

START = datetime(2024, 5, 1, tzinfo=UTC)
HOURS = 4
FAST_MODELS = """
prediction:
  horizon_minutes: 5
  lstm: {hidden_size: 8, num_layers: 1, lookback_minutes: 16, epochs: 1, batch_size: 64}
  arima: {max_p: 1, max_d: 1, max_q: 1}
"""


def store_history(engine: Engine) -> None:
    """A timer every 5 minutes, a busy daily-shaped function and a rare one."""
    rng = np.random.default_rng(7)
    minutes = np.arange(HOURS * 60)
    series = {
        "timer": np.where(minutes % 5 == 0, 1, 0),
        "busy": rng.poisson(40 + 20 * np.sin(minutes / 60)),
        "rare": (rng.random(minutes.size) < 0.02).astype(int),
    }
    records = [InvocationRecord(f, START + timedelta(minutes=int(m)), int(c))
               for f, counts in series.items() for m, c in zip(minutes, counts, strict=True)]
    record_invocations(engine, "trace", records)


@pytest.fixture
def isf(engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    store_history(engine)
    settings = tmp_path / "settings.yaml"
    settings.write_text(FAST_MODELS)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ISF_SETTINGS_FILE", str(settings))
    return CliRunner()


def test_train_all_scores_a_holdout_registers_the_version_and_stores_forecasts(isf: CliRunner, engine: Engine) -> None:
    result = isf.invoke(app, ["train", "--all", "--model", "arima", "--holdout-minutes", "30",
                              "--history-window", str(HOURS * 3600)])

    assert result.exit_code == 0, result.output
    [model] = list_models(engine)
    assert model.name == "arima"
    assert model.parameters["functions"] == 3 and model.parameters["history_minutes"] == HOURS * 60
    assert 0 <= model.metrics["wape_h1"] < 1.0
    forecast = latest_forecast(engine, "busy")
    assert forecast is not None
    assert forecast.window_start == START + timedelta(hours=HOURS)
    assert len(forecast.counts) == 5


def test_train_one_function_with_a_history_window_uses_only_that(isf: CliRunner, engine: Engine) -> None:
    result = isf.invoke(app, ["train", "--function", "timer", "--history-window", "7200", "--model", "hybrid",
                              "--holdout-minutes", "0"])

    assert result.exit_code == 0, result.output
    [model] = list_models(engine)
    assert model.parameters["function_ids"] == ["timer"] and model.parameters["history_minutes"] == 120
    assert latest_forecast(engine, "busy") is None


def test_train_refuses_ambiguous_or_unknown_selections(isf: CliRunner) -> None:
    neither = isf.invoke(app, ["train"])
    unknown = isf.invoke(app, ["train", "--function", "nope", "--holdout-minutes", "0"])
    bad_model = isf.invoke(app, ["train", "--all", "--model", "prophet"])

    assert neither.exit_code == 2 and "--all or at least one --function" in neither.output
    assert unknown.exit_code == 2 and "'nope'" in unknown.output
    assert bad_model.exit_code == 2 and "--model 'prophet'" in bad_model.output


def test_check_model_performance_scores_stored_forecasts_and_alarms_above_the_mape_threshold(
    isf: CliRunner, tmp_path: Path
) -> None:
    # Forecasts made 30 minutes before the end are scored against the 30 minutes that followed.
    end = (START + timedelta(hours=HOURS, minutes=-30)).isoformat()
    assert isf.invoke(app, ["train", "--all", "--model", "moving-average", "--holdout-minutes", "0",
                            "--end", end]).exit_code == 0
    scores = tmp_path / "scores.json"

    relaxed = isf.invoke(app, ["check-model-performance", "--window-minutes", "30", "--mape-alarm", "100",
                               "--json", str(scores)])
    strict = isf.invoke(app, ["check-model-performance", "--function", "busy", "--window-minutes", "30",
                              "--mape-alarm", "0.0001"])

    assert relaxed.exit_code == 0, relaxed.output
    assert "overall" in relaxed.output
    rows = {row["function_id"]: row for row in __import__("json").loads(scores.read_text())}
    assert rows["busy"]["minutes"] == 5  # the horizon: minutes after it were never forecast
    assert strict.exit_code == 1
    assert "above the 0.0% alarm" in strict.output


def test_right_after_training_check_model_performance_scores_the_holdout_forecasts(
    isf: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    assert isf.invoke(app, ["train", "--all", "--model", "moving-average", "--holdout-minutes", "30"]).exit_code == 0
    scores = tmp_path / "scores.json"

    result = isf.invoke(app, ["check-model-performance", "--window-minutes", "30", "--mape-alarm", "100",
                              "--json", str(scores)])

    assert result.exit_code == 0, result.output
    rows = {row["function_id"]: row for row in __import__("json").loads(scores.read_text())}
    assert rows["busy"]["minutes"] == 30
    # The stored holdout forecasts are the ones the registered version was scored on.
    [model] = list_models(engine)
    assert rows[None]["wape"] == pytest.approx(model.metrics["wape_h1"])


def test_check_model_performance_without_forecasts_says_to_train_first(isf: CliRunner) -> None:
    result = isf.invoke(app, ["check-model-performance"])

    assert result.exit_code == 2
    assert "isf train" in result.output


def test_analyze_patterns_finds_the_timer_period(isf: CliRunner) -> None:
    result = isf.invoke(app, ["analyze-patterns", "--function", "timer", "--history-window", "14400"])

    assert result.exit_code == 0, result.output
    assert "5 min" in result.output
    assert "80.0%" in result.output  # four minutes in five are idle


def test_pattern_analysis_reports_inter_arrivals_and_a_rising_trend() -> None:
    rising = np.repeat(np.arange(120), 1) // 10

    patterns = analyze(rising)

    assert patterns.trend_per_hour == pytest.approx(6.0, rel=0.05)
    assert patterns.trend_p_value is not None and patterns.trend_p_value < 1e-6
    assert patterns.inter_arrival_median_min == 1.0
    assert analyze([0, 0, 3, 0, 0, 3, 0, 0, 3, 0, 0, 3]).period_minutes == 3


def test_train_with_the_ensemble_stores_expected_counts_for_the_holdout_and_the_forecast(
    isf: CliRunner, engine: Engine
) -> None:
    """The ensemble's point forecast is median-like (0 for the rare function): warming, pools and placement read
    the expected counts, so `isf train` stores them beside it, as the predictor service does."""
    from sqlalchemy import select

    from runtime.store.schema import Prediction

    result = isf.invoke(app, ["train", "--all", "--model", "ensemble", "--holdout-minutes", "30",
                              "--history-window", str(HOURS * 3600)])
    assert result.exit_code == 0, result.output
    end = START + timedelta(hours=HOURS)
    with engine.connect() as connection:
        rows = connection.execute(select(Prediction.window_start, Prediction.counts, Prediction.expected)
                                  .where(Prediction.function_id == "rare")).all()
    holdout = [row for row in rows if row.window_start < end]
    assert len(holdout) == 30 and all(row.expected is not None and len(row.expected) == 1 for row in holdout)
    assert sum(row.expected[0] for row in holdout) > sum(row.counts[0] for row in holdout)  # mean above median
    forecast = latest_forecast(engine, "rare")
    assert forecast is not None and forecast.window_start == end and forecast.expected is not None
    assert len(forecast.expected) == 5
