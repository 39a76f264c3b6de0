"""Causal evidence, per app and minute, that an invocation is about to arrive.

Each signal is computed from minutes already observed and expressed on the logit scale (or as a
0/1 indicator), so a pooled logistic model can weigh them (`calibration.py`):

- the idle-time hazard at the minutes since the last invocation (`hazard.py`);
- wall-clock phase: how often the app fired at this minute modulo 60, 30, 15, 10 and 5 minutes
  (cron timers fire at fixed minutes of the hour even when their gaps are irregular);
- echoes: the current idle time equals (within a minute) one the app completed before, or exactly
  its last one, or the app fired exactly an hour ago;
- how reliable each echo has been for this app so far (its own hit rate when the echo was on);
- short-term state: minutes since the last invocation, invocations so far, invocation minutes in
  the last 10 minutes, and how much evidence the hazard estimate rests on.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt

from runtime.warming.hazard import IdleTimeHazard, grow_rows

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
_Array = TypeVar("_Array", bound=npt.NDArray[Any])

PHASE_PERIODS: Final = (60, 30, 15, 10, 5)
"""Wall-clock periods (minutes) whose phase is tracked; cron schedules divide the hour."""
_LAG_MINUTES: Final = 60
"""The recurrence lag tested directly (fired exactly this many minutes ago)."""
_BURST_MINUTES: Final = 10
_PHASE_PSEUDO_HITS: Final = 0.05
_ECHO_PSEUDO_HITS: Final = 0.3
_CLIP: Final = 1e-6

FEATURE_NAMES: Final = (
    "hazard",
    *(f"phase_{period}" for period in PHASE_PERIODS),
    "gap_echo",
    "last_gap_echo",
    "hour_lag",
    "gap_echo_reliability",
    "last_gap_echo_reliability",
    "hour_lag_reliability",
    "log_since",
    "log_invocations",
    "log_recent_minutes",
    "log_hazard_evidence",
)
"""Column order of `InvocationSignals.features`; index 0 (the hazard) alone reproduces the hazard policy."""


def _logit(p: Floats) -> Floats:
    clipped = np.clip(p, _CLIP, 1.0 - _CLIP)
    return np.log(clipped / (1.0 - clipped))


class InvocationSignals:
    """Incrementally maintained signals for `n_apps` apps; `observe` each minute, then ask `features`."""

    def __init__(self, n_apps: int, horizon: int, prior_strength: float):
        self.horizon = horizon
        self.hazard = IdleTimeHazard(n_apps, horizon, prior_strength)
        self.t = 0
        self.last = np.full(n_apps, -1, dtype=np.int64)
        self._first = np.full(n_apps, -1, dtype=np.int64)
        self._invocations = np.zeros(n_apps)
        self._phase_hits = {period: np.zeros((n_apps, period)) for period in PHASE_PERIODS}
        # Column g: the app completed an idle time of g minutes (g > horizon shares the last column).
        self._gap_seen = np.zeros((n_apps, horizon + 3), dtype=np.bool_)
        self._last_gap = np.zeros(n_apps, dtype=np.int64)
        self._recent = np.zeros((n_apps, _LAG_MINUTES), dtype=np.bool_)  # ring buffer by t % 60
        self._echo_on = np.zeros((n_apps, 3))
        self._echo_hits = np.zeros((n_apps, 3))

    def add_apps(self, count: int) -> None:
        """Start tracking `count` more apps, as if they had been tracked all along and never invoked."""

        def grow(array: _Array, fill: float) -> _Array:
            return grow_rows(array, count, fill)

        self.hazard.add_apps(count)
        self.last, self._first = grow(self.last, -1), grow(self._first, -1)
        self._invocations, self._last_gap = grow(self._invocations, 0), grow(self._last_gap, 0)
        self._phase_hits = {period: grow(hits, 0) for period, hits in self._phase_hits.items()}
        self._gap_seen, self._recent = grow(self._gap_seen, False), grow(self._recent, False)
        self._echo_on, self._echo_hits = grow(self._echo_on, 0), grow(self._echo_hits, 0)

    @property
    def invocations(self) -> Floats:
        """Invocations observed so far, per app."""
        return self._invocations

    def candidates(self, after_silence: bool = False) -> tuple[Ints, Ints]:
        """Apps seen before and within the horizon of their last invocation, and minutes since it; `after_silence`:
        at minute t + 1, had minute t no invocation."""
        apps = np.flatnonzero(self.last >= 0)
        since = self.t + after_silence - self.last[apps]
        keep = since <= self.horizon
        return apps[keep], since[keep]

    def _echoes(self, t: int, apps: Ints, since: Ints) -> Bools:
        column = np.minimum(since, self.horizon + 1)
        gap_echo = (
            self._gap_seen[apps, column] | self._gap_seen[apps, column - 1] | self._gap_seen[apps, column + 1]
        )
        last_gap_echo = since == self._last_gap[apps]
        hour_lag = self._recent[apps, t % _LAG_MINUTES]  # slot t % 60 last held minute t - 60
        return np.stack([gap_echo, last_gap_echo, hour_lag], axis=1)

    def hazard_probability(self, apps: Ints, since: Ints, after_silence: bool = False) -> Floats:
        """The idle-time hazard of `apps`, `since` minutes idle; `after_silence` as in `features`."""
        if not after_silence:
            return self.hazard.probability(apps, since)
        seen = np.flatnonzero(self.last >= 0)  # the silent minute t is booked for every app seen so far
        return self.hazard.probability(apps, since, self.hazard.at_risk_after_silence(seen, self.t - self.last[seen]))

    def features(self, apps: Ints, since: Ints, after_silence: bool = False) -> Floats:
        """apps x len(FEATURE_NAMES) evidence for an invocation in the coming minute (minute `t`); `after_silence`:
        in minute t + 1, had minute t no invocation (`apps`, `since` from `candidates(after_silence=True)`), the
        state read as it is: `observe` of a silent minute t would change only the pooled hazard prior, the echoes'
        counts of the apps within the horizon and the ring slot of minute t, all taken into account here."""
        t = self.t + after_silence
        echo_on = self._echo_on[apps]
        if after_silence:  # minute t (now t - 1) counted the echoes that were on in it, none of them hit
            echo_on = echo_on + self._echoes(t - 1, apps, since - 1)
        columns: list[Floats] = [_logit(self.hazard_probability(apps, since, after_silence))]
        for period, hits in self._phase_hits.items():
            cycles = np.ceil((t - self._first[apps]) / period) + 1.0
            columns.append(_logit((hits[apps, t % period] + _PHASE_PSEUDO_HITS) / cycles))
        echoes = self._echoes(t, apps, since)
        reliability = _logit((self._echo_hits[apps] + _ECHO_PSEUDO_HITS) / (echo_on + 1.0))
        columns += [echoes[:, k].astype(np.float64) for k in range(3)]
        columns += [echoes[:, k] * reliability[:, k] for k in range(3)]
        columns += [
            np.log1p(since.astype(np.float64)),
            np.log1p(self._invocations[apps]),
            np.log1p(self._recent_minutes(t, apps, after_silence)),
            np.log1p(self.hazard.at_risk(apps, since)),
        ]
        return np.stack(columns, axis=1)

    def _recent_minutes(self, t: int, apps: Ints, after_silence: bool) -> Floats:
        """Invocation minutes among the last few before minute `t` (ring slots of minutes not yet seen are empty,
        as is that of minute t - 1 after silence)."""
        slots = np.arange(t - _BURST_MINUTES, t - after_silence) % _LAG_MINUTES
        return self._recent[np.ix_(apps, slots)].sum(axis=1).astype(np.float64)

    def observe(self, counts: npt.NDArray[np.int64]) -> None:
        """Reveal minute `t`'s counts (one per app) and advance to minute t + 1."""
        t = self.t
        invoked = counts > 0
        apps, since = self.candidates()
        echoes = self._echoes(t, apps, since)
        self._echo_on[apps] += echoes
        self._echo_hits[apps] += echoes * invoked[apps, None]

        seen = np.flatnonzero(self.last >= 0)
        if seen.size:
            self.hazard.record(seen, t - self.last[seen], invoked[seen])
        self._first[invoked & (self._first < 0)] = t
        for period, hits in self._phase_hits.items():
            hits[invoked, t % period] += 1.0
        returning = np.flatnonzero(invoked & (self.last >= 0))
        gaps = t - self.last[returning]
        self._gap_seen[returning, np.minimum(gaps, self.horizon + 2)] = True
        self._last_gap[returning] = gaps
        self._recent[:, t % _LAG_MINUTES] = invoked
        self._invocations += counts
        self.last[invoked] = t
        self.t = t + 1
