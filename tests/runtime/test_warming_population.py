"""The population model: its shipped artifact, its reproducible training, grouped splits, causal features."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.traces import load_trace
from runtime.traces.bundled import BUNDLED_TRACES, bundled_trace_dir
from runtime.warming.population import ARTIFACT_PATH, POPULATION_FEATURES, population_features, shipped_model
from runtime.warming.population_training import (
    TRAINING_COMMAND,
    activity_groups,
    group_folds,
    trace_sha256,
    train,
)
from runtime.warming.recurrence import RecurrenceEvidence
from runtime.warming.signals import InvocationSignals


def test_the_shipped_artifact_records_its_features_command_and_the_bundled_datas_hash():
    model = shipped_model()
    assert ARTIFACT_PATH.stat().st_size < 20_000  # a small artifact, not a checkpoint
    assert set(model.feature_names) <= set(POPULATION_FEATURES)
    assert model.weights.shape == (len(model.feature_names),) and np.isfinite(model.weights).all()
    assert model.training["command"] == TRAINING_COMMAND
    assert model.training["traces"] == {name: trace_sha256(str(bundled_trace_dir(name))) for name in BUNDLED_TRACES}


@pytest.mark.slow
def test_retraining_on_the_bundled_traces_reproduces_the_shipped_artifact():
    shipped = shipped_model()
    retrained = train(BUNDLED_TRACES, seed=shipped.training["seed"], l2=shipped.training["l2"])
    assert retrained.feature_names == shipped.feature_names
    assert retrained.training == shipped.training
    np.testing.assert_allclose(retrained.weights, shipped.weights, rtol=1e-4, atol=1e-4)
    assert retrained.bias == pytest.approx(shipped.bias, abs=1e-4)


def test_grouped_folds_keep_identical_activity_rows_on_one_side():
    counts = load_trace("sampled-500fn-1day").by_app().counts
    groups = activity_groups(counts)
    assert groups.max() + 1 == len(np.unique(counts, axis=0))
    folds = group_folds(groups, 3, seed=0)
    for group in np.unique(groups):
        assert np.unique(folds[groups == group]).size == 1
    assert set(np.unique(folds)) == {0, 1, 2}


def test_features_of_a_minute_never_depend_on_later_minutes():
    counts = load_trace("sampled-500fn-1day").by_app().counts[:60, :400]
    altered = counts.copy()
    rng = np.random.default_rng(1)
    altered[:, 300:] = rng.integers(0, 3, size=(60, 100))

    def features_until(matrix: np.ndarray, end: int) -> list[np.ndarray]:
        signals, recurrence = InvocationSignals(60, 240, 1.0), RecurrenceEvidence(60, 240)
        out = []
        for t in range(end):
            apps, since = signals.candidates()
            out.append(population_features(signals, recurrence, apps, since))
            signals.observe(matrix[:, t])
            recurrence.observe(matrix[:, t] > 0)
        return out

    original, changed = features_until(counts, 320), features_until(altered, 320)
    for t in range(301):  # minute 300's features are computed before minute 300 is seen
        np.testing.assert_array_equal(original[t], changed[t])
    assert any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(original[301:], changed[301:]))


def test_lag_evidence_finds_a_recurrence_longer_than_an_hour():
    # An app that fires 90 minutes after each of its invocations, with noise between: lag 90 stands out.
    rng = np.random.default_rng(2)
    row = np.zeros(1440, dtype=np.int64)
    row[5::90] = 1
    row[rng.choice(1440, 40, replace=False)] = 1
    recurrence, signals = RecurrenceEvidence(1, 240), InvocationSignals(1, 240, 1.0)
    best = {}
    for t in range(1440):
        apps, since = signals.candidates()
        if apps.size and t > 900:
            lift = recurrence.features(apps, since)[0, 2]
            best.setdefault(bool(row[t]) and (t - 5) % 90 == 0, []).append(lift)
        signals.observe(row[t : t + 1])
        recurrence.observe(row[t : t + 1] > 0)
    assert np.mean(best[True]) > np.mean(best[False]) + 1.0
