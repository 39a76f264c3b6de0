"""`isf_invocations_total` and `isf_cold_starts_total{function, tier}`, exported by the api for what it ingests.

With a cold-start price, also the cold starts' share of `isf_cost_usd_total{kind="cold_start", tier}`
(`cost.cold_start_usd` x measured cold starts: the same price `isf loop` and `isf simulate` charge).

One exporter: the api counts every record it stores, from the Knative collector (which measures cold
starts, runtime/ingest/prometheus_collector.py) and from `POST /v1/invocations` (whose clients may send
measured cold starts; `isf loop` sends the collector's). The tier label is the function's current
placement as the placement service records it (`functions.tier`, runtime/services/placement.py ->
`upsert_functions`), read at most every `TIER_REFRESH_S`; a function never placed is `unknown`.
A minute re-sent is stored once but counted again (the counters count ingested records).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter
from sqlalchemy import Engine

from runtime.contract import metrics
from runtime.store.functions import function_tiers
from runtime.store.invocations import InvocationRecord

TIER_REFRESH_S = 60.0
UNKNOWN_TIER = "unknown"


class MeasuredCounters:
    """The two counters in `registry`, labelled with each function's tier from `engine`'s catalogue."""

    def __init__(
        self, registry: CollectorRegistry, engine: Engine, *, cold_start_usd: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._invocations = metrics.INVOCATIONS.counter(registry)
        self._cold_starts = metrics.COLD_STARTS.counter(registry)
        self._cost = metrics.COST.counter(registry) if cold_start_usd is not None else None
        self._cold_start_usd = cold_start_usd or 0.0
        self._engine, self._clock = engine, clock
        self._tiers: dict[str, str] = {}
        self._read_at: float | None = None
        self._lock = threading.Lock()
        self._invocation_children: dict[tuple[str, str], PromCounter] = {}
        self._cold_children: dict[tuple[str, str], PromCounter] = {}

    def _tier_of(self) -> dict[str, str]:
        now = self._clock()
        if self._read_at is None or now - self._read_at >= TIER_REFRESH_S:
            self._tiers = {function_id: tier.value for function_id, tier in function_tiers(self._engine).items()}
            self._read_at = now
        return self._tiers

    def observe(self, records: Sequence[InvocationRecord]) -> None:
        """Count `records` (stored already): invocations, and cold starts where they were measured."""
        invocations: Counter[tuple[str, str]] = Counter()
        cold: Counter[tuple[str, str]] = Counter()
        with self._lock:
            tiers = self._tier_of() if records else {}
            for record in records:
                key = (record.function_id, tiers.get(record.function_id, UNKNOWN_TIER))
                invocations[key] += record.count
                if record.cold_starts is not None:
                    cold[key] += record.cold_starts
            for key, count in invocations.items():
                self._child(self._invocation_children, self._invocations, key).inc(count)
            for key, count in cold.items():  # 0 too: the series exists for cold-start ratios
                self._child(self._cold_children, self._cold_starts, key).inc(count)
            if self._cost is not None:
                by_tier: Counter[str] = Counter()
                for (_, tier), count in cold.items():
                    by_tier[tier] += count
                for tier, count in by_tier.items():
                    self._cost.labels("cold_start", tier).inc(count * self._cold_start_usd)

    @staticmethod
    def _child(
        children: dict[tuple[str, str], PromCounter], counter: PromCounter, key: tuple[str, str]
    ) -> PromCounter:
        child = children.get(key)
        if child is None:  # `labels()` takes the metric's lock and builds the key each call: once per series
            child = children[key] = counter.labels(*key)
        return child
