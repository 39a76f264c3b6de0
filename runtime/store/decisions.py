"""What the control loops decided and did: warm-pool decisions, placements and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from runtime.contract import Tier
from runtime.store.invocations import ensure_functions
from runtime.store.schema import AuditEntry, AuditOutcome, Placement, WarmPoolDecision


@dataclass(frozen=True, slots=True)
class PoolDecision:
    """A warm-pool size and keep-alive chosen for one function."""

    function_id: str
    decided_at: datetime
    pool_size: int
    keep_alive_s: int
    predicted_concurrency: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TierPlacement:
    """A tier chosen for one function (previous_tier None: first placement)."""

    function_id: str
    decided_at: datetime
    tier: Tier
    previous_tier: Tier | None = None
    objective: float | None = None


@dataclass(frozen=True, slots=True)
class Actuation:
    """One change made (or withheld) against the cluster."""

    at: datetime
    actor: str
    action: str
    target: str
    outcome: AuditOutcome
    patch: dict[str, Any] = field(default_factory=dict)
    detail: str = ""


def record_decisions(engine: Engine, decisions: Sequence[PoolDecision]) -> None:
    """Append warm-pool decisions."""
    _append(engine, WarmPoolDecision, [_fields(decision) for decision in decisions])


def record_placements(engine: Engine, placements: Sequence[TierPlacement]) -> None:
    """Append placements."""
    _append(engine, Placement, [_fields(placement) for placement in placements])


def record_actuations(engine: Engine, actuations: Sequence[Actuation]) -> None:
    """Append to the audit log (never updated or deleted by the services)."""
    if actuations:
        with engine.begin() as connection:
            connection.execute(insert(AuditEntry), [_fields(actuation) for actuation in actuations])


def _append(engine: Engine, model: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    with engine.begin() as connection:
        ensure_functions(connection, (row["function_id"] for row in rows))
        connection.execute(insert(model), rows)


def _fields(item: Any) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__slots__}


def latest_decisions(engine: Engine, function_id: str | None = None, limit: int = 100) -> list[PoolDecision]:
    """The newest decisions first, for one function or all."""
    query = select(WarmPoolDecision).order_by(WarmPoolDecision.decided_at.desc(), WarmPoolDecision.id.desc())
    if function_id is not None:
        query = query.where(WarmPoolDecision.function_id == function_id)
    with Session(engine) as session:
        rows = session.execute(query.limit(limit)).scalars()
        return [
            PoolDecision(r.function_id, r.decided_at, r.pool_size, r.keep_alive_s, r.predicted_concurrency, r.reason)
            for r in rows
        ]


def current_pools(engine: Engine) -> dict[str, PoolDecision]:
    """Each function's most recent decision."""
    newest = (
        select(WarmPoolDecision.function_id, func.max(WarmPoolDecision.id).label("id"))
        .group_by(WarmPoolDecision.function_id)
        .subquery()
    )
    query = select(WarmPoolDecision).join(newest, WarmPoolDecision.id == newest.c.id)
    with Session(engine) as session:
        return {
            r.function_id: PoolDecision(
                r.function_id, r.decided_at, r.pool_size, r.keep_alive_s, r.predicted_concurrency, r.reason
            )
            for r in session.execute(query).scalars()
        }


def latest_placements(engine: Engine, function_id: str | None = None, limit: int = 100) -> list[TierPlacement]:
    """The newest placements first, for one function or all."""
    query = select(Placement).order_by(Placement.decided_at.desc(), Placement.id.desc())
    if function_id is not None:
        query = query.where(Placement.function_id == function_id)
    with Session(engine) as session:
        rows = session.execute(query.limit(limit)).scalars()
        return [TierPlacement(r.function_id, r.decided_at, r.tier, r.previous_tier, r.objective) for r in rows]


def audit_log(engine: Engine, *, since: datetime | None = None, limit: int = 100) -> list[Actuation]:
    """Audit entries, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    with Session(engine) as session:
        rows = session.execute(query.limit(limit)).scalars()
        return [Actuation(r.at, r.actor, r.action, r.target, r.outcome, dict(r.patch), r.detail) for r in rows]
