"""The audit trail (append-only, enforced by triggers) and recommendation decisions.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Stored types, spelled out so that this migration never changes with the application code.
MONEY = sa.BigInteger()  # integer units of 1e-8 (core.kernel.db.types.ExactDecimal)
UTC_TS = sa.DateTime(timezone=True)  # core.kernel.db.types.UTCDateTime
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
)
_POSTGRES_TRIGGERS = (
    """CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$""",
    """CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
       FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
       FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""",
)


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("principal", sa.String(length=300), nullable=False),
        sa.Column("user_name", sa.String(length=256), nullable=False),
        sa.Column("workspace_id", sa.String(length=128), nullable=False),
        sa.Column("channel_id", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("previous_state", sa.String(length=32), nullable=True),
        sa.Column("new_state", sa.String(length=32), nullable=True),
        sa.Column("rec_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", JSON_DOC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at"])
    op.create_index("ix_audit_event_subject", "audit_event", ["subject"])
    op.create_index("ix_audit_event_principal", "audit_event", ["principal"])
    triggers = _SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else _POSTGRES_TRIGGERS
    for statement in triggers:
        op.execute(statement)
    op.create_table(
        "recommendation_decision",
        sa.Column("rec_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decided_at", UTC_TS, nullable=True),
        sa.Column("decided_by", sa.String(length=300), nullable=True),
        sa.Column("decided_by_name", sa.String(length=256), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("snoozed_until", UTC_TS, nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=300), nullable=True),
        sa.Column("requested_by_name", sa.String(length=256), nullable=True),
        sa.Column("requested_at", UTC_TS, nullable=True),
        sa.Column("approved_at", UTC_TS, nullable=True),
        sa.Column("implemented_at", UTC_TS, nullable=True),
        sa.Column("implemented_how", sa.String(length=32), nullable=True),
        sa.Column("expected_monthly", MONEY, nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("baseline_daily", MONEY, nullable=True),
        sa.Column("realized_monthly", MONEY, nullable=True),
        sa.Column("realized_through", sa.Date(), nullable=True),
        sa.Column("advisor_synced_version", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("rec_id"),
    )
    op.create_index("ix_recommendation_decision_state", "recommendation_decision", ["state"])


def downgrade() -> None:
    op.drop_index("ix_recommendation_decision_state", table_name="recommendation_decision")
    op.drop_table("recommendation_decision")
    op.drop_index("ix_audit_event_principal", table_name="audit_event")
    op.drop_index("ix_audit_event_subject", table_name="audit_event")
    op.drop_index("ix_audit_event_at", table_name="audit_event")
    op.drop_table("audit_event")
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
