"""The exact model: a 0-1 program solved by HiGHS through `scipy.optimize.milp`.

Variables are x[i, t] (function i on tier t) followed by u[i] (function i left unplaced, at a penalty
that keeps the model feasible when capacity or the migration limit runs out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from runtime.placement.costs import NO_TIER, CostModel, IntArray

_OPTIMAL = 0  # scipy's status code for a solve HiGHS proved optimal

# scipy's stubs type the bounds of LinearConstraint and Bounds as float; arrays are the documented use.
_Array = Any


@dataclass(frozen=True)
class MilpOutcome:
    """What HiGHS returned: an assignment when it found one, and its proven lower bound."""

    assignment: IntArray | None
    lower_bound: float
    proven_optimal: bool
    message: str


def _constraints(model: CostModel) -> list[LinearConstraint]:
    n, n_tiers = model.cost.shape
    width = n * (n_tiers + 1)
    rows = np.arange(n)
    x_columns = rows[:, None] * n_tiers + np.arange(n_tiers)[None, :]

    # each function goes to exactly one tier or stays unplaced
    one_each = sparse.csr_array(
        (
            np.ones(n * (n_tiers + 1)),
            (np.repeat(rows, n_tiers + 1), np.hstack([x_columns, (n * n_tiers + rows)[:, None]]).ravel()),
        ),
        shape=(n, width),
    )
    constraints = [LinearConstraint(one_each, 1.0, 1.0)]

    # per tier and resource: summed demand within capacity (rows nobody uses are left out)
    used = [(t, k) for t in range(n_tiers) for k in range(model.demand.shape[1]) if model.demand[:, k].any()]
    if used:
        data, row_index, col_index = [], [], []
        for r, (t, k) in enumerate(used):
            takers = np.flatnonzero(model.demand[:, k])
            data.append(model.demand[takers, k])
            row_index.append(np.full(takers.size, r))
            col_index.append(takers * n_tiers + t)
        capacity_rows = sparse.csr_array(
            (np.concatenate(data), (np.concatenate(row_index), np.concatenate(col_index))),
            shape=(len(used), width),
        )
        limits: _Array = np.array([model.capacity[t, k] for t, k in used])
        constraints.append(LinearConstraint(capacity_rows, -np.inf, limits))

    # at most max_migrations functions leave their current tier for another one
    moved_i, moved_t = np.nonzero(model.moved)
    if moved_i.size:
        migration_row = sparse.csr_array(
            (np.ones(moved_i.size), (np.zeros(moved_i.size, dtype=np.int64), moved_i * n_tiers + moved_t)),
            shape=(1, width),
        )
        constraints.append(LinearConstraint(migration_row, -np.inf, float(model.max_migrations)))
    return constraints


def solve_milp(model: CostModel, time_limit_s: float, *, rel_gap: float = 1e-4) -> MilpOutcome:
    """Solve the placement model with HiGHS within a time limit."""
    n, n_tiers = model.cost.shape
    if n == 0:
        return MilpOutcome(np.empty(0, dtype=np.int64), 0.0, True, "no functions")
    objective = np.concatenate([model.cost.ravel(), np.full(n, model.unplaced_penalty)])
    lower: _Array = np.zeros(objective.size)
    upper: _Array = np.concatenate([model.fits.ravel().astype(float), np.ones(n)])
    result = milp(
        objective,
        constraints=_constraints(model),
        bounds=Bounds(lower, upper),
        integrality=np.ones(objective.size),
        options={"time_limit": time_limit_s, "mip_rel_gap": rel_gap, "presolve": True},
    )
    if result.x is None:
        return MilpOutcome(None, -np.inf, False, str(result.message))
    x = np.asarray(result.x)
    grid = np.hstack([x[: n * n_tiers].reshape(n, n_tiers), x[n * n_tiers :, None]])
    picked = grid.argmax(axis=1)
    assignment = np.where(picked == n_tiers, NO_TIER, picked).astype(np.int64)
    bound = getattr(result, "mip_dual_bound", None)
    lower = float(bound) if bound is not None and np.isfinite(bound) else -np.inf
    return MilpOutcome(assignment, lower, result.status == _OPTIMAL, str(result.message))
