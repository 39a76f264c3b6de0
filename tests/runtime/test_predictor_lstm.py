"""The global LSTM: shared training, per-function scaling, save/load with a format version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from runtime.predictor.lstm import LSTM_FORMAT_VERSION, SEASONAL_LAGS, LstmForecaster
from runtime.settings import LstmSettings

TINY = LstmSettings(
    hidden_size=8, num_layers=1, lookback_minutes=16, epochs=15, batch_size=32, learning_rate=0.02
)


def _history() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(240)
    return np.stack([np.full(240, 3.0), (t % 4 == 0) * 20.0, rng.poisson(200, 240).astype(float)])


def test_hidden_size_layers_and_lookback_come_from_settings() -> None:
    model = LstmForecaster(TINY, horizon=4).fit(_history())
    assert model.network.lstm.hidden_size == 8 and model.network.lstm.num_layers == 1
    assert model.network.head.out_features == 4
    assert model._recent.shape == (3, 16 + max(SEASONAL_LAGS) - 1)  # lookback plus the lags' reach


def test_each_step_reads_the_value_one_seasonal_period_before_the_next_minute() -> None:
    model = LstmForecaster(TINY, horizon=4).fit(_history())
    scaled = np.tile(np.arange(1.0, 101.0, dtype=np.float32), (3, 1))
    inputs = model._inputs(scaled, 16).numpy()[0]  # steps x (count, level, one column per lag)
    assert inputs.shape == (16, 2 + len(SEASONAL_LAGS))
    np.testing.assert_array_equal(inputs[:, 0], scaled[0, -16:])
    for column, lag in enumerate(SEASONAL_LAGS, start=2):
        assert inputs[-1, column] == scaled[0, -1] + 1 - lag  # minute t + 1 - P for the last step t
    # Before the start of the series a lag reads 0.
    assert model._inputs(scaled[:, :20], 16).numpy()[0, 0, 2 + SEASONAL_LAGS.index(60)] == 0.0


def test_a_rollout_past_the_network_horizon_keeps_the_seasonal_lags_in_reach(monkeypatch: pytest.MonkeyPatch) -> None:
    # forecast(12) with a 4-minute head runs the network three times, feeding its own predictions back;
    # every block must still see 60 minutes before its next minute, not zeros from a trimmed window.
    model = LstmForecaster(TINY, horizon=4).fit(_history())
    seen: list[np.ndarray] = []
    original = model._inputs

    def recording(scaled: np.ndarray, steps: int) -> torch.Tensor:
        seen.append(scaled.copy())
        return original(scaled, steps)

    monkeypatch.setattr(model, "_inputs", recording)
    model.forecast(12)
    assert len(seen) == 3
    reach = 16 + max(SEASONAL_LAGS) - 1
    assert all(window.shape == (3, reach) for window in seen)
    np.testing.assert_array_equal(seen[1][:, :-4], seen[0][:, 4:])  # shifted by the first block's 4 minutes


def test_per_function_scaling_keeps_quiet_and_busy_functions_in_their_own_range() -> None:
    model = LstmForecaster(TINY, horizon=4).fit(_history())
    predicted = model.forecast(4)
    assert predicted[0].max() < 20 and predicted[2].min() > 50


def test_a_saved_model_loads_back_to_identical_forecasts(tmp_path: Path) -> None:
    history = _history()
    model = LstmForecaster(TINY, horizon=4).fit(history)
    model.save(tmp_path / "lstm.pt")
    loaded = LstmForecaster.load(tmp_path / "lstm.pt")
    assert loaded.settings == TINY and loaded.horizon == 4
    weights_before = [p.clone() for p in loaded.network.parameters()]
    loaded.fit(history)  # a loaded model only calibrates scaling: no training
    assert all(torch.equal(a, b) for a, b in zip(weights_before, loaded.network.parameters()))
    np.testing.assert_allclose(loaded.forecast(9), model.forecast(9), rtol=1e-6)


def test_a_model_saved_with_another_format_version_is_refused(tmp_path: Path) -> None:
    model = LstmForecaster(TINY, horizon=4).fit(_history())
    model.save(tmp_path / "lstm.pt")
    saved = torch.load(tmp_path / "lstm.pt", weights_only=True)
    saved["format_version"] = LSTM_FORMAT_VERSION + 1
    torch.save(saved, tmp_path / "future.pt")
    with pytest.raises(ValueError, match=r"future\.pt: lstm model format_version 4 is not supported"):
        LstmForecaster.load(tmp_path / "future.pt")


def test_history_shorter_than_lookback_plus_horizon_is_refused() -> None:
    with pytest.raises(ValueError, match="at least lookback_minutes \\+ horizon = 20 minutes"):
        LstmForecaster(TINY, horizon=4).fit(np.ones((2, 19)))
