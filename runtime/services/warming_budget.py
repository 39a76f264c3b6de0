"""Prometheus view of the warming budget: what the predictive policy may spend, has spent, and its price.

The live policy books every minute it learns (`runtime.warming.budget.BudgetController`); after a
restart it replays stored minutes and books them again, so the counters only add what a controller
booked since the previous pass (a new controller starts from what it has booked at its first pass).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from runtime.warming.budget import BudgetController


class BudgetMetrics:
    """`isf_warming_budget_mb_minutes_total`, `isf_warming_spend_mb_minutes_total`, `isf_warming_cold_start_price`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._budget = Counter(
            "isf_warming_budget_mb_minutes", "Wasted-memory budget accrued (MB-minutes)", registry=registry
        )
        self._spend = Counter(
            "isf_warming_spend_mb_minutes", "Wasted memory spent by warm idle functions (MB-minutes)", registry=registry
        )
        self._price = Gauge(
            "isf_warming_cold_start_price", "Cold-start price (USD) the budget controller decides with", registry=registry
        )
        self._budget_per_day = Gauge(
            "isf_warming_budget_mb_minutes_per_day",
            "The budget's pace over the last booked minutes, per day (MB-minutes)",
            registry=registry,
        )
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
