"""Recommendations with their lifecycle, refreshes, and the cached SKU and price catalog.

Revision ID: 0011
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Stored types, spelled out so that this migration never changes with the application code.
MONEY = sa.BigInteger()  # integer units of 1e-8 (core.kernel.db.types.ExactDecimal)
UTC_TS = sa.DateTime(timezone=True)  # core.kernel.db.types.UTCDateTime
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "recommendation",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("key", sa.String(length=1200), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=1100), nullable=False),
        sa.Column("resource_name", sa.String(length=256), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("resource_group", sa.String(length=128), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=400), nullable=False),
        sa.Column("saving", MONEY, nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("formula", sa.String(length=1000), nullable=True),
        sa.Column("estimate", sa.Boolean(), nullable=False),
        sa.Column("fit_score", MONEY, nullable=True),
        sa.Column("sources", JSON_DOC, nullable=False),
        sa.Column("evidence", JSON_DOC, nullable=False),
        sa.Column("tags", JSON_DOC, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=64), nullable=True),
        sa.Column("first_seen", UTC_TS, nullable=False),
        sa.Column("last_seen", UTC_TS, nullable=False),
        sa.Column("resolved_at", UTC_TS, nullable=True),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_recommendation_status", "recommendation", ["status"])
    op.create_table(
        "recommendation_refresh",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("started_at", UTC_TS, nullable=False),
        sa.Column("finished_at", UTC_TS, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("azure_calls", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_recommendation_refresh_started_at", "recommendation_refresh", ["started_at"]
    )
    op.create_table(
        "recommendation_sku",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("family", sa.String(length=64), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("memory_gb", MONEY, nullable=False),
        sa.Column("max_data_disks", sa.Integer(), nullable=True),
        sa.Column("max_nics", sa.Integer(), nullable=True),
        sa.Column("architecture", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("fetched_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "recommendation_price",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("os", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("hourly", MONEY, nullable=False),
        sa.Column("reservation_1y_total", MONEY, nullable=True),
        sa.Column("reservation_3y_total", MONEY, nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("fetched_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("sku", "region", "os", "currency"),
    )


def downgrade() -> None:
    op.drop_table("recommendation_price")
    op.drop_table("recommendation_sku")
    op.drop_index("ix_recommendation_refresh_started_at", table_name="recommendation_refresh")
    op.drop_table("recommendation_refresh")
    op.drop_index("ix_recommendation_status", table_name="recommendation")
    op.drop_table("recommendation")
