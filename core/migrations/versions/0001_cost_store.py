"""Cost store: ingested scopes, cost groups (dimensions), daily cost records, ingestion runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Stored types, spelled out so that this migration never changes with the application code.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.BigInteger()  # integer units of 1e-8 (core.kernel.db.types.ExactDecimal)
UTC_TS = sa.DateTime(timezone=True)  # core.kernel.db.types.UTCDateTime
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "cost_scope",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("path"),
    )
    op.create_table(
        "cost_group",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.BigInteger(), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_name", sa.String(length=256), nullable=False),
        sa.Column("resource_group", sa.String(length=128), nullable=False),
        sa.Column("resource_id", sa.String(length=1024), nullable=False),
        sa.Column("service_name", sa.String(length=128), nullable=False),
        sa.Column("meter_category", sa.String(length=128), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("charge_type", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tags", JSON_DOC, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["scope_id"], ["cost_scope.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope_id", "group_key", name="uq_cost_group_scope_key"),
    )
    op.create_table(
        "cost_record",
        sa.Column("cost_type", sa.String(length=16), nullable=False),
        sa.Column("usage_date", sa.Date(), nullable=False),
        sa.Column("scope_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("group_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("cost", MONEY, nullable=False),
        sa.Column("cost_usd", MONEY, nullable=True),
        sa.Column("quantity", MONEY, nullable=True),
        sa.Column("updated_at", UTC_TS, nullable=False),
        # scope_id → cost_scope.id and group_id → cost_group.id are kept true by the store,
        # not by FOREIGN KEY constraints (their per-row checks cost as much as the COPY itself).
        sa.PrimaryKeyConstraint("cost_type", "usage_date", "scope_id", "group_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "ingestion_run",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("cost_type", sa.String(length=16), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("checkpoint_date", sa.Date(), nullable=True),
        sa.Column("days_done", sa.Integer(), nullable=False),
        sa.Column("rows_inserted", sa.Integer(), nullable=False),
        sa.Column("rows_updated", sa.Integer(), nullable=False),
        sa.Column("rows_unchanged", sa.Integer(), nullable=False),
        sa.Column("rows_removed", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC_TS, nullable=False),
        sa.Column("heartbeat_at", UTC_TS, nullable=False),
        sa.Column("finished_at", UTC_TS, nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["scope_id"], ["cost_scope.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_ingestion_run_scope_started",
        "ingestion_run",
        ["scope_id", "cost_type", "started_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_ingestion_run_scope_started", table_name="ingestion_run")
    op.drop_table("ingestion_run")
    op.drop_table("cost_record")
    op.drop_table("cost_group")
    op.drop_table("cost_scope")
