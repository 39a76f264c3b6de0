"""Measured cold starts per function-minute beside the invocation count.

The collector measures a function-minute's cold start from Knative's autoscaler series
(`runtime/ingest/prometheus_collector.py`); NULL means the minute's cold start was not measured
(a client that posts counts only, or no `kn_revision_pods_count` for the function).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invocations", sa.Column("cold_starts", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invocations") as batch:  # SQLite cannot drop a column in place
        batch.drop_column("cold_starts")
