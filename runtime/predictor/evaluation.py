"""Rolling-origin forecast evaluation: refit once, then step minute by minute through a holdout."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from runtime.predictor.base import Counts, Forecaster, as_counts

BUSY_MIN_PER_MINUTE = 1.0
"""A function is "busy" when it averages at least this many invocations per minute."""


MAE_RATIO_FLOOR = 0.01
"""Per-function MAE ratios are floored here, so one perfectly forecast function cannot zero the geometric mean."""


class ForecastScore(BaseModel):
    """WAPE (sum |error| / sum actual) of the 1- and 5-minute-ahead forecasts over the holdout.

    Against a reference (naive-last in `isf forecast-eval`): the WAPE ratio, and the geometric mean
    over functions of MAE / reference MAE, over the functions where the reference's MAE is not 0
    (`functions_without_ratio` counts the others: a reference that is never wrong leaves no ratio).
    """

    wape_h1: float
    wape_h5: float
    wape_ratio_h1: float | None = None
    wape_ratio_h5: float | None = None
    geomean_mae_ratio_h1: float | None = None
    geomean_mae_ratio_h5: float | None = None
    functions_without_ratio: int | None = None


def busy_functions(counts: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Which functions (rows) average at least one invocation per minute."""
    return as_counts(counts, what="counts").mean(axis=1) >= BUSY_MIN_PER_MINUTE


def wape(predicted: Counts, actual: Counts) -> float:
    """Weighted absolute percentage error: sum |predicted - actual| / sum actual."""
    total = float(actual.sum())
    if total <= 0:
        raise ValueError("WAPE is undefined when the actual counts sum to zero")
    return float(np.abs(predicted - actual).sum() / total)


def geomean_mae_ratio(predicted: Counts, reference: Counts, actual: Counts) -> tuple[float, int]:
    """Geometric mean over functions of MAE(predicted) / MAE(reference), and how many functions had none.

    Functions where the reference's MAE is 0 are left out; ratios are floored at `MAE_RATIO_FLOOR`.
    """
    mae = np.abs(predicted - actual).mean(axis=1)
    reference_mae = np.abs(reference - actual).mean(axis=1)
    defined = reference_mae > 0
    if not defined.any():
        raise ValueError("the MAE ratio is undefined when the reference forecasts every function exactly")
    ratios = np.maximum(mae[defined] / reference_mae[defined], MAE_RATIO_FLOOR)
    return float(np.exp(np.log(ratios).mean())), int((~defined).sum())


def relative_score(
    ahead: tuple[Counts, Counts], reference: tuple[Counts, Counts], actual: Counts
) -> ForecastScore:
    """Score 1- and 5-minute-ahead forecasts (functions x holdout each) against a reference's."""
    wapes = [wape(a, actual) for a in ahead]
    reference_wapes = [wape(r, actual) for r in reference]
    (geo_1, without), (geo_5, _) = (geomean_mae_ratio(a, r, actual) for a, r in zip(ahead, reference, strict=True))
    return ForecastScore(
        wape_h1=wapes[0],
        wape_h5=wapes[1],
        wape_ratio_h1=wapes[0] / reference_wapes[0],
        wape_ratio_h5=wapes[1] / reference_wapes[1],
        geomean_mae_ratio_h1=geo_1,
        geomean_mae_ratio_h5=geo_5,
        functions_without_ratio=without,
    )


def rolling_origin_forecasts(
    forecaster: Forecaster,
    counts: Counts,
    holdout_minutes: int,
    lead: int = 5,
    on_step: Callable[[], None] | None = None,
    expected_1: Counts | None = None,
) -> tuple[Counts, Counts]:
    """Forecasts of each holdout minute made 1 and `lead` minutes earlier (functions x holdout each).

    The model is fitted once on everything before the first origin, then only `update`d, exactly as
    the predictor service drives it. `expected_1` (functions x holdout), when given, is filled with the
    1-minute-ahead expected counts (`Forecaster.expected`; the point forecast for all but the ensemble).
    """
    n_minutes = counts.shape[1]
    first_target = n_minutes - holdout_minutes
    first_origin = first_target - (lead - 1)
    if holdout_minutes < 1 or first_origin < 2:
        raise ValueError(
            f"holdout_minutes must be between 1 and {n_minutes - lead - 1} for a {n_minutes}-minute trace"
        )
    ahead_1 = np.empty((counts.shape[0], holdout_minutes))
    ahead_lead = np.empty_like(ahead_1)
    forecaster.fit(counts[:, :first_origin])
    for origin in range(first_origin, n_minutes):
        predicted = forecaster.forecast(lead)
        if origin >= first_target:
            ahead_1[:, origin - first_target] = predicted[:, 0]
            if expected_1 is not None:
                expected_1[:, origin - first_target] = forecaster.expected(1)[:, 0]
        if origin + lead - 1 < n_minutes:
            ahead_lead[:, origin + lead - 1 - first_target] = predicted[:, lead - 1]
        forecaster.update(counts[:, origin : origin + 1])
        if on_step is not None:
            on_step()
    return ahead_1, ahead_lead


def score(
    forecaster: Forecaster, counts: Counts, holdout_minutes: int, on_step: Callable[[], None] | None = None
) -> ForecastScore:
    """Rolling-origin WAPE of `forecaster` 1 and 5 minutes ahead on the last `holdout_minutes`."""
    ahead_1, ahead_5 = rolling_origin_forecasts(forecaster, counts, holdout_minutes, lead=5, on_step=on_step)
    actual = counts[:, -holdout_minutes:]
    return ForecastScore(wape_h1=wape(ahead_1, actual), wape_h5=wape(ahead_5, actual))
