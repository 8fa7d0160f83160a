"""Cost forecasts fetched from a provider (Azure Cost Management's Forecast API).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Stored types, spelled out so that this migration never changes with the application code.
MONEY = sa.BigInteger()  # integer units of 1e-8 (core.kernel.db.types.ExactDecimal)
UTC_TS = sa.DateTime(timezone=True)  # core.kernel.db.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "cost_forecast",
        sa.Column("scope_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cost_type", sa.String(length=16), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("fetched_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["scope_id"], ["cost_scope.id"]),
        sa.PrimaryKeyConstraint("scope_id", "cost_type", "period_end"),
    )


def downgrade() -> None:
    op.drop_table("cost_forecast")
