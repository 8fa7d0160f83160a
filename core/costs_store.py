"""Writing one day of cost rows: a diff against what is stored, then an upsert of the changes.

Each day is read back by its key prefix, compared in memory, and only new or changed rows are
written, with the dialect's `INSERT ... ON CONFLICT DO UPDATE` (PostgreSQL: COPY into a staging
table first, then one merge). Stored rows absent from the re-pulled day are deleted in the same
transaction. The counts (inserted / updated / unchanged / removed) are therefore exact, and a
re-ingest of unchanged data writes nothing at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from hashlib import blake2b
from typing import Any

from sqlalchemy import BigInteger, Connection, select, type_coerce
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.models import CostRecord
from core.money import to_storage_units
from core.ports import CostRow

COST_TABLE = CostRecord.__table__  # type: ignore[attr-defined]
KEY_COLUMNS = ("cost_type", "usage_date", "scope_id", "row_key")
#: Attributes that may be restated for an unchanged key; a difference means "updated".
VALUE_COLUMNS = ("subscription_name", "cost", "cost_usd", "quantity")
DIMENSION_COLUMNS = (
    "subscription_id",
    "resource_group",
    "resource_id",
    "service_name",
    "meter_category",
    "location",
    "charge_type",
    "currency",
)
ALL_COLUMNS = (*KEY_COLUMNS, *DIMENSION_COLUMNS, *VALUE_COLUMNS, "tags", "updated_at")
_WRITE_CHUNK = 5_000  # well under SQLite's and psycopg's parameter limits per statement
_DELETE_CHUNK = 500


@dataclass(frozen=True, slots=True)
class DayCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def __add__(self, other: DayCounts) -> DayCounts:
        return DayCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.removed + other.removed,
        )

    @property
    def rows_seen(self) -> int:
        return self.inserted + self.updated + self.unchanged


def row_key(row: CostRow) -> int:
    """64-bit hash of the row's dimensions and tags: the last part of the natural key.

    Collisions need ~4 billion rows in one (cost type, day, scope) partition to become likely.
    """
    parts = [getattr(row, name) for name in DIMENSION_COLUMNS]
    parts.extend(f"{k}={v}" for k, v in sorted(row.tags.items()))
    digest = blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _units(value: Decimal | None) -> int | None:
    return None if value is None else to_storage_units(value)


@dataclass(slots=True)
class _Pending:
    """A row ready to store: values already in storage form (integer money units)."""

    row: CostRow
    cost: int
    cost_usd: int | None
    quantity: int | None

    def merge(self, other: CostRow) -> None:
        """Two rows with one key in one day (same dimensions and tags): their amounts add up."""
        self.cost += to_storage_units(other.cost)
        if other.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0) + to_storage_units(other.cost_usd)
        if other.quantity is not None:
            self.quantity = (self.quantity or 0) + to_storage_units(other.quantity)

    def values(self) -> tuple[str, int, int | None, int | None]:
        return (self.row.subscription_name, self.cost, self.cost_usd, self.quantity)


def _pending_by_key(rows: Iterable[CostRow]) -> dict[int, _Pending]:
    pending: dict[int, _Pending] = {}
    for row in rows:
        key = row_key(row)
        if key in pending:
            pending[key].merge(row)
        else:
            pending[key] = _Pending(
                row, to_storage_units(row.cost), _units(row.cost_usd), _units(row.quantity)
            )
    return pending


def _stored_values(
    conn: Connection, cost_type: str, usage_date: date, scope_id: int
) -> dict[int, tuple[Any, ...]]:
    """What is stored for the day, money still in integer units (no Decimal round trip)."""
    t = COST_TABLE.c
    query = select(
        t.row_key,
        t.subscription_name,
        type_coerce(t.cost, BigInteger),
        type_coerce(t.cost_usd, BigInteger),
        type_coerce(t.quantity, BigInteger),
    ).where(t.cost_type == cost_type, t.usage_date == usage_date, t.scope_id == scope_id)
    return {r[0]: tuple(r[1:]) for r in conn.execute(query)}


def write_day(
    conn: Connection,
    *,
    scope_id: int,
    cost_type: str,
    usage_date: date,
    rows: Sequence[CostRow],
    now: datetime,
) -> DayCounts:
    """Make the stored day equal to `rows`; call inside one write transaction."""
    incoming = _pending_by_key(rows)
    stored = _stored_values(conn, cost_type, usage_date, scope_id)

    to_write: list[tuple[int, _Pending]] = []
    inserted = updated = 0
    for key, pending in incoming.items():
        before = stored.get(key)
        if before is None:
            inserted += 1
            to_write.append((key, pending))
        elif before != pending.values():
            updated += 1
            to_write.append((key, pending))
    vanished = [key for key in stored if key not in incoming]

    if to_write:
        records = [
            _record(scope_id, cost_type, usage_date, key, pending, now) for key, pending in to_write
        ]
        _upsert(conn, records)
    for start in range(0, len(vanished), _DELETE_CHUNK):
        chunk = vanished[start : start + _DELETE_CHUNK]
        t = COST_TABLE.c
        conn.execute(
            COST_TABLE.delete().where(
                t.cost_type == cost_type,
                t.usage_date == usage_date,
                t.scope_id == scope_id,
                t.row_key.in_(chunk),
            )
        )
    unchanged = len(incoming) - inserted - updated
    return DayCounts(inserted, updated, unchanged, len(vanished))


def _record(
    scope_id: int, cost_type: str, usage_date: date, key: int, p: _Pending, now: datetime
) -> dict[str, Any]:
    row = p.row
    return {
        "cost_type": cost_type,
        "usage_date": usage_date,
        "scope_id": scope_id,
        "row_key": key,
        "subscription_id": row.subscription_id,
        "resource_group": row.resource_group,
        "resource_id": row.resource_id,
        "service_name": row.service_name,
        "meter_category": row.meter_category,
        "location": row.location,
        "charge_type": row.charge_type,
        "currency": row.currency,
        "subscription_name": row.subscription_name,
        "cost": p.cost,
        "cost_usd": p.cost_usd,
        "quantity": p.quantity,
        "tags": dict(row.tags),
        "updated_at": now,
    }


def _upsert(conn: Connection, records: list[dict[str, Any]]) -> None:
    if conn.dialect.name == "postgresql":
        _copy_merge_postgres(conn, records)
        return
    stmt = sqlite_insert(COST_TABLE)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={name: stmt.excluded[name] for name in (*VALUE_COLUMNS, "tags", "updated_at")},
    )
    for start in range(0, len(records), _WRITE_CHUNK):
        conn.execute(stmt, records[start : start + _WRITE_CHUNK])


_STAGE = "cost_record_stage"


def _copy_merge_postgres(conn: Connection, records: list[dict[str, Any]]) -> None:
    """COPY the rows into a session-local staging table, then merge them in one statement.

    Measured faster than a multi-row `INSERT ... ON CONFLICT` on PostgreSQL (DESIGN.md). Called
    once per transaction; the staging rows vanish at commit.
    """
    columns = ", ".join(ALL_COLUMNS)
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} "
        f"(LIKE cost_record INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {_STAGE} ({columns}) FROM STDIN") as copy:
        for r in records:
            copy.write_row(
                [json.dumps(r["tags"]) if name == "tags" else r[name] for name in ALL_COLUMNS]
            )
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in (*VALUE_COLUMNS, "tags", "updated_at"))
    conn.exec_driver_sql(
        f"INSERT INTO cost_record ({columns}) SELECT {columns} FROM {_STAGE} "
        f"ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET {updates}"
    )
