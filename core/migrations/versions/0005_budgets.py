"""Budgets, thresholds, notification targets, alerts (claimed once) and acknowledgements.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Stored types, spelled out so that this migration never changes with the application code.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.BigInteger()  # integer units of 1e-8 (core.kernel.db.types.ExactDecimal)
UTC_TS = sa.DateTime(timezone=True)  # core.kernel.db.types.UTCDateTime
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "budget",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("name_key", sa.String(length=64), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("cost_type", sa.String(length=16), nullable=False),
        sa.Column("filter_scope", sa.String(length=400), nullable=False),
        sa.Column("filter_subscription", sa.String(length=256), nullable=False),
        sa.Column("filter_resource_group", sa.String(length=128), nullable=False),
        sa.Column("filter_service", sa.String(length=128), nullable=False),
        sa.Column("filter_location", sa.String(length=64), nullable=False),
        sa.Column("filter_meter", sa.String(length=128), nullable=False),
        sa.Column("filter_tags", JSON_DOC, nullable=False),
        sa.Column("owner_principal", sa.String(length=300), nullable=False),
        sa.Column("owner_name", sa.String(length=256), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_key"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "budget_threshold",
        sa.Column("budget_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("percent", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["budget_id"], ["budget.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("budget_id", "percent", "kind"),
    )
    op.create_table(
        "budget_target",
        sa.Column("budget_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(["budget_id"], ["budget.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("budget_id", "kind", "address"),
    )
    op.create_table(
        "alert",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("budget_id", BIG_ID, nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("spent", MONEY, nullable=False),
        sa.Column("forecast", MONEY, nullable=True),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.Column("card", JSON_DOC, nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["budget_id"], ["budget.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "budget_id", "period_start", "threshold", "kind", name="uq_alert_claim"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alert_period_start", "alert", ["period_start"])
    op.create_index("ix_alert_created_at", "alert", ["created_at"])
    op.create_table(
        "alert_ack",
        sa.Column("alert_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("principal", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("acknowledged_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("alert_id"),
    )


def downgrade() -> None:
    op.drop_table("alert_ack")
    op.drop_index("ix_alert_created_at", table_name="alert")
    op.drop_index("ix_alert_period_start", table_name="alert")
    op.drop_table("alert")
    op.drop_table("budget_target")
    op.drop_table("budget_threshold")
    op.drop_table("budget")
