"""Forecasts store the expected counts beside the point forecast.

`counts` is the forecaster's point forecast (the default ensemble's minimises absolute error, so it
can be 0 for a function invoked in under half of its minutes); `expected` holds the expected counts
(means) that warming reads as Poisson means. NULL where the point forecast is itself the mean
(`runtime.store.forecasts.Forecast.means`), which includes every row written before this revision.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.add_column("invocation_predictions", sa.Column("expected", json, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invocation_predictions") as batch:  # SQLite cannot drop a column in place
        batch.drop_column("expected")
