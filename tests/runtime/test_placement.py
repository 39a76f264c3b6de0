"""Tier placement: capacities, migrations, infeasibility, weights, GPUs, and greedy versus HiGHS."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from runtime.contract import Tier
from runtime.placement import (
    FunctionDemand,
    PlacementProblem,
    PlacementResult,
    PlacementStatus,
    Resources,
    Solver,
    TierSpec,
    place,
)
from runtime.placement.costs import NO_TIER, build_cost_model
from runtime.settings import CostWeights, PlacementSettings
from tests.support.placement_problems import random_problem

SETTINGS = PlacementSettings(milp_time_limit_s=30)


def _tier(
    tier: Tier, cpu: float, memory: float = 1000.0, gpu: int = 0, price: float = 0.04, latency: float = 50.0
) -> TierSpec:
    return TierSpec(
        tier=tier,
        capacity=Resources(cpu=cpu, memory_gib=memory, gpu=gpu),
        cpu_hour_usd=price,
        latency_ms={"eu": latency},
    )


def _function(name: str, cpu: float = 1.0, gpu: int = 0, rate: float = 10.0, current: Tier | None = None):
    return FunctionDemand(
        name=name,
        demand=Resources(cpu=cpu, memory_gib=1.0, gpu=gpu),
        request_rate=rate,
        user_regions={"eu": 1.0},
        current_tier=current,
    )


def _load(problem: PlacementProblem, result: PlacementResult) -> dict[Tier, np.ndarray]:
    load = {spec.tier: np.zeros(3) for spec in problem.tiers}
    for function in problem.functions:
        tier = result.assignment.get(function.name)
        if tier is not None:
            load[tier] += np.array(function.demand.as_tuple())
    return load


@pytest.mark.parametrize("solver", [Solver.MILP, Solver.GREEDY])
def test_every_tier_stays_within_its_cpu_memory_and_gpu_capacity(solver: Solver) -> None:
    problem = random_problem(150, seed=3, gpu_fraction=0.1, capacity_scale=0.6)
    result = place(problem, SETTINGS, solver)
    for spec in problem.tiers:
        assert np.all(_load(problem, result)[spec.tier] <= np.array(spec.capacity.as_tuple()) + 1e-6)
    # scarce capacity: still every function is either placed or reported
    assert len(result.assignment) + len(result.infeasible) == len(problem.functions)


@pytest.mark.parametrize("solver", [Solver.MILP, Solver.GREEDY])
def test_no_more_functions_move_than_the_migration_limit_allows(solver: Solver) -> None:
    # every function sits on the far, cheap cloud while latency is all that counts: all want to move
    problem = PlacementProblem(
        functions=[_function(f"f{i}", current=Tier.CLOUD) for i in range(12)],
        tiers=[_tier(Tier.EDGE, cpu=100, latency=5), _tier(Tier.CLOUD, cpu=100, latency=120)],
    )
    weights = CostWeights(user_latency=1.0, resource_utilization=0.0)
    limited = place(problem, PlacementSettings(cost_weights=weights, max_migrations_per_interval=3), solver)
    free = place(problem, PlacementSettings(cost_weights=weights, max_migrations_per_interval=50), solver)
    assert len(limited.moves) == 3
    assert len(free.moves) == 12
    assert all(move.from_tier is Tier.CLOUD and move.to_tier is Tier.EDGE for move in limited.moves)


def test_new_functions_and_functions_that_stay_are_not_moves() -> None:
    problem = PlacementProblem(
        functions=[_function("new"), _function("stays", current=Tier.EDGE)],
        tiers=[_tier(Tier.EDGE, cpu=10, latency=5), _tier(Tier.CLOUD, cpu=10, latency=120)],
    )
    result = place(problem, PlacementSettings(max_migrations_per_interval=0))
    assert result.assignment == {"new": Tier.EDGE, "stays": Tier.EDGE}
    assert result.moves == []


def test_a_function_whose_tier_is_gone_is_moved_even_when_no_migrations_are_allowed() -> None:
    problem = PlacementProblem(
        functions=[_function("orphan", current=Tier.REGIONAL)],
        tiers=[_tier(Tier.EDGE, cpu=10), _tier(Tier.CLOUD, cpu=10)],
    )
    result = place(problem, PlacementSettings(max_migrations_per_interval=0))
    assert result.infeasible == []
    assert [(m.function, m.from_tier) for m in result.moves] == [("orphan", Tier.REGIONAL)]


@pytest.mark.parametrize("solver", [Solver.MILP, Solver.GREEDY])
def test_a_function_that_fits_no_tier_is_reported_with_the_resource_it_lacks(solver: Solver) -> None:
    problem = PlacementProblem(
        functions=[_function("small"), _function("huge", cpu=64.0), _function("gpu-hungry", gpu=4)],
        tiers=[_tier(Tier.EDGE, cpu=4), _tier(Tier.REGIONAL, cpu=16, gpu=2)],
    )
    result = place(problem, SETTINGS, solver)
    assert result.status is PlacementStatus.PARTIAL
    assert set(result.assignment) == {"small"}
    reasons = {item.function: item.reason for item in result.infeasible}
    assert "fits no tier" in reasons["huge"] and "cpu=64" in reasons["huge"]
    assert "gpu=4" in reasons["gpu-hungry"] and "largest tier has 2" in reasons["gpu-hungry"]


@pytest.mark.parametrize("solver", [Solver.MILP, Solver.GREEDY])
def test_demand_beyond_total_capacity_places_what_fits_and_reports_the_rest(solver: Solver) -> None:
    problem = PlacementProblem(
        functions=[_function(f"f{i}", cpu=1.0) for i in range(10)],
        tiers=[_tier(Tier.EDGE, cpu=3), _tier(Tier.CLOUD, cpu=4)],
    )
    result = place(problem, SETTINGS, solver)
    assert len(result.assignment) == 7
    assert len(result.infeasible) == 3
    assert all("total cpu demand 10 exceeds total capacity 7" in item.reason for item in result.infeasible)


def test_raising_the_latency_weight_pulls_functions_to_the_edge() -> None:
    problem = PlacementProblem(
        functions=[_function(f"f{i}", rate=float(i + 1)) for i in range(20)],
        tiers=[
            _tier(Tier.EDGE, cpu=100, price=0.06, latency=5),
            _tier(Tier.REGIONAL, cpu=100, price=0.04, latency=30),
            _tier(Tier.CLOUD, cpu=100, price=0.03, latency=120),
        ],
    )

    def on_edge(latency_weight: float) -> int:
        weights = CostWeights(user_latency=latency_weight, resource_utilization=1.0)
        result = place(problem, PlacementSettings(cost_weights=weights))
        return sum(tier is Tier.EDGE for tier in result.assignment.values())

    counts = [on_edge(weight) for weight in (0.0, 0.2, 1.0, 100.0)]
    assert counts[0] == 0  # cost only: everything on the cheap cloud
    assert counts[-1] == 20  # latency dominates: everything at the edge
    assert counts == sorted(counts)


@pytest.mark.parametrize("solver", [Solver.MILP, Solver.GREEDY])
def test_gpu_functions_only_land_on_tiers_with_gpus(solver: Solver) -> None:
    problem = random_problem(200, seed=5, gpu_fraction=0.15)
    result = place(problem, SETTINGS, solver)
    gpu_tiers = {spec.tier for spec in problem.tiers if spec.capacity.gpu > 0}
    assert Tier.EDGE not in gpu_tiers
    gpu_functions = [f.name for f in problem.functions if f.demand.gpu > 0]
    assert gpu_functions
    assert all(result.assignment[name] in gpu_tiers for name in gpu_functions)


@pytest.mark.parametrize("seed", range(5))
def test_greedy_is_within_one_percent_of_the_milp_optimum_on_small_random_instances(seed: int) -> None:
    problem = random_problem(120, seed=seed, gpu_fraction=0.05, capacity_scale=0.7)
    exact = place(problem, SETTINGS, Solver.MILP)
    greedy = place(problem, SETTINGS, Solver.GREEDY)
    assert exact.status is PlacementStatus.OPTIMAL
    assert greedy.objective <= exact.objective * 1.01
    # the greedy's reported bound is a true lower bound on the optimum
    assert greedy.lower_bound <= exact.objective + 1e-6
    assert greedy.gap >= (greedy.objective - exact.objective) / greedy.objective - 1e-9


def test_milp_matches_brute_force_on_a_tiny_instance() -> None:
    problem = random_problem(7, seed=11, gpu_fraction=0.3, capacity_scale=0.5)
    settings = PlacementSettings(max_migrations_per_interval=1)
    model = build_cost_model(problem, settings)
    best = np.inf
    for combo in itertools.product(range(-1, len(model.tiers)), repeat=model.size):
        assignment = np.array(combo, dtype=np.int64)
        placed = assignment != NO_TIER
        if not np.all(model.fits[np.flatnonzero(placed), assignment[placed]]):
            continue
        if (
            model.within_capacity(assignment)
            and model.migrations(assignment) <= settings.max_migrations_per_interval
        ):
            best = min(best, model.objective(assignment))
    result = place(problem, settings, Solver.MILP)
    assert result.objective == pytest.approx(best, rel=1e-6)


def test_size_budget_switches_from_milp_to_greedy() -> None:
    problem = random_problem(40, seed=2)
    assert place(problem, PlacementSettings(milp_max_functions=40)).solver is Solver.MILP
    assert place(problem, PlacementSettings(milp_max_functions=39)).solver is Solver.GREEDY


def test_an_empty_problem_places_nothing() -> None:
    result = place(PlacementProblem(functions=[], tiers=[_tier(Tier.EDGE, cpu=1)]), SETTINGS)
    assert result.assignment == {} and result.moves == [] and result.objective == 0.0


def test_a_user_region_without_latency_on_a_tier_is_rejected_by_name() -> None:
    function = FunctionDemand(name="f", demand=Resources(cpu=1), user_regions={"ap-south": 1.0})
    with pytest.raises(ValidationError, match=r"tiers\[edge\]\.latency_ms .*'ap-south'"):
        PlacementProblem(functions=[function], tiers=[_tier(Tier.EDGE, cpu=1)])


def test_duplicate_function_names_and_empty_user_regions_are_rejected() -> None:
    with pytest.raises(ValidationError, match="name 'f' is listed twice"):
        PlacementProblem(functions=[_function("f"), _function("f")], tiers=[_tier(Tier.EDGE, cpu=1)])
    with pytest.raises(ValidationError, match="user_regions"):
        FunctionDemand(name="g", demand=Resources(cpu=1), user_regions={})


@st.composite
def _problems(draw: st.DrawFn) -> tuple[PlacementProblem, int]:
    tiers = draw(st.lists(st.sampled_from(list(Tier)), min_size=1, max_size=3, unique=True))
    specs = [
        _tier(
            tier,
            cpu=draw(st.floats(0, 8)),
            memory=draw(st.floats(0, 16)),
            gpu=draw(st.integers(0, 2)),
            price=draw(st.floats(0, 0.1)),
            latency=draw(st.floats(1, 200)),
        )
        for tier in tiers
    ]
    functions = [
        FunctionDemand(
            name=f"f{i}",
            demand=Resources(
                cpu=draw(st.floats(0, 3)), memory_gib=draw(st.floats(0, 6)), gpu=draw(st.integers(0, 1))
            ),
            request_rate=draw(st.floats(0, 100)),
            user_regions={"eu": 1.0},
            current_tier=draw(st.none() | st.sampled_from(tiers)),
        )
        for i in range(draw(st.integers(0, 12)))
    ]
    return PlacementProblem(functions=functions, tiers=specs), draw(st.integers(0, 4))


@settings(max_examples=40, deadline=None)
@given(_problems())
def test_any_problem_gets_a_placement_within_every_limit_and_every_function_accounted_for(
    case: tuple[PlacementProblem, int],
) -> None:
    problem, limit = case
    results = {
        solver: place(problem, PlacementSettings(max_migrations_per_interval=limit), solver)
        for solver in (Solver.GREEDY, Solver.MILP)
    }
    for result in results.values():
        for spec in problem.tiers:
            assert np.all(_load(problem, result)[spec.tier] <= np.array(spec.capacity.as_tuple()) + 1e-6)
        assert len(result.moves) <= limit
        assert {f.name for f in problem.functions} == set(result.assignment) | {
            item.function for item in result.infeasible
        }
    # a reported lower bound is below every feasible placement's objective, whichever solver found it
    best = min(result.objective for result in results.values())
    assert all(result.lower_bound <= best + 1e-6 * (1 + abs(best)) for result in results.values())
