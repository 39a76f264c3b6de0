"""Prometheus view of the warming budget: what the predictive policy may spend, has spent, and its price.

The live policy books every minute it learns (`runtime.warming.budget.BudgetController`); after a
restart it replays stored minutes and books them again, so the counters only add what a controller
booked since the previous pass (a new controller starts from what it has booked at its first pass).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from runtime.contract import metrics
from runtime.warming.budget import BudgetController


class BudgetMetrics:
    """`isf_warming_budget_mb_minutes_total`, `isf_warming_spend_mb_minutes_total`, `isf_warming_cold_start_price`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._budget = metrics.WARMING_BUDGET.counter(registry)
        self._spend = metrics.WARMING_SPEND.counter(registry)
        self._price = metrics.WARMING_COLD_START_PRICE.gauge(registry)
        self._budget_per_day = metrics.WARMING_BUDGET_PER_DAY.gauge(registry)
        self._seen: tuple[int, float, float] | None = None  # (controller id, booked budget, booked spend)

    def update(self, controller: BudgetController | None) -> None:
        """Export what `controller` booked since the last call."""
        if controller is None:
            return
        booked = (id(controller), controller.budget_mb_minutes, controller.spend_mb_minutes)
        if self._seen is not None and self._seen[0] == booked[0]:
            self._budget.inc(max(0.0, booked[1] - self._seen[1]))
            self._spend.inc(max(0.0, booked[2] - self._seen[2]))
        self._seen = booked
        self._price.set(controller.cold_start_usd)
        if controller.t:
            self._budget_per_day.set(1440.0 * controller.budget_mb_minutes / controller.t)
