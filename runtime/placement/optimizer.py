"""`place`: the placement run — exact MILP when the instance is small enough, greedy otherwise or as a net."""

from __future__ import annotations

import time

import numpy as np

from runtime.placement.costs import NO_TIER, CostModel, IntArray, build_cost_model
from runtime.placement.greedy import solve_greedy
from runtime.placement.milp import solve_milp
from runtime.placement.problem import RESOURCE_NAMES, PlacementProblem
from runtime.placement.result import InfeasibleFunction, Move, PlacementResult, PlacementStatus, Solver
from runtime.settings import PlacementSettings


def place(
    problem: PlacementProblem, settings: PlacementSettings, solver: Solver | None = None
) -> PlacementResult:
    """Assign functions to tiers at least cost within capacity and the migration limit.

    `solver` forces one method; by default HiGHS runs (within `milp_time_limit_s`) up to
    `milp_max_functions`, and the greedy answer is kept whenever HiGHS has nothing better.
    """
    started = time.perf_counter()
    model = build_cost_model(problem, settings)
    greedy = solve_greedy(model) if solver is not Solver.MILP else None
    assignment = greedy.assignment if greedy else None
    used, proven = Solver.GREEDY, False
    bound = greedy.lower_bound if greedy else -np.inf

    run_milp = solver is Solver.MILP or (solver is None and model.size <= settings.milp_max_functions)
    if run_milp:
        exact = solve_milp(model, settings.milp_time_limit_s)
        bound = max(bound, exact.lower_bound)
        if exact.assignment is not None and (
            assignment is None or model.objective(exact.assignment) <= model.objective(assignment) + 1e-9
        ):
            assignment, used, proven = exact.assignment, Solver.MILP, exact.proven_optimal
    if assignment is None:
        raise RuntimeError("HiGHS found no placement within the time limit; run with the greedy solver")

    objective = model.objective(assignment)
    bound = min(bound, objective)
    gap = (objective - bound) / max(abs(objective), 1e-12)
    infeasible = _unplaced_reasons(problem, model, assignment)
    if infeasible:
        status = PlacementStatus.PARTIAL
    else:
        status = PlacementStatus.OPTIMAL if proven else PlacementStatus.FEASIBLE
    return PlacementResult(
        assignment={
            function.name: model.tiers[t]
            for function, t in zip(problem.functions, assignment.tolist(), strict=True)
            if t != NO_TIER
        },
        moves=_moves(problem, model, assignment),
        objective=objective,
        lower_bound=bound,
        gap=gap,
        solver=used,
        status=status,
        infeasible=infeasible,
        unplaced_penalty=model.unplaced_penalty,
        solve_seconds=time.perf_counter() - started,
    )


def _moves(problem: PlacementProblem, model: CostModel, assignment: IntArray) -> list[Move]:
    moves: list[Move] = []
    for function, t in zip(problem.functions, assignment.tolist(), strict=True):
        if t != NO_TIER and function.current_tier is not None and function.current_tier != model.tiers[t]:
            moves.append(
                Move(function=function.name, from_tier=function.current_tier, to_tier=model.tiers[t])
            )
    return moves


def _format(values: np.ndarray) -> str:
    return ", ".join(f"{name}={value:g}" for name, value in zip(RESOURCE_NAMES, values.tolist(), strict=True))


def _unplaced_reasons(
    problem: PlacementProblem, model: CostModel, assignment: IntArray
) -> list[InfeasibleFunction]:
    unplaced = np.flatnonzero(assignment == NO_TIER)
    if unplaced.size == 0:
        return []
    largest = model.capacity.max(axis=0)
    total_demand = model.demand.sum(axis=0)
    total_capacity = model.capacity.sum(axis=0)
    short = [
        f"total {name} demand {need:g} exceeds total capacity {have:g}"
        for name, need, have in zip(RESOURCE_NAMES, total_demand, total_capacity, strict=True)
        if need > have
    ]
    reasons: list[InfeasibleFunction] = []
    for i in unplaced.tolist():
        name = problem.functions[i].name
        if not model.fits[i].any():
            too_big = [
                f"{resource}={need:g} (largest tier has {have:g})"
                for resource, need, have in zip(RESOURCE_NAMES, model.demand[i], largest, strict=True)
                if need > have
            ]
            reason = f"fits no tier: needs {_format(model.demand[i])}; " + (
                "; ".join(too_big) if too_big else "no single tier has all of it"
            )
        elif short:
            reason = "capacity exhausted: " + "; ".join(short)
        else:
            fitting = ", ".join(model.tiers[t].value for t in np.flatnonzero(model.fits[i]).tolist())
            reason = (
                f"no room left on the tiers it fits ({fitting}) within the limit of "
                f"{model.max_migrations} migrations per interval"
            )
        reasons.append(InfeasibleFunction(function=name, reason=reason))
    return reasons
