"""Job runs: one claimed row per scheduled job slot, across replicas.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_run",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("slot", UTC_TS, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("started_at", UTC_TS, nullable=False),
        sa.Column("finished_at", UTC_TS, nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("job", "slot"),
    )
    op.create_index("ix_job_run_started_at", "job_run", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_job_run_started_at", table_name="job_run")
    op.drop_table("job_run")
