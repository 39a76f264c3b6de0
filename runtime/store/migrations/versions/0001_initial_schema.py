"""Initial schema: functions, invocations, durations, predictions, model registry, decisions, placements, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
TIER = sa.Enum("edge", "regional", "cloud", name="tier", native_enum=False, length=16)
OUTCOME = sa.Enum("applied", "dry_run", "skipped", "failed", name="audit_outcome", native_enum=False, length=16)


def _function_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["function_id"], ["functions.id"], name=f"fk_{table}_function_id_functions", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "functions",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("trigger", sa.String(64), nullable=True),
        sa.Column("memory_mb", sa.Float(), nullable=True),
        sa.Column("tier", TIER, nullable=True),
        sa.Column("created_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_functions"),
    )
    op.create_table(
        "invocations",
        sa.Column("function_id", sa.String(255), nullable=False),
        sa.Column("minute", TIME, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("duration_ms_avg", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("function_id", "minute", "source", name="pk_invocations"),
    )
    op.create_index("idx_invocation_function_time", "invocations", ["function_id", sa.text("minute DESC")])
    op.create_table(
        "durations",
        sa.Column("function_id", sa.String(255), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("average_ms", sa.Float(), nullable=False),
        sa.Column("percentiles_ms", JSON, nullable=False),
        sa.Column("updated_at", TIME, server_default=sa.func.now(), nullable=False),
        _function_fk("durations"),
        sa.PrimaryKeyConstraint("function_id", "source", name="pk_durations"),
    )
    op.create_table(
        "invocation_predictions",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("function_id", sa.String(255), nullable=False),
        sa.Column("window_start", TIME, nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("concurrency", JSON, nullable=True),
        sa.Column("created_at", TIME, server_default=sa.func.now(), nullable=False),
        _function_fk("invocation_predictions"),
        sa.PrimaryKeyConstraint("id", name="pk_invocation_predictions"),
        sa.UniqueConstraint(
            "function_id", "window_start", "model_version", name="uq_prediction_function_window_model"
        ),
    )
    op.create_index("idx_prediction_function_window", "invocation_predictions", ["function_id", "window_start"])
    op.create_table(
        "model_registry",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", TIME, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_registry"),
        sa.UniqueConstraint("name", "version", name="uq_model_registry_name_version"),
    )
    op.create_table(
        "warm_pool_decisions",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("function_id", sa.String(255), nullable=False),
        sa.Column("decided_at", TIME, nullable=False),
        sa.Column("pool_size", sa.Integer(), nullable=False),
        sa.Column("keep_alive_s", sa.Integer(), nullable=False),
        sa.Column("predicted_concurrency", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _function_fk("warm_pool_decisions"),
        sa.PrimaryKeyConstraint("id", name="pk_warm_pool_decisions"),
    )
    op.create_index("idx_decision_function_time", "warm_pool_decisions", ["function_id", "decided_at"])
    op.create_table(
        "placements",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("function_id", sa.String(255), nullable=False),
        sa.Column("decided_at", TIME, nullable=False),
        sa.Column("tier", TIER, nullable=False),
        sa.Column("previous_tier", TIER, nullable=True),
        sa.Column("objective", sa.Float(), nullable=True),
        _function_fk("placements"),
        sa.PrimaryKeyConstraint("id", name="pk_placements"),
    )
    op.create_index("idx_placement_function_time", "placements", ["function_id", "decided_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("patch", JSON, nullable=False),
        sa.Column("outcome", OUTCOME, nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("idx_audit_time", "audit_log", ["at"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "placements",
        "warm_pool_decisions",
        "model_registry",
        "invocation_predictions",
        "durations",
        "invocations",
        "functions",
    ):
        op.drop_table(table)  # drops the table's indexes with it
