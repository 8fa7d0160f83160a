"""Daily cost rollup without the resource and the tags (`cost_rollup`), filled from the stored
days: rollup groups (resource '' and no tags) are added to `cost_group` where missing, then
every stored day is summed into the rollup. Export runs imported from storage (`export_run`).

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-04
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from hashlib import blake2b

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.BigInteger()  # integer units of 1e-8 (core.kernel.db.types.ExactDecimal)
UTC_TS = sa.DateTime(timezone=True)  # core.kernel.db.types.UTCDateTime

#: As `core.costs.store` hashes a group (spelled out: this migration never changes with it).
DIMENSIONS = (
    "subscription_id",
    "resource_group",
    "resource_id",
    "service_name",
    "meter_category",
    "location",
    "charge_type",
    "currency",
)


def _key(dimensions: tuple[str, ...]) -> int:
    digest = blake2b("\x1f".join(dimensions).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def upgrade() -> None:
    op.create_table(
        "cost_rollup",
        sa.Column("cost_type", sa.String(length=16), nullable=False),
        sa.Column("usage_date", sa.Date(), nullable=False),
        sa.Column("scope_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("group_id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("cost", MONEY, nullable=False),
        sa.Column("cost_usd", MONEY, nullable=True),
        sa.Column("quantity", MONEY, nullable=True),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("cost_type", "usage_date", "scope_id", "group_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "export_run",
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC_TS, nullable=False),
        sa.Column("finished_at", UTC_TS, nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    _backfill()


def _backfill() -> None:
    conn = op.get_bind()
    groups = conn.execute(
        sa.text(
            "SELECT id, scope_id, subscription_name, "
            + ", ".join(DIMENSIONS)
            + " FROM cost_group ORDER BY id"
        )
    ).all()
    if not groups:
        return
    now = datetime.now(UTC)
    if conn.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # type: ignore[assignment]
    wanted: dict[tuple[int, int], tuple] = {}
    rollup_of: dict[int, tuple[int, int]] = {}
    for g in groups:
        dims = tuple(getattr(g, name) for name in DIMENSIONS)
        dims = (*dims[:2], "", *dims[3:])
        key = (g.scope_id, _key(dims))
        wanted.setdefault(key, (g.scope_id, key[1], *dims, g.subscription_name))
        rollup_of[g.id] = key
    existing = {
        (r.scope_id, r.group_key): r.id
        for r in conn.execute(sa.text("SELECT id, scope_id, group_key FROM cost_group"))
    }
    insert = sa.text(
        "INSERT INTO cost_group (scope_id, group_key, "
        + ", ".join(DIMENSIONS)
        + ", subscription_name, tags, revision, created_at, updated_at) VALUES (:scope_id, "
        ":group_key, " + ", ".join(f":{d}" for d in DIMENSIONS) + ", :subscription_name, "
        ":tags, 1, :now, :now)"
    )
    for key, values in wanted.items():
        if key not in existing:
            params = dict(zip(("scope_id", "group_key", *DIMENSIONS, "subscription_name"), values))
            conn.execute(insert, {**params, "tags": json.dumps({}), "now": now})
    ids = {
        (r.scope_id, r.group_key): r.id
        for r in conn.execute(sa.text("SELECT id, scope_id, group_key FROM cost_group"))
    }
    conn.execute(sa.text("CREATE TEMPORARY TABLE rollup_map (group_id BIGINT, rollup_id BIGINT)"))
    rows = [{"g": group_id, "r": ids[key]} for group_id, key in rollup_of.items()]
    for start in range(0, len(rows), 5000):
        conn.execute(sa.text("INSERT INTO rollup_map VALUES (:g, :r)"), rows[start : start + 5000])
    conn.execute(
        sa.text(
            "INSERT INTO cost_rollup (cost_type, usage_date, scope_id, group_id, cost, cost_usd, "
            "quantity, updated_at) SELECT r.cost_type, r.usage_date, r.scope_id, m.rollup_id, "
            "SUM(r.cost), SUM(r.cost_usd), SUM(r.quantity), MAX(r.updated_at) "
            "FROM cost_record AS r JOIN rollup_map AS m ON m.group_id = r.group_id "
            "GROUP BY r.cost_type, r.usage_date, r.scope_id, m.rollup_id"
        )
    )
    conn.execute(sa.text("DROP TABLE rollup_map"))


def downgrade() -> None:
    op.drop_table("export_run")
    op.drop_table("cost_rollup")
