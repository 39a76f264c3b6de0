"""The fallback for large or slow instances: Lagrangian-priced greedy assignment plus local improvement.

Subgradient steps put a price on each tier's scarce resources (the migration price is set exactly at
each step); the greedy keeps most functions where they are and places the rest in order of regret
under those prices; single moves, pairwise swaps and short ejection chains then polish the result
against the true costs. The best Lagrangian value is a valid lower bound on the optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runtime.placement.costs import NO_TIER, BoolArray, CostModel, FloatArray, IntArray, tier_load

_EPS = 1e-9


@dataclass(frozen=True)
class GreedyOutcome:
    """A feasible assignment and the Lagrangian lower bound found on the way."""

    assignment: IntArray
    lower_bound: float


def _scaled_demand(model: CostModel) -> FloatArray:
    """(n, T, K) demand as a share of each tier's capacity, in [0, 1]; 0 where the function cannot fit
    (those pairs are never chosen, and a huge share would swamp the subgradient)."""
    capacity = model.capacity[None, :, :]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        share = np.where(capacity > 0, model.demand[:, None, :] / capacity, 0.0)
    return np.where(model.fits[:, :, None], np.minimum(share, 1.0), 0.0)


def _true_cost(model: CostModel) -> FloatArray:
    cost = np.where(model.fits, model.cost, np.inf)
    if model.max_migrations == 0:
        cost = np.where(model.moved, np.inf, cost)
    return cost


def _stayers(model: CostModel, priced: FloatArray) -> BoolArray:
    """Functions kept on their current tier: all but those it no longer fits and the `max_migrations`
    with most to gain (at these prices) by moving."""
    current = model.with_current
    stay_cost = priced[current, model.current[current]]
    forced = ~np.isfinite(stay_cost)
    with np.errstate(invalid="ignore"):
        gain = stay_cost - priced[current].min(axis=1)
    willing = np.flatnonzero(~forced & (gain > _EPS))
    chosen = willing[np.argsort(-gain[willing], kind="stable")][: model.max_migrations]
    stayers = np.zeros(model.size, dtype=bool)
    stayers[current] = True
    stayers[current[forced]] = False
    stayers[current[chosen]] = False
    return stayers


def assign_by_regret(model: CostModel, priced: FloatArray) -> IntArray:
    """Keep stayers on their tier, then place the rest most-regretful first on their cheapest (priced)
    tier with room and moves left."""
    n, n_tiers = priced.shape
    tier_order = np.argsort(priced, axis=1, kind="stable")
    ranked = np.take_along_axis(priced, tier_order, axis=1)
    if n_tiers > 1:
        with np.errstate(invalid="ignore"):
            regret = np.nan_to_num(ranked[:, 1] - ranked[:, 0], nan=0.0, posinf=np.finfo(float).max)
    else:
        regret = np.zeros(n)
    stayers = _stayers(model, priced)
    by_regret = np.argsort(-regret, kind="stable")
    order = np.concatenate([by_regret[stayers[by_regret]], by_regret[~stayers[by_regret]]])

    remaining = model.capacity.tolist()
    demand = model.demand.tolist()
    moved = model.moved.tolist()
    finite = np.isfinite(priced).tolist()
    choices = tier_order.tolist()
    for i in np.flatnonzero(stayers).tolist():
        home = int(model.current[i])
        choices[i] = [home] + [t for t in choices[i] if t != home]
    moves_left = model.max_migrations
    assignment = np.full(n, NO_TIER, dtype=np.int64)
    for i in order.tolist():
        need = demand[i]
        for t in choices[i]:
            if not finite[i][t]:
                continue
            if moved[i][t] and moves_left == 0:
                continue
            room = remaining[t]
            if all(need[k] <= room[k] + _EPS for k in range(len(need))):
                for k in range(len(need)):
                    room[k] -= need[k]
                moves_left -= moved[i][t]
                assignment[i] = t
                break
    return assignment


def _priced_costs(
    cost: FloatArray, share: FloatArray, moved: FloatArray, prices: FloatArray, migration_price: float
) -> FloatArray:
    return cost + np.einsum("itk,tk->it", share, prices) + migration_price * moved


def _migration_price(model: CostModel, priced: FloatArray) -> float:
    """The price at which exactly `max_migrations` functions still want to move (exact dual step)."""
    has_current = model.with_current
    if has_current.size <= model.max_migrations:
        return 0.0
    options = priced[has_current]
    stay = options[np.arange(has_current.size), model.current[has_current]]
    options[~model.moved[has_current]] = np.inf
    away = options.min(axis=1)
    gain = np.minimum(stay, model.unplaced_penalty) - away
    gain = gain[np.isfinite(gain)]
    if gain.size <= model.max_migrations:
        return 0.0
    # the (N+1)-th largest gain: with this price at most N functions gain by moving
    threshold = np.partition(gain, gain.size - model.max_migrations - 1)[gain.size - model.max_migrations - 1]
    return max(float(threshold), 0.0)


def lagrangian_prices(
    model: CostModel, upper: float, iterations: int = 80
) -> tuple[FloatArray, float, float]:
    """Subgradient ascent on capacity prices, the migration price set exactly at each step.

    Returns (capacity prices, migration price, best Lagrangian value = a lower bound).
    """
    cost = _true_cost(model)
    share = _scaled_demand(model)
    moved = model.moved.astype(float)
    penalty = model.unplaced_penalty
    rows = np.arange(cost.shape[0])
    n_tiers = cost.shape[1]
    prices = np.zeros_like(model.capacity)
    best = (prices.copy(), 0.0, -np.inf)
    theta, stalled = 1.0, 0
    for _ in range(iterations):
        capacity_priced = _priced_costs(cost, share, moved, prices, 0.0)
        migration_price = _migration_price(model, capacity_priced)
        priced = capacity_priced + migration_price * moved
        choice = priced.argmin(axis=1)
        picked = priced[rows, choice]
        placed = picked < penalty
        value = float(
            np.minimum(picked, penalty).sum() - prices.sum() - migration_price * model.max_migrations
        )
        if value > best[2] + _EPS:
            best, stalled = (prices.copy(), migration_price, value), 0
        else:
            stalled += 1
            if stalled >= 4:
                theta, stalled = theta / 2, 0
        taken = share[rows[placed], choice[placed]]  # (placed, K) share of the chosen tier
        used = np.stack(
            [
                np.bincount(choice[placed], weights=taken[:, k], minlength=n_tiers)
                for k in range(taken.shape[1])
            ],
            axis=1,
        )
        gradient = used - 1.0
        gradient[(prices <= 0) & (gradient < 0)] = 0.0
        norm = float((gradient**2).sum())
        if norm <= _EPS or upper - value <= 1e-7 * max(abs(upper), 1.0) or theta < 1e-4:
            break
        prices = np.maximum(prices + theta * (upper - value) / norm * gradient, 0.0)
    return best


def improve_locally(model: CostModel, assignment: IntArray, max_passes: int = 4) -> IntArray:
    """Single moves, pairwise swaps and short ejection chains that lower the true cost within every limit."""
    cost = _true_cost(model)
    penalty = model.unplaced_penalty
    assignment = assignment.copy()
    n = cost.shape[0]
    rows = np.arange(n)
    for _ in range(max_passes):
        changed = _single_moves(model, cost, penalty, assignment, rows)
        changed += _swaps(model, cost, assignment)
        changed += _ejections(model, cost, penalty, assignment)
        if changed == 0:
            break
    return assignment


def _single_moves(
    model: CostModel, cost: FloatArray, penalty: float, assignment: IntArray, rows: IntArray
) -> int:
    now = np.where(assignment == NO_TIER, penalty, cost[rows, np.maximum(assignment, 0)])
    gain = now[:, None] - cost
    candidates_i, candidates_t = np.nonzero(gain > _EPS)
    if candidates_i.size == 0:
        return 0
    order = np.argsort(-gain[candidates_i, candidates_t], kind="stable")
    slack = (model.capacity - tier_load(model, assignment)).tolist()
    demand = model.demand.tolist()
    moved = model.moved.tolist()
    moves = model.migrations(assignment)
    touched: set[int] = set()
    changed = 0
    for i, t in zip(candidates_i[order].tolist(), candidates_t[order].tolist(), strict=True):
        if i in touched:
            continue
        old = int(assignment[i])
        delta = moved[i][t] - (moved[i][old] if old != NO_TIER else 0)
        if moves + delta > model.max_migrations:
            continue
        need, room = demand[i], slack[t]
        if any(need[k] > room[k] + _EPS for k in range(len(need))):
            continue
        for k in range(len(need)):
            room[k] -= need[k]
            if old != NO_TIER:
                slack[old][k] += need[k]
        assignment[i] = t
        moves += delta
        touched.add(i)
        changed += 1
    return changed


def _swaps(model: CostModel, cost: FloatArray, assignment: IntArray, reach: int = 32) -> int:
    """Exchange a function on tier a that prefers b with one on b that minds least going to a."""
    n_tiers = cost.shape[1]
    slack = model.capacity - tier_load(model, assignment)
    moved = model.moved
    moves = model.migrations(assignment)
    changed = 0
    for a in range(n_tiers):
        for b in range(a + 1, n_tiers):
            on_a = np.flatnonzero(assignment == a)
            on_b = np.flatnonzero(assignment == b)
            gain_a = cost[on_a, a] - cost[on_a, b]  # saved by moving an a-function to b
            gain_b = cost[on_b, b] - cost[on_b, a]
            keep_a = np.isfinite(gain_a) & (gain_a > _EPS)
            keep_b = np.isfinite(gain_b)
            movers_a = on_a[keep_a][np.argsort(-gain_a[keep_a], kind="stable")]
            movers_b = on_b[keep_b][np.argsort(-gain_b[keep_b], kind="stable")][: max(reach * 8, 1)]
            if movers_a.size == 0 or movers_b.size == 0:
                continue
            taken = np.zeros(movers_b.size, dtype=bool)
            for i in movers_a[: reach * 8].tolist():
                g_i = cost[i, a] - cost[i, b]
                open_slots = np.flatnonzero(~taken)[:reach]
                for slot in open_slots.tolist():
                    j = int(movers_b[slot])
                    g_j = cost[j, b] - cost[j, a]
                    if g_i + g_j <= _EPS:
                        break
                    delta = int(moved[i, b]) - int(moved[i, a]) + int(moved[j, a]) - int(moved[j, b])
                    if moves + delta > model.max_migrations:
                        continue
                    shift = model.demand[i] - model.demand[j]
                    if np.any(shift > slack[b] + _EPS) or np.any(-shift > slack[a] + _EPS):
                        continue
                    slack[b] -= shift
                    slack[a] += shift
                    assignment[i], assignment[j] = b, a
                    moves += delta
                    taken[slot] = True
                    changed += 1
                    break
    return changed


def _ejections(
    model: CostModel,
    cost: FloatArray,
    penalty: float,
    assignment: IntArray,
    per_tier: int = 16,
    depth: int = 4,
) -> int:
    """Move a function to a full tier by pushing up to `depth` of its occupants to tiers with room."""
    n, n_tiers = cost.shape
    rows = np.arange(n)
    moved = model.moved
    slack = model.capacity - tier_load(model, assignment)
    moves = model.migrations(assignment)
    changed = 0
    for t in range(n_tiers):
        now = np.where(assignment == NO_TIER, penalty, cost[rows, np.maximum(assignment, 0)])
        gain = now - cost[:, t]
        gain[assignment == t] = -np.inf
        candidates = np.flatnonzero(gain > _EPS)
        candidates = candidates[np.argsort(-gain[candidates], kind="stable")][:per_tier]
        for i in candidates.tolist():
            deficit = np.maximum(model.demand[i] - slack[t], 0.0)
            needed = deficit > _EPS
            if not needed.any():
                continue  # it fits: only the migration limit kept the single move from taking it
            old = int(assignment[i])
            budget = (
                model.max_migrations
                - moves
                - int(moved[i, t])
                + (int(moved[i, old]) if old != NO_TIER else 0)
            )
            if budget < 0:
                continue
            room = slack.copy()
            if old != NO_TIER:
                room[old] += model.demand[i]
            occupants = np.flatnonzero(assignment == t)
            fits_room = np.all(model.demand[occupants, None, :] <= room[None, :, :] + _EPS, axis=2)
            fits_room[:, t] = False
            alternative = np.where(fits_room, cost[occupants], np.inf)
            target = alternative.argmin(axis=1)
            loss = alternative[np.arange(occupants.size), target] - cost[occupants, t]
            covered = (np.minimum(model.demand[occupants][:, needed], deficit[needed]) / deficit[needed]).sum(
                axis=1
            )
            extra_moves = moved[occupants, target].astype(int) - moved[occupants, t].astype(int)
            usable = np.isfinite(loss) & (covered > _EPS) & (extra_moves <= budget)
            if not usable.any():
                continue
            order = np.flatnonzero(usable)[np.argsort(loss[usable] / covered[usable], kind="stable")][:depth]
            chain = _feasible_chain(
                model, i, t, occupants[order], target[order], room, float(gain[i]), budget
            )
            if chain is None:
                continue
            for j, u in chain:
                assignment[j] = u
                slack[u] -= model.demand[j]
                slack[t] += model.demand[j]
                moves += int(moved[j, u]) - int(moved[j, t])
            assignment[i] = t
            slack[t] -= model.demand[i]
            if old != NO_TIER:
                slack[old] += model.demand[i]
            moves += int(moved[i, t]) - (int(moved[i, old]) if old != NO_TIER else 0)
            changed += 1
    return changed


def _feasible_chain(
    model: CostModel,
    i: int,
    t: int,
    ejectees: IntArray,
    targets: IntArray,
    room: FloatArray,
    gain: float,
    budget: int,
) -> list[tuple[int, int]] | None:
    """The shortest prefix of ejections that makes room for `i` on `t` and still pays off, or None."""
    room = room.copy()
    chain: list[tuple[int, int]] = []
    loss = 0.0
    for j, u in zip(ejectees.tolist(), targets.tolist(), strict=True):
        extra = int(model.moved[j, u]) - int(model.moved[j, t])
        if np.any(model.demand[j] > room[u] + _EPS) or extra > budget:
            continue
        room[u] -= model.demand[j]
        room[t] += model.demand[j]
        loss += model.cost[j, u] - model.cost[j, t]
        budget -= extra
        chain.append((j, u))
        if loss >= gain - _EPS:
            return None
        if np.all(model.demand[i] <= room[t] + _EPS):
            return chain
    return None


def solve_greedy(model: CostModel, iterations: int = 80) -> GreedyOutcome:
    """Priced greedy plus local improvement, from the better of a migration-priced and a fully priced start."""
    if model.size == 0:
        return GreedyOutcome(np.empty(0, dtype=np.int64), 0.0)
    cost = _true_cost(model)
    moved = model.moved.astype(float)
    start = assign_by_regret(model, cost + _migration_price(model, cost) * moved)
    prices, migration_price, bound = lagrangian_prices(model, model.objective(start), iterations)
    priced = assign_by_regret(
        model, _priced_costs(cost, _scaled_demand(model), moved, prices, migration_price)
    )
    best = priced if model.objective(priced) <= model.objective(start) else start
    return GreedyOutcome(improve_locally(model, best), bound)
