"""The in-memory trace every loader produces and the simulator and forecasters consume."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

PERCENTILES = (0, 1, 25, 50, 75, 99, 100)
"""The duration percentiles the Azure 2019 trace publishes per function."""


class Trigger(StrEnum):
    """What invokes a function (the Azure 2019 `Trigger` column)."""

    HTTP = "http"
    TIMER = "timer"
    QUEUE = "queue"
    EVENT = "event"
    STORAGE = "storage"
    ORCHESTRATION = "orchestration"
    OTHERS = "others"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Trace:
    """Per-minute invocation counts of many functions, with their durations and memory.

    Row i of every array describes the same function; `counts` is functions x minutes (int64) and its
    column 0 is minute `first_minute` of the day (1-based, as in the Azure files).
    """

    owners: tuple[str, ...]
    apps: tuple[str, ...]
    functions: tuple[str, ...]
    counts: npt.NDArray[np.int64]
    first_minute: int = 1
    duration_ms: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    duration_percentiles_ms: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros((0, len(PERCENTILES)))
    )
    """functions x len(PERCENTILES): the 0th, 1st, 25th, 50th, 75th, 99th and 100th percentile."""
    memory_mb: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    triggers: tuple[Trigger, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.functions)
        if self.counts.ndim != 2 or self.counts.shape[0] != n:
            raise ValueError(f"counts must be {n} functions x minutes, got shape {self.counts.shape}")
        if self.counts.dtype != np.int64:
            raise ValueError(f"counts must be int64, got {self.counts.dtype}")
        if (self.counts < 0).any():
            raise ValueError("counts must be non-negative")
        for name, size in (("owners", len(self.owners)), ("apps", len(self.apps))):
            if size != n:
                raise ValueError(f"{name} has {size} entries for {n} functions")
        # Defaulted per-function facts become zeros / UNKNOWN so every trace has the same shape.
        if self.duration_ms.shape != (n,):
            if self.duration_ms.size:
                raise ValueError(f"duration_ms must hold {n} entries, got shape {self.duration_ms.shape}")
            object.__setattr__(self, "duration_ms", np.zeros(n))
        if self.duration_percentiles_ms.shape != (n, len(PERCENTILES)):
            if self.duration_percentiles_ms.size:
                raise ValueError(
                    f"duration_percentiles_ms must be {n} x {len(PERCENTILES)}, "
                    f"got shape {self.duration_percentiles_ms.shape}"
                )
            percentiles = np.repeat(self.duration_ms[:, None], len(PERCENTILES), axis=1)
            object.__setattr__(self, "duration_percentiles_ms", percentiles)
        if self.memory_mb.shape != (n,):
            if self.memory_mb.size:
                raise ValueError(f"memory_mb must hold {n} entries, got shape {self.memory_mb.shape}")
            object.__setattr__(self, "memory_mb", np.zeros(n))
        if len(self.triggers) != n:
            if self.triggers:
                raise ValueError(f"triggers has {len(self.triggers)} entries for {n} functions")
            object.__setattr__(self, "triggers", (Trigger.UNKNOWN,) * n)

    @property
    def n_functions(self) -> int:
        return len(self.functions)

    @property
    def n_minutes(self) -> int:
        return int(self.counts.shape[1])

    def window(self, start: int, stop: int) -> Trace:
        """The same functions restricted to columns `start:stop` (0-based, like a slice)."""
        counts = np.ascontiguousarray(self.counts[:, start:stop])
        first = self.first_minute + range(self.n_minutes)[start:stop].start
        return Trace(
            self.owners, self.apps, self.functions, counts, first,
            self.duration_ms, self.duration_percentiles_ms, self.memory_mb, self.triggers,
        )  # fmt: skip

    def by_app(self) -> Trace:
        """One row per application: counts and memory summed, durations invocation-weighted.

        The simulation semantics are per application; in the sampled traces app = function already.
        Memory is summed because the real-500fn-8h files split each app's memory across its functions.
        """
        if len(set(self.apps)) == self.n_functions:
            return self
        codes, uniques = pd.factorize(pd.Series(self.apps), sort=False)
        n_apps = len(uniques)
        counts = np.zeros((n_apps, self.n_minutes), dtype=np.int64)
        np.add.at(counts, codes, self.counts)
        memory = np.bincount(codes, weights=self.memory_mb, minlength=n_apps).astype(np.float64)
        weights = self.counts.sum(axis=1).astype(np.float64) + 1e-12
        total = np.bincount(codes, weights=weights, minlength=n_apps)
        duration = np.bincount(codes, weights=self.duration_ms * weights, minlength=n_apps) / total
        percentiles = np.stack(
            [
                np.bincount(codes, weights=self.duration_percentiles_ms[:, k] * weights, minlength=n_apps) / total
                for k in range(len(PERCENTILES))
            ],
            axis=1,
        )
        first_row = np.unique(codes, return_index=True)[1]
        owners = tuple(self.owners[i] for i in first_row)
        app_ids = tuple(str(a) for a in uniques)
        triggers = tuple(self.triggers[i] for i in first_row)
        return Trace(owners, app_ids, app_ids, counts, self.first_minute, duration, percentiles, memory, triggers)
