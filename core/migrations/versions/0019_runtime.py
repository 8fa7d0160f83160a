"""Runtime: rate-limit buckets, scheduler slot leases, the replica running an ingestion.

Revision ID: 0019
Revises: 0011
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)  # core.kernel.db.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "rate_bucket",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("tokens", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_rate_bucket_updated_at", "rate_bucket", ["updated_at"])
    with op.batch_alter_table("job_run") as batch:
        batch.add_column(sa.Column("lease_until", UTC_TS, nullable=True))
    # Slots running before leases existed are taken for dead once their takeover is due.
    op.execute("UPDATE job_run SET lease_until = started_at WHERE status = 'running'")
    with op.batch_alter_table("ingestion_run") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingestion_run") as batch:
        batch.drop_column("owner")
    with op.batch_alter_table("job_run") as batch:
        batch.drop_column("lease_until")
    op.drop_index("ix_rate_bucket_updated_at", table_name="rate_bucket")
    op.drop_table("rate_bucket")
