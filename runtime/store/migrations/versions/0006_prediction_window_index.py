"""Index forecasts by window: the retention prune's oldest stored forecast.

The retention prune (`runtime/store/retention.py`) asks for the oldest forecast's window every hour;
the only index on it led with the function, so that was a scan of the whole table (101 ms at 450,000
rows, and the table holds a week of a forecast per function and refreshed minute).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("idx_prediction_window", "invocation_predictions", ["window_start"])


def downgrade() -> None:
    op.drop_index("idx_prediction_window", table_name="invocation_predictions")
