"""Scheduled channel digests: subscriptions and their runs (one per subscription and slot).

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Stored types, spelled out so that this migration never changes with the application code.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TS = sa.DateTime(timezone=True)  # core.kernel.db.types.UTCDateTime
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "digest_subscription",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_address", sa.String(length=1024), nullable=False),
        sa.Column("scope_key", sa.String(length=512), nullable=False),
        sa.Column("filters", JSON_DOC, nullable=False),
        sa.Column("frequency", sa.String(length=8), nullable=False),
        sa.Column("at_minute", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("weekdays_only", sa.Boolean(), nullable=False),
        sa.Column("paused_until", sa.Date(), nullable=True),
        sa.Column("next_slot", sa.Date(), nullable=False),
        sa.Column("next_run_at", UTC_TS, nullable=False),
        sa.Column("lease_until", UTC_TS, nullable=True),
        sa.Column("lease_token", sa.String(length=64), nullable=True),
        sa.Column("missed_note", sa.String(length=1000), nullable=True),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "target_kind", "target_address", "scope_key", name="uq_digest_subscription_scope"
        ),
    )
    op.create_index("ix_digest_subscription_due", "digest_subscription", ["next_run_at"])
    op.create_table(
        "digest_run",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("subscription_id", BIG_ID, nullable=False),
        sa.Column("slot", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheduled_at", UTC_TS, nullable=False),
        sa.Column("ran_at", UTC_TS, nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("outbox_key", sa.String(length=255), nullable=True),
        sa.Column("build_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscription_id", "slot", name="uq_digest_run_slot"),
    )


def downgrade() -> None:
    op.drop_table("digest_run")
    op.drop_index("ix_digest_subscription_due", table_name="digest_subscription")
    op.drop_table("digest_subscription")
