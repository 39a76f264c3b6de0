"""`isf serve warming`: every interval, decide which functions are warm, size their pools, patch Knative.

Whether a function is warm is the predictive policy's decision for the current minute and the next
(`runtime.warming.predictive`, kept live from the stored invocation minutes by `warming_policy`),
the same policy `isf simulate` measures: P(invocation) x cold-start price - (1 - P) x idle memory
price > the keep-alive threshold, with P from its calibrated signals. Where the policy cannot
decide (`warming.predictive_gate` off, ingest stale, or a function with no stored minute yet) the
forecast does, read as a Poisson mean:
P = 1 - exp(-λ) for each forecast minute, warm when the rule holds within the next interval, with a
keep-alive (scale-down-delay) through the last forecast minute where it holds. A function the
policy warms gets the instances its trailing-cost pool sizes (`runtime.warming.instance_pool`, the
code `isf simulate` scores as `predictive-pool`); one the forecast warms gets ceil(peak forecast
concurrency x prewarm_buffer) (`runtime.warming.pool`); either way in [min_warm_pool, max_warm_pool],
scaled down to fit its tier's allocatable resources.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from kubernetes import client
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from runtime.actuation.patches import (
    MAX_SCALE_DOWN_DELAY_S,
    KnativeActuator,
    ServingRevisions,
    WarmTarget,
    warm_patch,
)
from runtime.api.loop import Clock, utc_now
from runtime.contract import Tier, metrics
from runtime.placement.capacity import tier_capacities
from runtime.placement.problem import Resources
from runtime.services.audit import AuditTrail
from runtime.services.kube import (
    FUNCTION_LABEL,
    FunctionService,
    function_namespaces,
    function_services,
    list_nodes,
)
from runtime.services.warming_budget import BudgetMetrics
from runtime.services.warming_policy import UNKNOWN_DURATION_MS, GateDecision, LivePredictiveGate
from runtime.settings import RuntimeSettings
from runtime.store.decisions import PoolDecision, current_pools, record_decisions
from runtime.store.forecasts import Forecast, latest_forecasts
from runtime.store.functions import (
    UNKNOWN_MEMORY_MB,
    FunctionInfo,
    average_durations,
    function_memory,
    upsert_functions,
)
from runtime.store.schema import AuditOutcome
from runtime.warming.pool import clamp_pool

log = logging.getLogger(__name__)

ACTOR = "warming"


@dataclass(frozen=True, slots=True)
class WarmingInputs:
    """What one pass reads: every function's latest forecast, durations and memory sizes."""

    forecasts: Sequence[Forecast]
    duration_ms: Mapping[str, float]
    memory_mb: Mapping[str, float]


def read_inputs(engine: Engine) -> WarmingInputs:
    """Latest forecasts, average durations and memory sizes from the store."""
    return WarmingInputs(latest_forecasts(engine), average_durations(engine), function_memory(engine))


def with_service_memory(engine: Engine, inputs: WarmingInputs, services: Mapping[str, FunctionService]) -> WarmingInputs:
    """`inputs` with the memory request of each deployed function the catalogue has no size for, recorded in the
    catalogue too (so the api prices its idle pods, runtime/ingest/counters.py). A size the catalogue has (an
    imported trace's, or an earlier pass's) stands: it is what `isf simulate` replays."""
    unsized = {function_id: service.instance.memory_gib * 1024.0 for function_id, service in services.items()
               if service.instance.memory_gib > 0 and function_id not in inputs.memory_mb}
    if not unsized:
        return inputs
    upsert_functions(engine, [FunctionInfo(function_id, memory_mb=mb) for function_id, mb in sorted(unsized.items())])
    return replace(inputs, memory_mb={**inputs.memory_mb, **unsized})


def _ahead(forecasts: Sequence[Forecast], now: datetime) -> tuple[np.ndarray, np.ndarray]:
    """Expected counts (`Forecast.means`) from the current minute on (functions x longest horizon, 0-padded)
    and which are stale."""
    lengths = np.array([len(f.means) for f in forecasts], dtype=np.int64)
    width = int(lengths.max(initial=1))
    counts = np.zeros((len(forecasts), width))
    for row, forecast in enumerate(forecasts):
        counts[row, : len(forecast.means)] = forecast.means
    elapsed = np.array([(now - f.window_start).total_seconds() // 60 for f in forecasts], dtype=np.int64)
    elapsed = np.maximum(elapsed, 0)
    columns = elapsed[:, None] + np.arange(width)[None, :]
    valid = columns < lengths[:, None]
    rows = np.arange(len(forecasts))[:, None]
    ahead = np.where(valid, counts[rows, np.minimum(columns, width - 1)], 0.0)
    return ahead, elapsed >= lengths


def decide_pools(
    inputs: WarmingInputs,
    settings: RuntimeSettings,
    now: datetime,
    gate: Mapping[str, GateDecision] | None = None,
) -> list[PoolDecision]:
    """One decision per function with a forecast or a `gate` decision, vectorised across functions.

    Where the predictive policy decided (`gate`), it alone says whether the function is warm: loaded in
    this minute or the next one it decides (it is asked again every pass, at most a minute apart, so no keep-alive is
    set); elsewhere the forecast does. The policy's trailing-cost pool sizes what it warms, the forecast
    the rest.
    """
    forecasts = list(inputs.forecasts)
    gate = gate or {}
    forecast_ids = [f.function_id for f in forecasts]
    ids = forecast_ids + sorted(set(gate) - set(forecast_ids))
    if not ids:
        return []
    warming, cost = settings.warming, settings.cost
    ahead, stale = _ahead(forecasts, now)
    unforecast = len(ids) - len(forecasts)
    ahead = np.vstack([ahead, np.zeros((unforecast, ahead.shape[1]))])
    stale = np.concatenate([stale, np.ones(unforecast, dtype=np.bool_)])
    duration = np.array([inputs.duration_ms.get(i, UNKNOWN_DURATION_MS) for i in ids])
    memory = np.array([inputs.memory_mb.get(i, UNKNOWN_MEMORY_MB) for i in ids])

    lookahead = min(max(1, math.ceil(warming.interval / 60)), ahead.shape[1])
    concurrency = (ahead[:, :lookahead] * duration[:, None] / 60_000.0).max(axis=1)
    p_invoked = 1.0 - np.exp(-ahead)
    idle_usd = memory * cost.memory_gb_second_usd * 60.0 / 1024.0
    worth = p_invoked * cost.cold_start_usd - (1.0 - p_invoked) * idle_usd[:, None] > (
        warming.keep_alive.cost_threshold / 60.0
    )
    gated = np.array([i in gate for i in ids], dtype=np.bool_)
    loaded = np.array([i in gate and gate[i].loaded for i in ids], dtype=np.bool_)
    warm = np.where(gated, loaded, worth[:, :lookahead].any(axis=1) & ~stale)
    last_worth = np.where(worth.any(axis=1), worth.shape[1] - np.argmax(worth[:, ::-1], axis=1), 0)
    keep_alive_min = np.where(stale | gated, 0, np.minimum(last_worth, warming.keep_alive.max_minutes))
    # Where the policy decided, its trailing-cost pool sizes (what `isf simulate` scores as predictive-pool).
    trailing = np.array([gate[i].pool if i in gate else 0 for i in ids], dtype=np.int64)
    sized = np.where(gated, trailing, np.ceil(concurrency * warming.prewarm_buffer).astype(np.int64))
    pools = clamp_pool(sized, warming, warm=warm)
    capped = sized > warming.max_warm_pool

    decisions = []
    for row, function_id in enumerate(ids):
        if gated[row]:
            decided = gate[function_id]
            reason = (
                f"predictive policy: P(invocation) {decided.probability_now:.3g} this minute,"
                f" {decided.probability_next:.3g} the next; "
            )
            if not warm[row]:
                reason += "idling costs more than a cold start"
            else:
                reason += f"worth a warm instance; pool sized by the {decided.pool_rule} rule"
        elif stale[row]:
            reason = "forecast is stale: holding the minimum pool"
        elif not warm[row]:
            reason = f"expected {ahead[row, 0]:.3g} invocations this minute: idling costs more than a cold start"
        else:
            reason = f"expected {ahead[row, 0]:.3g} invocations this minute, peak concurrency {concurrency[row]:.3g}"
        if warm[row] and capped[row]:
            reason += f"; capped at max_warm_pool={warming.max_warm_pool}"
        decisions.append(
            PoolDecision(
                function_id, now, int(pools[row]), int(keep_alive_min[row]) * 60, float(concurrency[row]), reason
            )
        )
    return decisions


def fit_to_tiers(
    decisions: Sequence[PoolDecision],
    services: Mapping[str, FunctionService],
    capacity: Mapping[Tier, Resources],
) -> list[PoolDecision]:
    """Scale pools down, per tier, until their summed requests fit the tier's allocatable resources."""
    by_tier: dict[Tier, list[int]] = {}
    for index, decision in enumerate(decisions):
        service = services.get(decision.function_id)
        if service is not None and service.tier is not None and service.tier in capacity and decision.pool_size > 0:
            by_tier.setdefault(service.tier, []).append(index)
    fitted = list(decisions)
    for tier, indexes in by_tier.items():
        have = np.array(capacity[tier].as_tuple())
        per_instance = np.array([services[decisions[i].function_id].instance.as_tuple() for i in indexes])
        pools = np.array([decisions[i].pool_size for i in indexes], dtype=np.float64)
        need = (per_instance * pools[:, None]).sum(axis=0)
        over = need > have
        if not over.any():
            continue
        scale = float(np.min(have[over] / need[over]))
        for i, pool in zip(indexes, np.floor(pools * scale).astype(int).tolist(), strict=True):
            fitted[i] = replace(
                decisions[i], pool_size=pool, reason=f"{decisions[i].reason}; scaled x{scale:.2f} to fit tier {tier.value}"
            )
    return fitted


def _instances_that_fit(instance: Resources, capacity: Resources) -> int | None:
    need, have = instance.as_tuple(), capacity.as_tuple()
    fits = [h / n for n, h in zip(need, have, strict=True) if n > 0]
    return int(min(fits)) if fits else None


def warm_targets(
    decisions: Sequence[PoolDecision], services: Mapping[str, FunctionService], capacity: Mapping[Tier, Resources]
) -> dict[str, WarmTarget]:
    """Knative annotations per function with a Service; max-scale is what its tier could ever hold."""
    fit_cache: dict[tuple[Tier, Resources], int | None] = {}
    targets: dict[str, WarmTarget] = {}
    for decision in decisions:
        service = services.get(decision.function_id)
        if service is None:
            continue
        max_scale = None
        if service.tier is not None and service.tier in capacity:
            key = (service.tier, service.instance)
            if key not in fit_cache:  # functions share a handful of shapes: compute each once
                fit_cache[key] = _instances_that_fit(service.instance, capacity[service.tier])
            fits = fit_cache[key]
            max_scale = fits if fits is not None and fits >= max(decision.pool_size, 1) else None
        targets[decision.function_id] = WarmTarget(
            service.namespace, service.name, min_scale=decision.pool_size, max_scale=max_scale,
            scale_down_delay_s=min(decision.keep_alive_s, MAX_SCALE_DOWN_DELAY_S),
        )
    return targets


@dataclass(frozen=True, slots=True)
class WarmingPassResult:
    """What one pass did."""

    decided: int
    changed: int
    actuated: int
    failed: int


class WarmingController:
    """One warming pass at a time: read, decide, fit to tiers, record changes, patch Knative."""

    def __init__(
        self,
        engine: Engine,
        kube: client.ApiClient | None,
        settings: RuntimeSettings,
        registry: CollectorRegistry,
        *,
        clock: Clock = utc_now,
        function_label: str = FUNCTION_LABEL,
    ) -> None:
        self._engine, self._kube = engine, kube
        self._settings, self._clock, self._label = settings, clock, function_label
        self._actuator = (
            None if kube is None else KnativeActuator(client.CustomObjectsApi(kube), dry_run=settings.warming.dry_run)
        )
        self._gate = LivePredictiveGate(settings) if settings.warming.predictive_gate else None
        self._recorded: dict[str, tuple[int, int]] | None = None
        self._dry_run_audited: dict[str, WarmTarget] = {}  # dry-run changes nothing: audit each target once
        self._target = metrics.WARM_POOL_TARGET.gauge(registry)
        self._size = metrics.WARM_POOL_SIZE.gauge(registry)
        self._budget_metrics = BudgetMetrics(registry)

    def run_pass(self) -> WarmingPassResult:
        now = self._clock()
        services: dict[str, FunctionService] = {}
        capacity: dict[Tier, Resources] = {}
        serving: ServingRevisions = {}
        if self._kube is not None:
            namespaces = function_namespaces()
            services = function_services(self._kube, self._label, namespaces)
            capacity = tier_capacities(list_nodes(self._kube))
            if self._actuator is not None:
                serving = self._actuator.serving_revisions(self._label, namespaces)
        inputs = with_service_memory(self._engine, read_inputs(self._engine), services)
        gate = None
        if self._gate is not None:
            gate = self._gate.decide(self._engine, now, lambda i: inputs.memory_mb.get(i, UNKNOWN_MEMORY_MB),
                                     lambda i: inputs.duration_ms.get(i, UNKNOWN_DURATION_MS))
        decisions = fit_to_tiers(decide_pools(inputs, self._settings, now, gate), services, capacity)
        if self._gate is not None:
            self._budget_metrics.update(self._gate.budget)

        changed = self._record_changes(decisions)
        for decision in decisions:
            self._target.labels(decision.function_id).set(decision.pool_size)

        # Only the Revisions whose annotations differ from the target get a request: an unchanged pool
        # costs none, and one changed behind the service's back is repaired on this pass.
        actuated = failed = 0
        trail = AuditTrail(ACTOR)
        targets = warm_targets(decisions, services, capacity) if self._actuator is not None else {}
        dry_run = self._settings.warming.dry_run
        for decision in decisions:
            service, target = services.get(decision.function_id), targets.get(decision.function_id)
            if service is None or target is None or self._actuator is None:
                continue
            listed = serving.get((service.namespace, service.name), [])
            revisions = [r for r in listed if warm_patch(r, target) is not None]
            if not revisions:
                if listed and not dry_run:  # already there
                    self._size.labels(decision.function_id, (service.tier or "unknown")).set(target.min_scale)
                continue
            if dry_run and self._dry_run_audited.get(decision.function_id) == target:
                continue
            with trail.attempt("set-warm-pool", f"Service {service.target}", now) as attempt:
                attempt.record(self._actuator.apply_warm(target, revisions), detail=decision.reason)
            if attempt.outcome is AuditOutcome.FAILED:
                failed += 1
                continue
            actuated += 1
            if dry_run:
                self._dry_run_audited[decision.function_id] = target
            if attempt.outcome is AuditOutcome.APPLIED:
                self._size.labels(decision.function_id, (service.tier or "unknown")).set(target.min_scale)
        trail.flush(self._engine)
        log.info("warming pass", extra={"functions": len(decisions), "changed": changed, "actuated": actuated,
                                        "failed": failed, "dry_run": self._settings.warming.dry_run,
                                        "predictive_gate": gate is not None})
        return WarmingPassResult(len(decisions), changed, actuated, failed)

    def _record_changes(self, decisions: Sequence[PoolDecision]) -> int:
        # Only changes are stored: an unchanged pool every 30 s would be noise, not history.
        if self._recorded is None:
            self._recorded = {f: (d.pool_size, d.keep_alive_s) for f, d in current_pools(self._engine).items()}
        changed = [d for d in decisions if self._recorded.get(d.function_id) != (d.pool_size, d.keep_alive_s)]
        record_decisions(self._engine, changed)
        self._recorded.update({d.function_id: (d.pool_size, d.keep_alive_s) for d in changed})
        return len(changed)
