"""Index invocations by minute: the newest stored minute and time-window reads across all functions.

The predictor reads every function's minutes in a time window, and the warming service's predictive
gate asks for the newest stored minute every pass; without this index both scan the whole table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("idx_invocation_minute", "invocations", ["minute"])


def downgrade() -> None:
    op.drop_index("idx_invocation_minute", table_name="invocations")
