"""What the api exports for the records it ingests: invocations, cold starts and idle warm memory, with their cost.

- `isf_invocations_total{function, tier}`: requests;
- `isf_cold_starts_total{function, tier}`: measured cold starts (records that carry them);
- `isf_wasted_memory_mb_seconds_total{function, tier}`: memory held by idle warm pods, measured: a record of a
  minute with no request and `ready_pods` (the minute's average ready pods, runtime/ingest/prometheus_collector.py)
  adds ready pods x the function's memory x 60 s. Pods of an invoked minute are not counted as idle: how many of
  them the requests needed depends on the per-pod concurrency, which the minute's counts do not show, so this is
  a lower bound of idle memory, and for functions of one warm pod it is exactly the simulator's app-level
  wasted memory (a warm minute without a request costs the function's memory once, docs/architecture.md);
- `isf_cost_usd_total{kind, tier}`: `cold_start` = `cost.cold_start_usd` x measured cold starts, `warm_memory` =
  `cost.memory_gb_second_usd` x idle GB-seconds (the prices `isf loop` and `isf simulate` charge).

One exporter: the api counts every record it stores, from the Knative collector (which measures cold starts and
ready pods) and from `POST /v1/invocations` (whose clients may send measured values; `isf loop` sends the
collector's). The tier label is the function's current placement as the placement service records it
(`functions.tier`, runtime/services/placement.py -> `upsert_functions`) and the memory the catalogue's
(`functions.memory_mb`: an imported trace's, or the Service's memory request as the warming service records it,
runtime/services/warming.py `with_service_memory`; else `UNKNOWN_MEMORY_MB`), both read at most every
`CATALOGUE_REFRESH_S`; a function no placement pass has seen yet is `unknown` (each pass records every
Service's tier, moved or not). A minute re-sent is stored once but counted again
(the counters count ingested records).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter
from sqlalchemy import Engine

from runtime.contract import metrics
from runtime.settings import CostSettings
from runtime.store.functions import UNKNOWN_MEMORY_MB, function_memory, function_tiers
from runtime.store.invocations import InvocationRecord

CATALOGUE_REFRESH_S = 60.0
UNKNOWN_TIER = "unknown"

_Key = tuple[str, str]
"""(function, tier)."""


def idle_mb_seconds(record: InvocationRecord, memory_mb: float) -> float:
    """The idle warm memory a record measures (MB x s): all its ready pods when the minute had no request."""
    if record.count > 0 or not record.ready_pods:
        return 0.0
    return record.ready_pods * memory_mb * 60.0


class MeasuredCounters:
    """The counters in `registry`, labelled with each function's tier from `engine`'s catalogue; priced with
    `cost` when given."""

    def __init__(
        self, registry: CollectorRegistry, engine: Engine, *, cost: CostSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._invocations = metrics.INVOCATIONS.counter(registry)
        self._cold_starts = metrics.COLD_STARTS.counter(registry)
        self._wasted = metrics.WASTED_MEMORY.counter(registry)
        self._cost = metrics.COST.counter(registry) if cost is not None else None
        self._prices = cost or CostSettings()
        self._engine, self._clock = engine, clock
        self._tiers: dict[str, str] = {}
        self._memory: dict[str, float] = {}
        self._read_at: float | None = None
        self._lock = threading.Lock()
        self._children: dict[tuple[int, _Key], PromCounter] = {}

    def _read_catalogue(self) -> None:
        now = self._clock()
        if self._read_at is None or now - self._read_at >= CATALOGUE_REFRESH_S:
            self._tiers = {function_id: tier.value for function_id, tier in function_tiers(self._engine).items()}
            self._memory = function_memory(self._engine)
            self._read_at = now

    def observe(self, records: Sequence[InvocationRecord]) -> None:
        """Count `records` (stored already): invocations, cold starts where measured, idle warm memory."""
        invocations: Counter[_Key] = Counter()
        cold: Counter[_Key] = Counter()
        idle: dict[_Key, float] = {}
        with self._lock:
            if records:
                self._read_catalogue()
            for record in records:
                key = (record.function_id, self._tiers.get(record.function_id, UNKNOWN_TIER))
                invocations[key] += record.count
                if record.cold_starts is not None:
                    cold[key] += record.cold_starts
                if wasted := idle_mb_seconds(record, self._memory.get(record.function_id, UNKNOWN_MEMORY_MB)):
                    idle[key] = idle.get(key, 0.0) + wasted
            for counter, counts in ((self._invocations, invocations), (self._cold_starts, cold),
                                    (self._wasted, idle)):
                for key, count in counts.items():  # 0 too: the series exists for ratios
                    self._child(counter, key).inc(count)
            if self._cost is not None:
                self._price("cold_start", cold, self._prices.cold_start_usd)
                self._price("warm_memory", idle, self._prices.memory_gb_second_usd / 1024.0)  # per MB-second

    def _price(self, kind: str, amounts: Mapping[_Key, float], usd_each: float) -> None:
        assert self._cost is not None
        by_tier: dict[str, float] = {}
        for (_, tier), amount in amounts.items():
            by_tier[tier] = by_tier.get(tier, 0.0) + amount
        for tier, amount in by_tier.items():
            self._cost.labels(kind, tier).inc(amount * usd_each)

    def _child(self, counter: PromCounter, key: _Key) -> PromCounter:
        child = self._children.get((id(counter), key))
        if child is None:  # `labels()` takes the metric's lock and builds the key each call: once per series
            child = self._children[(id(counter), key)] = counter.labels(*key)
        return child
