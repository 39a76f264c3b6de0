"""The interfaces warming policies implement, vectorised across applications: app-level (`WarmingPolicy`,
which apps are loaded) and instance-level (`PoolPolicy`, how many instances of each are warm).

The simulator (and the warming service) drive a policy minute by minute: before minute `t` it asks
`loaded_next()` (which apps are loaded in `t`), then reveals minute `t`'s counts with `observe()`.
A causal policy therefore cannot read the future by construction; only a policy with
`sees_future = True` (the oracle) is handed the whole trace up front through `reset`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Counts = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class AppProfile:
    """Static facts about the applications being warmed (one entry per app)."""

    memory_mb: npt.NDArray[np.float64]
    duration_ms: npt.NDArray[np.float64]

    @property
    def n_apps(self) -> int:
        return int(self.memory_mb.shape[0])


class WarmingPolicy(ABC):
    """Decides, before each minute, which applications are loaded in it."""

    name: str
    sees_future: bool = False

    @abstractmethod
    def reset(self, profile: AppProfile, future: Counts | None = None) -> None:
        """Start a new replay; `future` (apps x minutes) is given only when `sees_future`."""

    @abstractmethod
    def loaded_next(self) -> Mask:
        """Which apps are loaded in the coming minute, using only what `observe` has shown."""

    @abstractmethod
    def observe(self, counts: Counts) -> None:
        """Reveal the invocation counts (one per app) of the minute that just ended."""


class PoolPolicy(ABC):
    """Decides, before each minute, how many instances of each application are warm in it."""

    name: str
    sees_future: bool = False

    @abstractmethod
    def reset(self, profile: AppProfile, future: Counts | None = None) -> None:
        """Start a new replay; `future` (apps x minutes) is given only when `sees_future`."""

    @abstractmethod
    def warm_next(self) -> Counts:
        """Warm instances per app (int64 >= 0) for the coming minute, from what `observe` showed."""

    @abstractmethod
    def observe(self, counts: Counts) -> None:
        """Reveal the invocation counts (one per app) of the minute that just ended."""

    def add_apps(self, duration_ms: npt.NDArray[np.float64]) -> None:
        """Start deciding for more apps (one per entry, never invoked so far): what a live service needs."""
        raise NotImplementedError(f"{self.name} cannot add apps mid-replay")

    def set_durations(self, duration_ms: npt.NDArray[np.float64]) -> None:
        """Each app's average duration (ms), as it is learnt: it turns counts into needed instances."""
        raise NotImplementedError(f"{self.name} keeps the durations it was reset with")


def needed_instances(counts: npt.NDArray[np.int64], duration_ms: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Instances each minute needs: ceil(count x duration / 60 s), at least one when invoked."""
    busy = np.ceil(counts * (duration_ms[:, None] / 60_000.0)).astype(np.int64)
    return np.where(counts > 0, np.maximum(busy, 1), 0)
