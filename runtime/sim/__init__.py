"""Trace-driven simulation of warming policies (docs/architecture.md, "Simulation semantics")."""

from runtime.sim.instances import InstanceOutcome, account, replay_pool
from runtime.sim.policies import SHIPPED, make_policy
from runtime.sim.replay import AppOutcome, app_profile, replay, score
from runtime.sim.report import PolicyKind, PolicyResult, SimulationReport
from runtime.sim.simulation import simulate
from runtime.warming.policy import needed_instances

__all__ = [
    "SHIPPED",
    "AppOutcome",
    "InstanceOutcome",
    "PolicyKind",
    "PolicyResult",
    "SimulationReport",
    "account",
    "app_profile",
    "make_policy",
    "needed_instances",
    "replay",
    "replay_pool",
    "score",
    "simulate",
]
