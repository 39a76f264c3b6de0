"""The relational schema: every table the runtime services persist, declared once for ORM and Alembic."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from runtime.contract import Tier

# Stable constraint names keep Alembic migrations reproducible across PostgreSQL and SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonDocument = JSON().with_variant(JSONB(), "postgresql")
# SQLite's INTEGER is 64-bit only as the rowid alias "INTEGER PRIMARY KEY"; BIGINT would not autoincrement.
SurrogateKey = BigInteger().with_variant(Integer(), "sqlite")


def _stored_by_value(enum: type[StrEnum], name: str) -> Enum:
    # Store "edge", not the member name "EDGE": the value is what operators and other tools read.
    return Enum(enum, name=name, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


def to_utc(value: datetime) -> datetime:
    """`value` in UTC; naive datetimes are refused because their meaning depends on the server's zone."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} given; timestamps must carry a timezone")
    return value.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive text, so re-attach UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = to_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AuditOutcome(StrEnum):
    """What became of one actuation."""

    APPLIED = "applied"
    DRY_RUN = "dry_run"
    SKIPPED = "skipped"
    FAILED = "failed"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Function(Base):
    """A deployed (or imported) serverless function."""

    __tablename__ = "functions"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    trigger: Mapped[str | None] = mapped_column(String(64))
    memory_mb: Mapped[float | None] = mapped_column(Float)
    tier: Mapped[Tier | None] = mapped_column(_stored_by_value(Tier, "tier"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class Invocation(Base):
    """Invocations of one function in one minute as reported by one source (idempotent on all three)."""

    __tablename__ = "invocations"
    __table_args__ = (
        PrimaryKeyConstraint("function_id", "minute", "source"),
    )

    # No foreign key on this, the high-volume table: its per-row check halved ingest throughput.
    # `record_invocations` registers unknown functions in the same transaction instead.
    function_id: Mapped[str] = mapped_column(String(255))
    minute: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(BigInteger)
    duration_ms_avg: Mapped[float | None] = mapped_column(Float)
    # Measured cold starts (0 or 1 a minute, runtime/ingest/prometheus_collector.py); NULL: not measured.
    cold_starts: Mapped[int | None] = mapped_column(Integer)
    # Measured ready pods, the minute's average over all revisions (the collector's); NULL: not measured.
    ready_pods: Mapped[float | None] = mapped_column(Float)


# The guide's index: a function's most recent minutes first.
Index("idx_invocation_function_time", Invocation.function_id, Invocation.minute.desc())
Index("idx_invocation_minute", Invocation.minute)  # newest minute, and windows across all functions


class Duration(Base):
    """A function's execution-time distribution (the trace's Average and percentiles, in ms)."""

    __tablename__ = "durations"
    __table_args__ = (PrimaryKeyConstraint("function_id", "source"),)

    function_id: Mapped[str] = mapped_column(String(255), ForeignKey("functions.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(64))
    average_ms: Mapped[float] = mapped_column(Float)
    percentiles_ms: Mapped[dict[str, float]] = mapped_column(JsonDocument, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class Prediction(Base):
    """One forecast: per-minute invocation counts for a window starting at `window_start`."""

    __tablename__ = "invocation_predictions"
    __table_args__ = (
        # The guide's index: a function's forecasts by window.
        Index("idx_prediction_function_window", "function_id", "window_start"),
        Index("idx_prediction_window", "window_start"),  # the retention prune's oldest window (Alembic 0006)
        UniqueConstraint("function_id", "window_start", "model_version", name="uq_prediction_function_window_model"),
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    function_id: Mapped[str] = mapped_column(String(255), ForeignKey("functions.id", ondelete="CASCADE"))
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    model_version: Mapped[str] = mapped_column(String(64))
    counts: Mapped[list[float]] = mapped_column(JsonDocument)
    concurrency: Mapped[list[float] | None] = mapped_column(JsonDocument)
    # Expected counts where they differ from the point forecast `counts` (Alembic 0004; see Forecast.means).
    expected: Mapped[list[float] | None] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class ModelVersion(Base):
    """A trained forecaster in the registry: its parameters, evaluation metrics and serialised weights."""

    __tablename__ = "model_registry"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    metrics: Mapped[dict[str, float]] = mapped_column(JsonDocument, default=dict)
    blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class WarmPoolDecision(Base):
    """What the warming controller decided for a function at one pass."""

    __tablename__ = "warm_pool_decisions"
    __table_args__ = (Index("idx_decision_function_time", "function_id", "decided_at"),)

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    function_id: Mapped[str] = mapped_column(String(255), ForeignKey("functions.id", ondelete="CASCADE"))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)
    pool_size: Mapped[int] = mapped_column(Integer)
    keep_alive_s: Mapped[int] = mapped_column(Integer)
    predicted_concurrency: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")


class Placement(Base):
    """A tier assignment chosen by the placement optimizer."""

    __tablename__ = "placements"
    __table_args__ = (Index("idx_placement_function_time", "function_id", "decided_at"),)

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    function_id: Mapped[str] = mapped_column(String(255), ForeignKey("functions.id", ondelete="CASCADE"))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)
    tier: Mapped[Tier] = mapped_column(_stored_by_value(Tier, "tier"))
    previous_tier: Mapped[Tier | None] = mapped_column(_stored_by_value(Tier, "tier"))
    objective: Mapped[float | None] = mapped_column(Float)


class AuditEntry(Base):
    """One actuation against the cluster (applied, dry-run, skipped or failed), never updated."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("idx_audit_time", "at"),)

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255))
    patch: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    outcome: Mapped[AuditOutcome] = mapped_column(_stored_by_value(AuditOutcome, "audit_outcome"))
    detail: Mapped[str] = mapped_column(Text, default="")
