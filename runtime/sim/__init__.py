"""Trace-driven simulation of warming policies (ARCHITECTURE.md, "Simulation semantics")."""

from runtime.sim.instances import InstanceOutcome, PoolPolicy, account, needed_instances, replay_pool
from runtime.sim.registry import SHIPPED, make_policy
from runtime.sim.replay import AppOutcome, replay, score
from runtime.sim.report import PolicyKind, PolicyResult, SimulationReport
from runtime.sim.simulation import simulate

__all__ = [
    "SHIPPED",
    "AppOutcome",
    "InstanceOutcome",
    "PolicyKind",
    "PolicyResult",
    "PoolPolicy",
    "SimulationReport",
    "account",
    "make_policy",
    "needed_instances",
    "replay",
    "replay_pool",
    "score",
    "simulate",
]
