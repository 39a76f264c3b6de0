"""The default forecaster: per function, follow the members that forecast it best lately.

Members are the cheap forecasters of `candidates.py` plus, with `EnsembleSettings.models`, the
ARIMA/LSTM hybrid and its two members. At every minute each member forecasts the next `horizon`
minutes; when a minute arrives, every member's forecasts of it made 1, 2, 5 and 15 minutes earlier
are scored, and each function keeps an exponentially discounted mean of every member's absolute and
squared error per lead. A forecast h minutes ahead uses the errors of the longest scored lead <= h
and either takes the weighted median of all members, a member's weight falling exponentially with
how far its error exceeds the best member's (`median`, the default), follows the lowest-error member
(`select`) or blends the `top_k` lowest by inverse error (`weighted`).
Everything is causal: a forecast depends only on minutes already given to `fit` / `update`.

`fit` fits the models on all but the last `warmup_minutes` and replays those minutes, so a freshly
(re)trained ensemble starts with every member already scored on recent data it was not fitted on.

What the forecast means (`base.py`): `forecast` ranks members by `error` (absolute by default, what
WAPE scores), so on bursty functions it follows median-like members and is a point forecast, not a
mean (0 for a function invoked in under half of its minutes). `expected` is the weighted mean of the
members that estimate a mean (`candidates.UNBIASED` and the models), weighted as `median` weighs
them but by trailing squared error, which keeps it an expected count: that is what the predictor
stores for warming to read as a Poisson mean (`runtime.store.forecasts.Forecast.expected`).

`fit` replays the warm-up with the models only over its last `models_warmup_minutes` (they take the
minutes before in one update): a hybrid forecast per replayed minute is what makes a fit slow for
many functions. Members are scored per member, and one not scored yet at a lead is not chosen there.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from runtime.predictor import candidates
from runtime.predictor.base import Counts, Forecaster
from runtime.predictor.hybrid import HybridForecaster
from runtime.settings import Combination, EnsembleSettings, SelectionError

LEADS = (1, 2, 5, 15)
"""Lead times (minutes) whose errors are tracked; longer horizons use the longest."""

_EPSILON = 1e-6  # keeps inverse-error weights finite for functions forecast perfectly (e.g. idle ones)

_KINDS = (SelectionError.ABSOLUTE, SelectionError.SQUARED)
"""The errors tracked for every member, in the order `_error` stacks them."""


def _select(error: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Weight 1 on each function's lowest-error member (functions x members)."""
    weights = np.zeros(error.shape)
    weights[np.arange(error.shape[0]), error.argmin(axis=1)] = 1.0
    return weights


def _weighted_median(members: npt.NDArray[np.float64], weights: npt.NDArray[np.float64]) -> Counts:
    """Per function and step, the smallest member forecast whose cumulative weight reaches half.

    members: functions x members x steps; weights: functions x members (rows sum to 1).
    """
    order = np.argsort(members, axis=1, kind="stable")
    values = np.take_along_axis(members, order, axis=1)
    sorted_weights = np.take_along_axis(np.broadcast_to(weights[:, :, None], members.shape), order, axis=1)
    cumulative = np.cumsum(sorted_weights, axis=1)
    below = (cumulative < 0.5 * cumulative[:, -1:, :]).sum(axis=1, keepdims=True)
    return np.take_along_axis(values, np.minimum(below, members.shape[1] - 1), axis=1)[:, 0, :]


def _edge_padded(history: Counts, width: int) -> Counts:
    """The last `width` minutes, left-padded with the first minute when the history is shorter."""
    missing = width - history.shape[1]
    if missing <= 0:
        return history[:, -width:].copy()
    return np.concatenate([np.repeat(history[:, :1], missing, axis=1), history], axis=1)


class EnsembleForecaster(Forecaster):
    """Per-function weighted median (or selection, or weighting) of members by their discounted trailing error."""

    name = "ensemble"
    forecast_is_mean = False  # ranked by absolute error, the forecast is median-like (module docstring)

    def __init__(
        self,
        settings: EnsembleSettings | None = None,
        hybrid: HybridForecaster | None = None,
        horizon: int = 15,
    ) -> None:
        super().__init__()
        if horizon < 1:
            raise ValueError(f"ensemble horizon must be at least 1 minute, got {horizon}")
        self.settings = settings or EnsembleSettings()
        self.hybrid = hybrid if self.settings.models else None
        self.horizon = horizon
        self.leads = tuple(lead for lead in LEADS if lead <= horizon)
        model_names = () if self.hybrid is None else ("hybrid", *(m.name for m in self.hybrid.members))
        self.member_names: tuple[str, ...] = (*candidates.NAMES, *model_names)
        self._unbiased = np.array([*candidates.UNBIASED, *(True for _ in model_names)])
        self._discount = 0.5 ** (1.0 / self.settings.half_life_minutes)

    @property
    def min_history_minutes(self) -> int:
        return 1 if self.hybrid is None else self.hybrid.min_history_minutes

    # --- Forecaster ----------------------------------------------------------------------------

    def _fit(self, history: Counts) -> None:
        n, minutes = history.shape
        warmup = max(0, min(self.settings.warmup_minutes, minutes - self.min_history_minutes))
        fitted = history[:, : minutes - warmup]
        self._recent = _edge_padded(fitted, candidates.buffer_minutes(self.horizon))
        alphas = np.asarray(candidates.EWMA_ALPHAS)
        self._ewma = np.stack(
            [lfilter([a], [1.0, a - 1.0], fitted, axis=1, zi=(1.0 - a) * fitted[:, :1])[0][:, -1] for a in alphas],
            axis=1,
        )
        if self.hybrid is not None:
            self.hybrid.fit(fitted)
        m = len(self.member_names)
        self._error = np.zeros((len(_KINDS), len(self.leads), n, m))
        self._scored = np.zeros((len(self.leads), m))  # discounted count of scored minutes per lead and member
        self._pending = [np.zeros((lead, n, m), dtype=np.float32) for lead in self.leads]
        self._origins = 0
        # The cheap members replay every warm-up minute; the models, whose forecast at every replayed
        # minute is what makes a fit slow for many functions, only the last `models_warmup_minutes`:
        # they take the minutes before in one update and are not scored on them.
        start = minutes - warmup
        models_from = max(start, minutes - self.settings.models_warmup_minutes)
        self._remember(self._members_forecast(self.horizon, models=models_from == start))
        for t in range(start, minutes):
            if self.hybrid is not None and t == models_from > start:
                self.hybrid.update(history[:, start:t])
            self._step(history[:, t], models=t >= models_from)

    def _update(self, new_minutes: Counts) -> None:
        for t in range(new_minutes.shape[1]):
            self._step(new_minutes[:, t])

    def _forecast(self, horizon: int) -> Counts:
        median = self.settings.combination is Combination.MEDIAN
        return self._combined(horizon, self.member_weights, median=median)

    def _expected(self, horizon: int) -> Counts:
        # A convex combination of the mean-estimating members by squared error: itself a mean.
        def weights(lead: int) -> npt.NDArray[np.float64]:
            return self._soft_weights(np.where(self._unbiased, self.trailing_error(lead, SelectionError.SQUARED), np.inf))

        return self._combined(horizon, weights)

    def _combined(
        self, horizon: int, weights_at: Callable[[int], npt.NDArray[np.float64]], median: bool = False
    ) -> Counts:
        """Members combined with `weights_at(lead)` over the horizon steps each tracked lead covers."""
        members = self._current if horizon <= self.horizon else self._members_forecast(horizon)
        out = np.empty((members.shape[0], horizon))
        for b, lead in enumerate(self.leads):
            end = self.leads[b + 1] - 1 if b + 1 < len(self.leads) else horizon
            if lead > horizon:
                break
            steps = slice(lead - 1, min(end, horizon))
            weights = weights_at(lead)
            if median:
                out[:, steps] = _weighted_median(members[:, :, steps], weights)
            else:
                out[:, steps] = np.einsum("nm,nmh->nh", weights, members[:, :, steps])
        return out

    @property
    def member_forecasts(self) -> npt.NDArray[np.float64]:
        """Every member's forecast from the latest origin: functions x members x horizon."""
        return self._current

    # --- selection -----------------------------------------------------------------------------

    def trailing_error(self, lead: int = 1, kind: SelectionError | None = None) -> npt.NDArray[np.float64]:
        """Discounted mean error of every member (functions x members) at the longest tracked lead <= `lead`.

        `kind`: absolute or squared error (default: `settings.error`, what `forecast` ranks by).
        """
        b = max(i for i, tracked in enumerate(self.leads) if tracked <= max(lead, 1))
        while b > 0 and self._scored[b].max() == 0:  # not scored yet at this lead: shorter leads are the evidence
            b -= 1
        # Before any minute is scored every member ties (select: the tie goes to the first, the last value);
        # a member not scored yet at this lead (a model after a short warm-up) is not chosen.
        error = self._error[_KINDS.index(kind or self.settings.error), b]
        scored = self._scored[b]
        if scored.max() == 0:
            return error
        return np.where(scored > 0, error / np.maximum(scored, _EPSILON), np.inf)

    def member_weights(self, lead: int = 1) -> npt.NDArray[np.float64]:
        """Each function's weight on every member (functions x members, rows sum to 1) `lead` minutes ahead."""
        error = self.trailing_error(lead)
        n, m = error.shape
        if self.settings.combination is Combination.MEDIAN:
            return self._soft_weights(error)
        if self.settings.combination is Combination.SELECT or self.settings.top_k == 1:
            return _select(error)
        k = min(self.settings.top_k, m)
        best = np.argsort(error, axis=1, kind="stable")[:, :k]
        inverse = 1.0 / (np.take_along_axis(error, best, axis=1) + _EPSILON)
        weights = np.zeros((n, m))
        np.put_along_axis(weights, best, inverse / inverse.sum(axis=1, keepdims=True), axis=1)
        return weights

    # --- internals -----------------------------------------------------------------------------

    def _soft_weights(self, error: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """exp(-(error / best error - 1) / temperature) per member, rows normalised (functions x members)."""
        excess = error / (error.min(axis=1, keepdims=True) + _EPSILON) - 1.0
        weights = np.exp(-excess / self.settings.temperature)
        return weights / weights.sum(axis=1, keepdims=True)

    def _members_forecast(self, horizon: int, models: bool = True) -> npt.NDArray[np.float64]:
        """functions x members x horizon, in `member_names` order (the models' NaN without `models`)."""
        cheap = candidates.forecasts(self._recent, self._ewma, horizon)
        if self.hybrid is None:
            return cheap
        if not models:
            skipped = np.full((cheap.shape[0], 1 + len(self.hybrid.members), horizon), np.nan)
            return np.concatenate([cheap, skipped], axis=1)
        blend, parts = self.hybrid.forecast_members(horizon)
        return np.concatenate([cheap, np.stack([blend, *parts], axis=1)], axis=1)

    def _remember(self, forecast: npt.NDArray[np.float64]) -> None:
        """Keep this origin's forecasts at every tracked lead until their minute arrives."""
        self._current = forecast
        for lead, ring in zip(self.leads, self._pending, strict=True):
            ring[self._origins % lead] = forecast[:, :, lead - 1]
        self._origins += 1

    def _step(self, minute: npt.NDArray[np.float64], models: bool = True) -> None:
        """Score every pending forecast of `minute`, then advance every member (the models with `models`) by it."""
        for b, (lead, ring) in enumerate(zip(self.leads, self._pending, strict=True)):
            if self._origins < lead:
                continue  # no origin lead minutes before this one yet
            diff = (ring[self._origins % lead] - minute[:, None]).astype(np.float64)
            made = ~np.isnan(diff[0]) if diff.shape[0] else np.ones(diff.shape[1], dtype=np.bool_)
            for k, error in enumerate((np.abs(diff), diff**2)):  # in _KINDS order
                self._error[k, b] = self._discount * self._error[k, b] + np.where(made, error, 0.0)
            self._scored[b] = self._discount * self._scored[b] + made
        self._recent = np.concatenate([self._recent[:, 1:], minute[:, None]], axis=1)
        self._ewma = candidates.ewma_step(self._ewma, minute)
        if self.hybrid is not None and models:
            self.hybrid.update(minute[:, None])
        self._remember(self._members_forecast(self.horizon, models=models))
