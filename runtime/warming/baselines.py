"""Baseline warming policies: fixed keep-alive, the ATC'20 hybrid histogram, and the oracle.

All three are window policies (docs/architecture.md): after an invocation in minute t the policy picks a
pre-warm window `pw` and keep-alive `ka`, and the app is loaded in minutes t+max(pw,1) … t+pw+ka.
The latest invocation's window replaces any earlier one.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from runtime.warming.policy import AppProfile, Counts, Mask, WarmingPolicy

Indices = npt.NDArray[np.int64]
_NEVER = -(10**9)


class WindowPolicy(WarmingPolicy):
    """A policy that only decides (pre-warm, keep-alive) after each invocation minute."""

    def reset(self, profile: AppProfile, future: Counts | None = None) -> None:
        n = profile.n_apps
        self._t = 0
        self._last = np.full(n, _NEVER, dtype=np.int64)
        self._prewarm = np.zeros(n, dtype=np.int64)
        self._keep_alive = np.zeros(n, dtype=np.int64)
        self._start(profile, future)

    def loaded_next(self) -> Mask:
        since = self._t - self._last
        return (since >= np.maximum(self._prewarm, 1)) & (since <= self._prewarm + self._keep_alive)

    def observe(self, counts: Counts) -> None:
        invoked = np.flatnonzero(counts > 0)
        if invoked.size:
            prewarm, keep_alive = self._windows(invoked, self._t)
            self._prewarm[invoked] = prewarm
            self._keep_alive[invoked] = keep_alive
            self._last[invoked] = self._t
        self._t += 1

    def _start(self, profile: AppProfile, future: Counts | None) -> None:
        """Hook for per-replay state."""
        del profile, future

    @abstractmethod
    def _windows(self, apps: Indices, t: int) -> tuple[Indices, Indices]:
        """(pre-warm, keep-alive) in minutes for the apps invoked in minute t."""


class FixedKeepAlive(WindowPolicy):
    """`fixed-N`: keep the app loaded for N minutes after each invocation, never pre-warm."""

    def __init__(self, minutes: int):
        if minutes < 0:
            raise ValueError(f"fixed keep-alive minutes must be >= 0, got {minutes}")
        self.minutes = minutes
        self.name = f"fixed-{minutes}"

    def _windows(self, apps: Indices, t: int) -> tuple[Indices, Indices]:
        return np.zeros(apps.size, dtype=np.int64), np.full(apps.size, self.minutes, dtype=np.int64)


class Oracle(WindowPolicy):
    """Knows the future: loads each app exactly in its invocation minutes after the first (the lower bound)."""

    name = "oracle"
    sees_future = True

    def _start(self, profile: AppProfile, future: Counts | None) -> None:
        if future is None:
            raise ValueError("the oracle must be given the future counts in reset()")
        apps, minutes = future.shape
        # next_invocation[:, t] = the first invocation minute strictly after t (or `minutes`).
        at = np.where(future > 0, np.arange(minutes)[None, :], minutes)
        after = np.minimum.accumulate(at[:, ::-1], axis=1)[:, ::-1]
        self._next = np.concatenate([after[:, 1:], np.full((apps, 1), minutes)], axis=1)
        self._minutes = minutes

    def _windows(self, apps: Indices, t: int) -> tuple[Indices, Indices]:
        following = self._next[apps, t]
        gap = np.where(following < self._minutes, following - t, 0)
        return gap.astype(np.int64), np.zeros(apps.size, dtype=np.int64)


@dataclass(frozen=True)
class HybridHistogramConfig:
    """The ATC'20 hybrid-histogram knobs, defaulting to the paper's values."""

    range_minutes: int = 240
    head_percentile: float = 5.0
    tail_percentile: float = 99.0
    margin: float = 0.10
    cv_threshold: float = 2.0
    out_of_range_fraction: float = 0.5
    forecast_margin: float = 0.15


class HybridHistogram(WindowPolicy):
    """Shahrad et al., "Serverless in the Wild" (ATC'20): a per-app histogram of idle times.

    Idle times (minutes between consecutive invocation minutes) fill 1-minute bins up to the range.
    Pre-warm = head percentile less the margin, keep-alive = tail percentile plus the margin, minus
    pre-warm. A histogram whose bin counts have CV < threshold is not representative: keep alive for
    the whole range instead. When at least half the idle times exceed the range, an ARIMA forecast of
    the next idle time sets the window.
    """

    name = "hybrid-histogram"

    def __init__(self, config: HybridHistogramConfig | None = None):
        self.config = config or HybridHistogramConfig()

    def _start(self, profile: AppProfile, future: Counts | None) -> None:
        del future
        n = profile.n_apps
        self._histogram = np.zeros((n, self.config.range_minutes), dtype=np.int64)
        self._idle_times: list[list[int]] = [[] for _ in range(n)]
        self._out_of_range = np.zeros(n, dtype=np.int64)
        self._seen = np.zeros(n, dtype=np.int64)

    def _windows(self, apps: Indices, t: int) -> tuple[Indices, Indices]:
        cfg = self.config
        prewarm = np.zeros(apps.size, dtype=np.int64)
        keep_alive = np.full(apps.size, cfg.range_minutes, dtype=np.int64)
        before = self._last[apps]
        has_idle = before > _NEVER
        idle = t - before[has_idle]
        rows = apps[has_idle]
        in_range = idle <= cfg.range_minutes
        self._histogram[rows[in_range], idle[in_range] - 1] += 1
        self._out_of_range[rows[~in_range]] += 1
        self._seen[rows] += 1
        for row, gap in zip(rows.tolist(), idle.tolist(), strict=True):
            self._idle_times[row].append(gap)

        seen = self._seen[apps]
        forecast = (seen > 0) & (self._out_of_range[apps] >= cfg.out_of_range_fraction * seen)
        histogram = self._histogram[apps]
        mean = histogram.mean(axis=1)
        cv = np.divide(histogram.std(axis=1), mean, out=np.zeros_like(mean), where=mean > 0)
        representative = ~forecast & (cv >= cfg.cv_threshold)

        if representative.any():
            head, tail = _percentile_bins(histogram[representative], (cfg.head_percentile, cfg.tail_percentile))
            pw = np.floor(head * (1 - cfg.margin)).astype(np.int64)
            prewarm[representative] = pw
            # An idle time in the k-minute bin can end in minute t+k or t+k+1 (invocations fall anywhere
            # in their minute), so the window runs one minute past the tail to cover it.
            keep_alive[representative] = np.ceil(tail * (1 + cfg.margin)).astype(np.int64) + 1 - pw
        for i in np.flatnonzero(forecast):
            predicted = _forecast_idle_time(self._idle_times[int(apps[i])])
            prewarm[i] = int(predicted * (1 - cfg.forecast_margin))
            keep_alive[i] = max(int(np.ceil(predicted * 2 * cfg.forecast_margin)), 1)
        return prewarm, keep_alive


def _percentile_bins(histogram: npt.NDArray[np.int64], percentiles: tuple[float, float]) -> list[npt.NDArray]:
    """For each row of 1-minute bins (bin k = k+1 minutes), the idle time at each percentile."""
    cumulative = np.cumsum(histogram, axis=1)
    total = cumulative[:, -1:]
    return [
        (cumulative < np.ceil(total * p / 100.0)).sum(axis=1).astype(np.float64) + 1.0 for p in percentiles
    ]


def _forecast_idle_time(idle_times: list[int]) -> float:
    """Next idle time from the history: ARIMA once there is enough of it, else the last one."""
    history = np.asarray(idle_times, dtype=np.float64)
    if history.size < 4:
        return float(history[-1])
    import warnings

    from statsmodels.tsa.arima.model import ARIMA  # heavy import, only on this rare path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ARIMA(history, order=(1, 0, 0)).fit()
        predicted = float(fitted.forecast(1)[0])
    return float(np.clip(predicted, 1.0, history.max() * 2))
