"""Measured ready pods per function-minute beside the invocation count and cold starts.

The collector measures a function-minute's average ready pods (all revisions summed) from Knative's
autoscaler series (`runtime/ingest/prometheus_collector.py`); the api prices the idle ones as wasted warm
memory (`runtime/ingest/counters.py`). NULL means not measured (a client that posts counts only, or no
`kn_revision_pods_count` for the function).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invocations", sa.Column("ready_pods", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invocations") as batch:  # SQLite cannot drop a column in place
        batch.drop_column("ready_pods")
