"""Causal recurrence evidence per app: earlier lags, the most common idle gap, survival, rates.

`signals.py` asks "does the current idle time look like one seen before?". This module adds what a
population model needs to tell a timer from a burst from a one-off, all from minutes already seen:

- lags: for every lag L up to `horizon` minutes, how often the app fired L minutes after one of its
  past invocation minutes (shrunk towards its base rate); the evidence for minute t is the best such
  rate over the app's invocations in the last `horizon` minutes, and their noisy-or;
- the most common completed idle gap: whether the current idle time is it or a multiple of it (a
  timer that skips runs), and how dominant it is;
- how unusual the current idle time is: the share of the app's completed gaps at least this long;
- recent rate: invocation minutes in the last hour and in the last `horizon` minutes;
- regularity: the mean and spread of the app's completed idle gaps on the log scale (a timer's gaps
  barely vary, a bursty app's span decades), the current idle time as a z-score against them, and
  how many consecutive minutes its last burst lasted.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from runtime.warming.hazard import grow_rows

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

RECURRENCE_FEATURE_NAMES: Final = (
    "lag_best_rate",
    "lag_noisy_or",
    "lag_lift",
    "lag_support",
    "mode_echo",
    "mode_multiple",
    "mode_share",
    "survival",
    "log_rate_hour",
    "log_rate_horizon",
    "gap_log_mean",
    "gap_log_std",
    "idle_z",
    "log_burst_run",
)
"""Column order of `RecurrenceEvidence.features`."""

_BASE_PSEUDO_MINUTES: Final = 2.0
"""Each lag's hit rate starts from the app's base rate with this many pseudo-trials."""
_RATE_HOUR: Final = 60
_GAP_PRIOR_LOG: Final = float(np.log(10.0))
"""Before an app has completed idle gaps, its log-gap mean shrinks to 10 minutes' with one pseudo-gap ..."""
_GAP_PRIOR_VARIANCE: Final = 1.0
"""... of variance 1 on the log scale (a factor e either way)."""
_CLIP: Final = 1e-6


def _logit(p: Floats) -> Floats:
    clipped = np.clip(p, _CLIP, 1.0 - _CLIP)
    return np.log(clipped / (1.0 - clipped))


class RecurrenceEvidence:
    """Incrementally maintained recurrence state for `n_apps` apps over lags 1..`horizon`."""

    def __init__(self, n_apps: int, horizon: int):
        if horizon < 1:
            raise ValueError(f"recurrence horizon must be at least 1 minute, got {horizon}")
        self.horizon = horizon
        self.t = 0
        self._ring = np.zeros((n_apps, horizon), dtype=np.bool_)  # minute m sits in slot m % horizon
        self._trials = np.zeros((n_apps, horizon + 1))  # column L: past invocations followed by L minutes
        self._hits = np.zeros((n_apps, horizon + 1))  # ... of which minute +L was invoked too
        self._gaps = np.zeros((n_apps, horizon + 2))  # completed idle gaps by length (last column: longer)
        self._last = np.full(n_apps, -1, dtype=np.int64)
        self._first = np.full(n_apps, -1, dtype=np.int64)
        self._active = np.zeros(n_apps)
        self._lags = np.arange(1, horizon + 1)
        self._log_gaps = np.zeros((n_apps, 3))  # count, sum and sum of squares of log idle gaps (> 1 minute)
        self._run = np.zeros(n_apps)  # consecutive invocation minutes ending at the last one

    def add_apps(self, count: int) -> None:
        """Start tracking `count` more apps, never invoked so far."""
        self._ring = grow_rows(self._ring, count, False)
        self._trials, self._hits = grow_rows(self._trials, count, 0), grow_rows(self._hits, count, 0)
        self._gaps = grow_rows(self._gaps, count, 0)
        self._last, self._first = grow_rows(self._last, count, -1), grow_rows(self._first, count, -1)
        self._active = grow_rows(self._active, count, 0)
        self._log_gaps, self._run = grow_rows(self._log_gaps, count, 0), grow_rows(self._run, count, 0)

    def _past(self, apps: Ints) -> npt.NDArray[np.bool_]:
        """apps x horizon: column L-1 is whether the app fired L minutes before minute t."""
        return self._ring[np.ix_(apps, (self.t - self._lags) % self.horizon)]

    def features(self, apps: Ints, since: Ints, after_silence: bool = False) -> Floats:
        """apps x len(RECURRENCE_FEATURE_NAMES) evidence for an invocation in minute `t` (`since` >= 1);
        `after_silence`: in minute t + 1, had minute t no invocation (`apps` then fired within the horizon before
        t + 1), the state read as it is: `observe` of a silent minute t would change only the lag trials of such
        apps and the ring slot of minute t, both taken into account here."""
        t = self.t + after_silence
        past = self._past(apps)
        before: npt.NDArray[np.bool_] | None = None
        if after_silence:  # minute t was one more trial of every lag to it, and no hit; lag 1 is now minute t
            before, past = past, np.concatenate([np.zeros((apps.size, 1), dtype=np.bool_), past[:, :-1]], axis=1)

        def trials(rows: Ints, lags: Ints) -> Floats:
            counted = self._trials[apps[rows], 1 + lags]
            return counted if before is None else counted + before[rows, lags]

        base = (self._active[apps] + 1.0) / (t - np.maximum(self._first[apps], 0) + 2.0)
        # Each lag's hit rate where the app fired that many minutes before t (elsewhere it does not count):
        # computed only there, as most apps fired in few of the last `horizon` minutes.
        rows, lags = np.nonzero(past)
        rate = (self._hits[apps[rows], 1 + lags] + _BASE_PSEUDO_MINUTES * base[rows]) / (
            trials(rows, lags) + _BASE_PSEUDO_MINUTES
        )
        on, log_miss = np.zeros(past.shape), np.zeros(past.shape)
        on[rows, lags] = rate
        log_miss[rows, lags] = np.log1p(-np.minimum(rate, 1.0 - _CLIP))
        best = on.max(axis=1)
        support = trials(np.arange(apps.size), on.argmax(axis=1))
        noisy_or = -np.expm1(log_miss.sum(axis=1))

        every_gap = self._gaps[apps]
        gaps = every_gap[:, 1 : self.horizon + 1]
        completed = every_gap.sum(axis=1)
        mode = gaps.argmax(axis=1) + 1
        mode_count = gaps.max(axis=1)
        has_mode = mode_count >= 2.0  # a gap seen once is not a habit
        multiple = np.rint(since / mode)
        near = np.abs(since - multiple * mode) <= 1
        mode_echo = has_mode & near & (multiple == 1)
        mode_multiple = has_mode & near & (multiple >= 2)
        share = _logit((mode_count + 0.5) / (completed + 1.0))
        # Completed gaps at least `since` long, over all completed gaps: how unusual this silence is.
        at_least = completed - np.cumsum(every_gap, axis=1)[
            np.arange(apps.size), np.minimum(since, self.horizon + 1) - 1
        ]
        survival = _logit((at_least + 0.5) / (completed + 1.0))
        rate_hour = past[:, :_RATE_HOUR].sum(axis=1)  # fired 1 .. 60 minutes before t
        n_gaps, gap_sum, gap_squares = self._log_gaps[apps].T
        gap_mean = (gap_sum + _GAP_PRIOR_LOG) / (n_gaps + 1.0)
        gap_variance = (gap_squares + _GAP_PRIOR_LOG**2 + _GAP_PRIOR_VARIANCE) / (n_gaps + 1.0) - gap_mean**2
        gap_std = np.sqrt(np.maximum(gap_variance, 1e-3))
        return np.stack(
            [
                _logit(best),
                _logit(noisy_or),
                np.log(np.maximum(best, _CLIP) / base),
                np.log1p(support),
                mode_echo.astype(np.float64),
                mode_multiple.astype(np.float64),
                (mode_echo | mode_multiple) * share,
                survival,
                np.log1p(rate_hour.astype(np.float64)),
                np.log1p(past.sum(axis=1).astype(np.float64)),
                gap_mean,
                gap_std,
                (np.log(since) - gap_mean) / gap_std,
                np.log1p(self._run[apps]),
            ],
            axis=1,
        )

    def observe(self, invoked: npt.NDArray[np.bool_]) -> None:
        """Reveal which apps were invoked in minute `t` and advance to minute t + 1."""
        t = self.t
        recent = np.flatnonzero(self._last >= t - self.horizon)  # only they have a past invocation in range
        if recent.size:
            past = self._past(recent)
            self._trials[recent, 1:] += past
            self._hits[recent, 1:] += past & invoked[recent, None]
        returning = np.flatnonzero(invoked & (self._last >= 0))
        gaps = t - self._last[returning]
        self._gaps[returning, np.minimum(gaps, self.horizon + 1)] += 1.0
        idle, log_gap = returning[gaps > 1], np.log(gaps[gaps > 1].astype(np.float64))
        self._log_gaps[idle] += np.stack([np.ones_like(log_gap), log_gap, log_gap**2], axis=1)
        self._run[invoked] = np.where(self._last[invoked] == t - 1, self._run[invoked] + 1.0, 1.0)
        self._ring[:, t % self.horizon] = invoked
        self._first[invoked & (self._first < 0)] = t
        self._active += invoked
        self._last[invoked] = t
        self.t = t + 1
