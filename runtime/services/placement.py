"""`isf serve placement`: every optimization_interval, solve tier placement and move functions on Knative.

Inputs are live: tier capacities from the nodes' allocatable resources (`tier=<tier>` labels), each
function's demand from its Knative Service's requests times its current warm pool (at least one
instance), its request rate from its latest forecast. Users are one region whose latency to each
tier is `placement.tier_latency_ms`. Moves patch the Service template's nodeSelector/tolerations;
the optimizer already keeps them within `max_migrations_per_interval`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from kubernetes import client
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from runtime.actuation.patches import KnativeActuator, PlacementTarget
from runtime.api.loop import Clock, utc_now
from runtime.contract import Tier, metrics
from runtime.placement import FunctionDemand, PlacementProblem, PlacementResult, Resources, TierSpec, place
from runtime.placement.capacity import tier_capacities
from runtime.services.audit import AuditTrail
from runtime.services.kube import (
    FUNCTION_LABEL,
    FunctionService,
    function_services,
    list_nodes,
    tier_scheduling,
)
from runtime.settings import RuntimeSettings
from runtime.store.decisions import TierPlacement, current_pools, record_placements
from runtime.store.forecasts import latest_forecasts
from runtime.store.functions import FunctionInfo, function_tiers, upsert_functions
from runtime.store.schema import AuditOutcome

log = logging.getLogger(__name__)

ACTOR = "placement"
USERS_REGION = "users"


def placement_problem(
    services: Mapping[str, FunctionService],
    capacity: Mapping[Tier, Resources],
    pools: Mapping[str, int],
    request_rate: Mapping[str, float],
    settings: RuntimeSettings,
) -> PlacementProblem:
    """The optimizer's input for the functions running in the cluster and the tiers that have nodes."""
    latency = settings.placement.tier_latency_ms
    missing = sorted(tier.value for tier in capacity if tier not in latency)
    if missing:
        raise ValueError(f"placement.tier_latency_ms has no entry for tier(s) {missing}, which have nodes")
    tiers = [
        TierSpec.priced(tier, capacity[tier], {USERS_REGION: latency[tier]}, settings.cost)
        for tier in Tier
        if tier in capacity
    ]
    functions = []
    for function_id, service in sorted(services.items()):
        instances = max(pools.get(function_id, 0), 1)
        instance = service.instance
        functions.append(
            FunctionDemand(
                name=function_id,
                demand=Resources(
                    cpu=instance.cpu * instances, memory_gib=instance.memory_gib * instances, gpu=instance.gpu * instances
                ),
                request_rate=request_rate.get(function_id, 0.0),
                user_regions={USERS_REGION: 1.0},
                current_tier=service.tier,
            )
        )
    return PlacementProblem(functions=functions, tiers=tiers)


@dataclass(frozen=True, slots=True)
class PlacementPassResult:
    """What one pass did (result is None when there was nothing to place)."""

    result: PlacementResult | None
    moved: int
    failed: int


class PlacementController:
    """One placement pass at a time: read the cluster, solve, patch the Services that move, record."""

    def __init__(
        self,
        engine: Engine,
        kube: client.ApiClient,
        settings: RuntimeSettings,
        registry: CollectorRegistry,
        *,
        clock: Clock = utc_now,
        function_label: str = FUNCTION_LABEL,
        dry_run: bool = False,
    ) -> None:
        self._engine, self._kube, self._settings = engine, kube, settings
        self._clock, self._label = clock, function_label
        self._actuator = KnativeActuator(client.CustomObjectsApi(kube), dry_run=dry_run)
        self._migrations = metrics.PLACEMENT_MIGRATIONS.counter(registry)
        self._placed = metrics.PLACED_FUNCTIONS.gauge(registry)
        self._objective = metrics.PLACEMENT_OBJECTIVE.gauge(registry)
        self._solve = metrics.PLACEMENT_SOLVE.histogram(registry)

    def _record_tiers(self, services: dict[str, FunctionService]) -> None:
        """The catalogue's tier of every deployed function as its Service schedules it now, moved or not (the api
        labels its counters with it, runtime/ingest/counters.py; a function never moved was `unknown` there)."""
        known = function_tiers(self._engine)
        stale = [FunctionInfo(function_id, tier=service.tier) for function_id, service in sorted(services.items())
                 if service.tier is not None and known.get(function_id) is not service.tier]
        if stale:
            upsert_functions(self._engine, stale)

    def run_pass(self) -> PlacementPassResult:
        now = self._clock()
        services = function_services(self._kube, self._label)
        capacity = tier_capacities(list_nodes(self._kube))
        if not services or not capacity:
            log.info("placement pass: nothing to place", extra={"functions": len(services), "tiers": len(capacity)})
            return PlacementPassResult(None, 0, 0)
        self._record_tiers(services)
        pools = {f: d.pool_size for f, d in current_pools(self._engine).items()}
        rates = {f.function_id: float(np.mean(f.means)) / 60.0 for f in latest_forecasts(self._engine) if f.means}
        result = place(placement_problem(services, capacity, pools, rates, self._settings), self._settings.placement)
        self._solve.labels(result.solver.value).observe(result.solve_seconds)
        self._objective.set(result.objective)
        for tier in Tier:
            self._placed.labels(tier.value).set(sum(1 for t in result.assignment.values() if t is tier))

        trail = AuditTrail(ACTOR)
        placements: list[TierPlacement] = []
        failed = 0
        for function_id, tier in sorted(result.assignment.items()):
            service = services[function_id]
            if service.tier is tier:
                continue
            selector, tolerations = tier_scheduling(tier, gpu=service.instance.gpu > 0)
            target = PlacementTarget(service.namespace, service.name, selector, tolerations)
            detail = f"{service.tier.value if service.tier else 'unplaced'} -> {tier.value} ({result.solver.value})"
            with trail.attempt("move-tier", f"Service {service.target}", now) as attempt:
                attempt.record(self._actuator.apply_placement(target), detail=detail)
            if attempt.outcome is AuditOutcome.FAILED:
                failed += 1
                continue
            placements.append(TierPlacement(function_id, now, tier, service.tier, result.objective))
            if service.tier is not None and attempt.outcome is AuditOutcome.APPLIED:
                self._migrations.labels(service.tier.value, tier.value).inc()
        trail.flush(self._engine)
        record_placements(self._engine, placements)
        upsert_functions(self._engine, [FunctionInfo(p.function_id, tier=p.tier) for p in placements])
        for unplaced in result.infeasible:
            log.warning("function not placed", extra={"function": unplaced.function, "reason": unplaced.reason})
        log.info("placement pass", extra={"functions": len(services), "moved": len(placements), "failed": failed,
                                          "status": result.status.value, "objective": result.objective})
        return PlacementPassResult(result, len(placements), failed)
