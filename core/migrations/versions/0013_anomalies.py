"""Cost anomalies: incidents, feedback, routes; outbox messages that update an earlier message.

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Stored types, spelled out so that this migration never changes with the application code.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.BigInteger()  # integer units of 1e-8 (core.kernel.db.types.ExactDecimal)
UTC_TS = sa.DateTime(timezone=True)  # core.kernel.db.types.UTCDateTime
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "anomaly_incident",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("series_key", sa.String(length=32), nullable=False),
        sa.Column("cost_type", sa.String(length=16), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_name", sa.String(length=256), nullable=False),
        sa.Column("service_name", sa.String(length=128), nullable=False),
        sa.Column("resource_group", sa.String(length=128), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("impact", MONEY, nullable=False),
        sa.Column("actual", MONEY, nullable=False),
        sa.Column("expected", MONEY, nullable=False),
        sa.Column("low", MONEY, nullable=False),
        sa.Column("high", MONEY, nullable=False),
        sa.Column("peak_score", sa.Float(), nullable=False),
        sa.Column("peak_deviation", MONEY, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=300), nullable=True),
        sa.Column("acknowledged_name", sa.String(length=256), nullable=True),
        sa.Column("acknowledged_at", UTC_TS, nullable=True),
        sa.Column("card", JSON_DOC, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "series_key", "cost_type", "first_day", name="uq_anomaly_incident_claim"
        ),
    )
    op.create_index(
        "ix_anomaly_incident_last_day", "anomaly_incident", ["cost_type", "last_day"]
    )
    op.create_table(
        "anomaly_feedback",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("incident_id", BIG_ID, nullable=False),
        sa.Column("series_key", sa.String(length=32), nullable=False),
        sa.Column("cost_type", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("principal", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("floor", MONEY, nullable=True),
        sa.Column("from_day", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["anomaly_incident.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_anomaly_feedback_series", "anomaly_feedback", ["series_key", "cost_type"]
    )
    op.create_table(
        "anomaly_route",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_address", sa.String(length=1024), nullable=False),
        sa.Column("subscription", sa.String(length=256), nullable=False),
        sa.Column("resource_group", sa.String(length=128), nullable=False),
        sa.Column("service", sa.String(length=128), nullable=False),
        sa.Column("min_impact", MONEY, nullable=True),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "target_kind",
            "target_address",
            "subscription",
            "resource_group",
            "service",
            name="uq_anomaly_route",
        ),
    )
    # An outbox message may update the message another one (by its key) produced.
    op.add_column(
        "outbox_message", sa.Column("updates_key", sa.String(length=255), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("outbox_message", "updates_key")
    op.drop_table("anomaly_route")
    op.drop_index("ix_anomaly_feedback_series", table_name="anomaly_feedback")
    op.drop_table("anomaly_feedback")
    op.drop_index("ix_anomaly_incident_last_day", table_name="anomaly_incident")
    op.drop_table("anomaly_incident")
