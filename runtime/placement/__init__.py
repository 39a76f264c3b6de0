"""Tier placement: which functions run on edge, regional or cloud nodes."""

from runtime.placement.capacity import tier_capacities
from runtime.placement.optimizer import place
from runtime.placement.problem import FunctionDemand, PlacementProblem, Resources, TierSpec
from runtime.placement.result import InfeasibleFunction, Move, PlacementResult, PlacementStatus, Solver

__all__ = [
    "FunctionDemand",
    "InfeasibleFunction",
    "Move",
    "PlacementProblem",
    "PlacementResult",
    "PlacementStatus",
    "Resources",
    "Solver",
    "TierSpec",
    "place",
    "tier_capacities",
]
