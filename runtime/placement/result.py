"""The typed outcome of a placement run."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from runtime.contract import Tier


class Solver(StrEnum):
    """Which method produced the returned assignment."""

    MILP = "milp"
    GREEDY = "greedy"


class PlacementStatus(StrEnum):
    """OPTIMAL: proven within HiGHS' gap; FEASIBLE: a valid placement with a reported gap; PARTIAL: some
    functions could not be placed (see `infeasible`)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    PARTIAL = "partial"


class Move(BaseModel):
    """A function leaving its current tier."""

    model_config = ConfigDict(frozen=True)

    function: str
    from_tier: Tier
    to_tier: Tier


class InfeasibleFunction(BaseModel):
    """A function left unplaced, and why."""

    model_config = ConfigDict(frozen=True)

    function: str
    reason: str


class PlacementResult(BaseModel):
    """Where every placeable function goes, what moves, and how good the answer is known to be.

    `objective` includes `unplaced_penalty` per unplaced function; `gap` is (objective - lower_bound) /
    |objective|, the bound coming from HiGHS (MILP) or the Lagrangian dual of the LP relaxation (greedy).
    """

    model_config = ConfigDict(frozen=True)

    assignment: dict[str, Tier]
    moves: list[Move]
    objective: float
    lower_bound: float
    gap: float
    solver: Solver
    status: PlacementStatus
    infeasible: list[InfeasibleFunction]
    unplaced_penalty: float
    solve_seconds: float
