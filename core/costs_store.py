"""Writing one day of cost rows: a diff against what is stored, then a write of the changes only.

Each day is read back by its key prefix, compared in memory, and only new or changed rows are
written; stored rows absent from the re-pulled day are deleted in the same transaction. The counts
(inserted / updated / unchanged / removed) are therefore exact, and a re-ingest of unchanged data
writes nothing at all.

This is the hot path of ingestion (a year of a mid-sized tenant is ~1M rows), so it talks to the
DBAPI driver directly with values already in storage form, instead of going through SQLAlchemy's
per-row bind processing, which cost more than the database work itself (benchmarks/ingest.py):

- SQLite: one `executemany` of `INSERT ... ON CONFLICT DO UPDATE`; the write transaction is
  `BEGIN IMMEDIATE`, so the day read back cannot change before the write.
- PostgreSQL: a transaction-scoped advisory lock on (scope, cost type, day) makes the day read
  back authoritative for concurrent writers of the same day too; new rows are then COPYed straight
  into the table, changed rows COPYed into a temporary staging table and merged with one UPDATE.

Rows are written in key order, so that inserts append to the clustered key (SQLite WITHOUT ROWID)
instead of splitting pages all over the day.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from hashlib import blake2b
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection

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
_REWRITTEN = (*VALUE_COLUMNS, "tags", "updated_at")
_DELETE_CHUNK = 500
#: First half of the PostgreSQL advisory lock key of a cost day ("CoSt"); the second is a hash.
_PG_LOCK_CLASS = 0x436F5374

_dimensions = attrgetter(*DIMENSION_COLUMNS)


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
    return _hash_key(row, sorted(row.tags.items()))


def _hash_key(row: CostRow, tags: list[tuple[str, str]]) -> int:
    text = "\x1f".join(_dimensions(row))
    if tags:
        text += "\x1f" + "\x1f".join(f"{k}={v}" for k, v in tags)
    digest = blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _units(amount: Decimal) -> int:
    """`to_storage_units`, with a fast path for amounts already at Azure's 8 decimals or fewer."""
    scaled = amount.scaleb(8)
    whole = int(scaled)
    return whole if whole == scaled else to_storage_units(amount)


def _optional_units(amount: Decimal | None) -> int | None:
    return None if amount is None else _units(amount)


#: key → [row, cost, cost_usd, quantity, tags as JSON], amounts in storage units
_Incoming = dict[int, list[Any]]


def _incoming_by_key(rows: Iterable[CostRow]) -> _Incoming:
    """The day's rows by key; two rows with one key (same dimensions and tags) add up."""
    incoming: _Incoming = {}
    tags_json: dict[tuple[tuple[str, str], ...], str] = {}  # a day repeats a few tag sets
    for row in rows:
        tags = sorted(row.tags.items())
        key = _hash_key(row, tags)
        cost = _units(row.cost)
        cost_usd = _optional_units(row.cost_usd)
        quantity = _optional_units(row.quantity)
        seen = incoming.get(key)
        if seen is None:
            tag_set = tuple(tags)
            document = tags_json.get(tag_set)
            if document is None:
                document = tags_json[tag_set] = json.dumps(dict(tags))
            incoming[key] = [row, cost, cost_usd, quantity, document]
            continue
        seen[1] += cost
        if cost_usd is not None:
            seen[2] = (seen[2] or 0) + cost_usd
        if quantity is not None:
            seen[3] = (seen[3] or 0) + quantity
    return incoming


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
    incoming = _incoming_by_key(rows)
    store: _Store = (
        _PostgresStore(conn) if conn.dialect.name == "postgresql" else _SqliteStore(conn)
    )
    day = (cost_type, usage_date, scope_id)
    stored = store.read_day(*day)

    inserts: list[int] = []
    updates: list[int] = []
    for key, (row, cost, cost_usd, quantity, _tags) in incoming.items():
        before = stored.get(key)
        if before is None:
            inserts.append(key)
        elif before != (row.subscription_name, cost, cost_usd, quantity):
            updates.append(key)
    vanished = [key for key in stored if key not in incoming]

    if inserts or updates:
        inserts.sort()
        updates.sort()
        store.write(day, incoming, inserts, updates, now)
    if vanished:
        store.delete(day, vanished)
    unchanged = len(incoming) - len(inserts) - len(updates)
    return DayCounts(len(inserts), len(updates), unchanged, len(vanished))


class _Store:
    """One dialect's raw reads and writes of `cost_record`, on the connection's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.db: Any = conn.connection.driver_connection

    def read_day(
        self, cost_type: str, usage_date: date, scope_id: int
    ) -> dict[int, tuple[Any, ...]]:
        raise NotImplementedError

    def write(
        self,
        day: tuple[str, date, int],
        incoming: _Incoming,
        inserts: list[int],
        updates: list[int],
        now: datetime,
    ) -> None:
        raise NotImplementedError

    def delete(self, day: tuple[str, date, int], keys: list[int]) -> None:
        raise NotImplementedError


def _values(day: tuple[Any, Any, int], key: int, entry: list[Any], now: Any) -> tuple[Any, ...]:
    """A row in ALL_COLUMNS order."""
    row, cost, cost_usd, quantity, tags = entry
    return (
        *day,
        key,
        *_dimensions(row),
        row.subscription_name,
        cost,
        cost_usd,
        quantity,
        tags,
        now,
    )


_SQLITE_SELECT_DAY = (
    "SELECT row_key, subscription_name, cost, cost_usd, quantity FROM cost_record "
    "WHERE cost_type = ? AND usage_date = ? AND scope_id = ?"
)
_SQLITE_UPSERT = (
    f"INSERT INTO cost_record ({', '.join(ALL_COLUMNS)}) VALUES ({', '.join('?' * len(ALL_COLUMNS))}) "
    f"ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _REWRITTEN)
)
_SQLITE_DELETE = "DELETE FROM cost_record WHERE cost_type = ? AND usage_date = ? AND scope_id = ? AND row_key = ?"


def _sqlite_timestamp(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (naive UTC), so the ORM reads it back alike."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class _SqliteStore(_Store):
    # Dates and timestamps are stored as SQLAlchemy's SQLite types store them: ISO text.

    def read_day(
        self, cost_type: str, usage_date: date, scope_id: int
    ) -> dict[int, tuple[Any, ...]]:
        cursor = self.db.execute(_SQLITE_SELECT_DAY, (cost_type, usage_date.isoformat(), scope_id))
        return {r[0]: r[1:] for r in cursor}

    def write(
        self,
        day: tuple[str, date, int],
        incoming: _Incoming,
        inserts: list[int],
        updates: list[int],
        now: datetime,
    ) -> None:
        prefix = (day[0], day[1].isoformat(), day[2])
        stamp = _sqlite_timestamp(now)
        rows = [_values(prefix, key, incoming[key], stamp) for key in (*inserts, *updates)]
        self.db.executemany(_SQLITE_UPSERT, rows)

    def delete(self, day: tuple[str, date, int], keys: list[int]) -> None:
        prefix = (day[0], day[1].isoformat(), day[2])
        self.db.executemany(_SQLITE_DELETE, [(*prefix, key) for key in keys])


_PG_STAGE = "cost_record_stage"
_PG_COLUMNS = ", ".join(ALL_COLUMNS)
_PG_UPDATE_FROM_STAGE = (
    "UPDATE cost_record AS c SET "
    + ", ".join(f"{col} = s.{col}" for col in _REWRITTEN)
    + f" FROM {_PG_STAGE} AS s WHERE "
    + " AND ".join(f"c.{col} = s.{col}" for col in KEY_COLUMNS)
)


class _PostgresStore(_Store):
    def read_day(
        self, cost_type: str, usage_date: date, scope_id: int
    ) -> dict[int, tuple[Any, ...]]:
        with self.db.cursor() as cursor:
            # Writers of the same day queue here until the first commits: what is read below
            # stays true until this transaction ends, so new rows can be COPYed without a merge.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                (_PG_LOCK_CLASS, f"{scope_id}/{cost_type}/{usage_date.isoformat()}"),
            )
            cursor.execute(
                "SELECT row_key, subscription_name, cost, cost_usd, quantity FROM cost_record "
                "WHERE cost_type = %s AND usage_date = %s AND scope_id = %s",
                (cost_type, usage_date, scope_id),
            )
            return {r[0]: r[1:] for r in cursor}

    def write(
        self,
        day: tuple[str, date, int],
        incoming: _Incoming,
        inserts: list[int],
        updates: list[int],
        now: datetime,
    ) -> None:
        if inserts:
            self._copy("cost_record", day, incoming, inserts, now)
        if updates:
            with self.db.cursor() as cursor:
                cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {_PG_STAGE} "
                    "(LIKE cost_record INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                )
            self._copy(_PG_STAGE, day, incoming, updates, now)
            with self.db.cursor() as cursor:
                cursor.execute(_PG_UPDATE_FROM_STAGE)

    def _copy(
        self,
        table: str,
        day: tuple[str, date, int],
        incoming: _Incoming,
        keys: list[int],
        now: datetime,
    ) -> None:
        with (
            self.db.cursor() as cursor,
            cursor.copy(f"COPY {table} ({_PG_COLUMNS}) FROM STDIN") as copy,
        ):
            for key in keys:
                copy.write_row(_values(day, key, incoming[key], now))

    def delete(self, day: tuple[str, date, int], keys: list[int]) -> None:
        with self.db.cursor() as cursor:
            for start in range(0, len(keys), _DELETE_CHUNK):
                cursor.execute(
                    "DELETE FROM cost_record WHERE cost_type = %s AND usage_date = %s "
                    "AND scope_id = %s AND row_key = ANY(%s)",
                    (*day, keys[start : start + _DELETE_CHUNK]),
                )
