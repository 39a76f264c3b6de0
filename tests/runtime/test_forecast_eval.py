"""`isf forecast-eval` and the rolling-origin evaluation behind it."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from runtime.cli import app
from runtime.predictor.baselines import NaiveLastForecaster
from runtime.predictor.evaluation import (
    ForecastScore,
    busy_functions,
    geomean_mae_ratio,
    relative_score,
    rolling_origin_forecasts,
    wape,
)
from runtime.traces import bundled_trace_dir

BUNDLED = bundled_trace_dir()


def _write_trace(directory: Path, counts: np.ndarray) -> Path:
    """An Azure Functions 2019 (invitro layout) trace directory holding `counts`."""
    directory.mkdir()
    ids = [f"fn{i}" for i in range(len(counts))]
    id_frame = pd.DataFrame({"HashOwner": ids, "HashApp": ids, "HashFunction": ids})
    minutes = pd.DataFrame(counts, columns=[f"minute_{m + 1}" for m in range(counts.shape[1])])
    pd.concat([id_frame, minutes], axis=1).to_csv(directory / "invocations.csv", index=False)
    durations = pd.read_csv(BUNDLED / "durations.csv", nrows=1).drop(
        columns=["HashOwner", "HashApp", "HashFunction"]
    )
    pd.concat([id_frame, pd.concat([durations] * len(ids), ignore_index=True)], axis=1).to_csv(
        directory / "durations.csv", index=False
    )
    memory = pd.read_csv(BUNDLED / "memory.csv", nrows=1).drop(columns=["HashOwner", "HashApp"])
    pd.concat(
        [id_frame[["HashOwner", "HashApp"]], pd.concat([memory] * len(ids), ignore_index=True)], axis=1
    ).to_csv(directory / "memory.csv", index=False)
    return directory


def test_wape_is_total_absolute_error_over_total_actual() -> None:
    assert wape(np.array([[1.0, 5.0]]), np.array([[2.0, 2.0]])) == pytest.approx(4 / 4)
    with pytest.raises(ValueError, match="actual counts sum to zero"):
        wape(np.ones((1, 2)), np.zeros((1, 2)))


def test_mae_ratios_are_averaged_geometrically_leaving_out_functions_naive_forecasts_exactly() -> None:
    actual = np.array([[2.0, 2.0], [4.0, 0.0], [1.0, 1.0], [3.0, 3.0]])
    naive = np.array([[1.0, 1.0], [0.0, 4.0], [1.0, 1.0], [2.0, 2.0]])  # MAE 1, 4, 0 (left out), 1
    model = np.array([[2.0, 4.0], [4.0, 2.0], [9.0, 9.0], [3.0, 3.0]])  # MAE 1, 1, 8, 0 (floored)
    ratio, without = geomean_mae_ratio(model, naive, actual)
    assert without == 1
    assert ratio == pytest.approx((1.0 * 0.25 * 0.01) ** (1 / 3))
    score = relative_score((model, model), (naive, naive), actual)
    assert score.wape_h1 == pytest.approx(20 / 16) and score.wape_ratio_h1 == pytest.approx(20 / 12)
    assert score.geomean_mae_ratio_h5 == pytest.approx(ratio) and score.functions_without_ratio == 1
    with pytest.raises(ValueError, match="undefined"):
        geomean_mae_ratio(model[2:3], naive[2:3], actual[2:3])


def test_busy_functions_average_at_least_one_invocation_per_minute() -> None:
    assert busy_functions([[1, 1, 1], [3, 0, 0], [0, 2, 0]]).tolist() == [True, True, False]


def test_rolling_origin_forecasts_only_see_minutes_before_their_origin() -> None:
    counts = np.arange(40.0)[None, :] ** 1.5
    ahead_1, ahead_5 = rolling_origin_forecasts(NaiveLastForecaster(), counts, holdout_minutes=10, lead=5)
    np.testing.assert_array_equal(ahead_1[0], counts[0, 29:39])  # minute t forecast from t - 1
    np.testing.assert_array_equal(ahead_5[0], counts[0, 25:35])  # ... and from t - 5


def test_forecast_eval_scores_every_forecaster_and_writes_the_json_contract(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(150)
    counts = np.stack(
        [(t % 6 == 0) * 30, rng.poisson(20, 150), rng.poisson(0.1, 150), np.zeros(150, dtype=int)]
    ).astype(int)
    trace = _write_trace(tmp_path / "trace", counts)
    settings = tmp_path / "settings.yaml"
    tiny_lstm = {"hidden_size": 8, "num_layers": 1, "lookback_minutes": 16, "epochs": 2, "batch_size": 64}
    settings.write_text(yaml.safe_dump({"prediction": {"horizon_minutes": 5, "lstm": tiny_lstm}}))
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(
        app,
        [
            "forecast-eval",
            "--trace",
            str(trace),
            "--holdout-minutes",
            "30",
            "--json",
            str(out),
            "--settings",
            str(settings),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["busy_functions"] == 2
    assert set(report["models"]) == {"naive-last", "moving-average", "arima", "lstm", "hybrid", "ensemble"}
    assert report["default"] == "ensemble"
    for figures in report["models"].values():
        assert set(figures) == {
            "wape_h1", "wape_h5", "wape_ratio_h1", "wape_ratio_h5",
            "geomean_mae_ratio_h1", "geomean_mae_ratio_h5", "functions_without_ratio",
        }  # fmt: skip
        assert all(v >= 0 for v in figures.values())
    naive = report["models"]["naive-last"]
    assert naive["wape_ratio_h1"] == naive["geomean_mae_ratio_h5"] == 1.0
    assert (
        report["models"]["arima"]["wape_h1"] < report["models"]["naive-last"]["wape_h1"]
    )  # the timer is learned
    assert "hybrid" in result.output


def test_forecast_eval_names_the_missing_trace_and_a_too_long_holdout(tmp_path: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "400"})  # rich would otherwise elide a long temp path
    missing = runner.invoke(app, ["forecast-eval", "--trace", str(tmp_path / "absent")])
    assert missing.exit_code == 2 and "absent" in missing.output
    trace = _write_trace(tmp_path / "short", np.full((1, 30), 5))
    too_long = runner.invoke(app, ["forecast-eval", "--trace", str(trace), "--holdout-minutes", "25"])
    assert too_long.exit_code == 2 and "holdout-minutes" in too_long.output


@functools.cache
def _default_score(trace: str) -> ForecastScore:
    """The default combination against naive on the trace's last 360 minutes, with cheap members only (the
    ARIMA/LSTM hybrid takes minutes to train and adds 0.01-0.02; `isf forecast-eval` and docs/benchmarks.md give
    the default's figures). Horizon 5: the same forecasts 1 and 5 minutes ahead as the default 15, in a third of
    the time."""
    from runtime.predictor.ensemble import EnsembleForecaster
    from runtime.settings import EnsembleSettings
    from runtime.traces import load_trace

    counts = load_trace(trace).counts.astype(float)
    counts = counts[busy_functions(counts)]
    actual = counts[:, -360:]
    naive = rolling_origin_forecasts(NaiveLastForecaster(), counts, 360)
    ensemble = rolling_origin_forecasts(EnsembleForecaster(EnsembleSettings(models=False), horizon=5), counts, 360)
    return relative_score(ensemble, naive, actual)


# Measured with cheap members (1-minute, 5-minute WAPE ratio to naive): a loss of more than 0.03 fails.
MEASURED = {"sampled-500fn-1day": (0.57, 0.58), "real-500fn-8h": (0.75, 0.82), "invitro-busy-1306fn-1day": (0.61, 0.60)}


@pytest.mark.parametrize("trace", list(MEASURED))
def test_the_default_combination_keeps_its_measured_accuracy_and_is_never_worse_than_naive(trace: str) -> None:
    score = _default_score(trace)
    assert score.wape_ratio_h1 is not None and score.wape_ratio_h5 is not None
    h1, h5 = MEASURED[trace]
    assert score.wape_ratio_h1 <= h1 + 0.03 and score.wape_ratio_h5 <= h5 + 0.03, score
    assert score.geomean_mae_ratio_h1 is not None and score.geomean_mae_ratio_h1 < 1.0
    assert score.geomean_mae_ratio_h5 is not None and score.geomean_mae_ratio_h5 < 1.0


_UNMET = (
    "not met: docs/benchmarks.md (Forecasting) says why; neither the hindsight-best member nor the hindsight-best"
    " fixed combination of the members reaches it"
)


@pytest.mark.parametrize(
    ("trace", "lead", "target"),
    [
        ("sampled-500fn-1day", 1, 0.85), ("sampled-500fn-1day", 5, 0.70),
        ("real-500fn-8h", 1, 0.85), pytest.param("real-500fn-8h", 5, 0.70, marks=pytest.mark.xfail(strict=True, reason=_UNMET)),
        pytest.param("invitro-busy-1306fn-1day", 1, 0.50, marks=pytest.mark.xfail(strict=True, reason=_UNMET)),
        ("invitro-busy-1306fn-1day", 5, 0.70),
    ],
)
def test_issue_11s_forecasting_targets(trace: str, lead: int, target: float) -> None:
    """1-minute WAPE <= 0.85x naive and 5-minute <= 0.7x on every trace; <= 0.5x at 1 minute on the bursty
    validation trace (its 0.85 is implied). A strict xfail flips to a failure the day the target is met."""
    score = _default_score(trace)
    ratio = score.wape_ratio_h1 if lead == 1 else score.wape_ratio_h5
    assert ratio is not None and ratio <= target
