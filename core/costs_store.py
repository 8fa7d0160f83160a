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
from functools import lru_cache
from hashlib import blake2b
from operator import attrgetter, itemgetter
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
    return _hash_key(_dimensions(row), sorted(row.tags.items()))


def _hash_key(dimensions: tuple[str, ...], tags: list[tuple[str, str]]) -> int:
    text = "\x1f".join(dimensions)
    if tags:
        text += "\x1f" + "\x1f".join(map("=".join, tags))
    digest = blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _units(amount: Decimal) -> int:
    """`to_storage_units`, with a fast path for amounts already at Azure's 8 decimals or fewer."""
    scaled = amount.scaleb(8)
    whole = int(scaled)
    return whole if whole == scaled else to_storage_units(amount)


def _add(a: int | None, b: int | None) -> int | None:
    return a if b is None else b if a is None else a + b


#: Positions in a stored row (ALL_COLUMNS order).
_KEY = 3
_VALUES = slice(12, 16)
_COST, _COST_USD, _QUANTITY = 13, 14, 15


@lru_cache(maxsize=16_384)
def _group(dimensions: tuple[str, ...], tags: tuple[tuple[str, str], ...]) -> tuple[int, str]:
    """(row key, tags as JSON) of a group: the same groups come back every day, so memoized."""
    ordered = sorted(tags)
    return _hash_key(dimensions, ordered), json.dumps(dict(ordered))


def _rows_by_key(
    rows: Iterable[CostRow], day: tuple[Any, ...], now: Any
) -> dict[int, tuple[Any, ...]]:
    """The day's rows as stored rows (ALL_COLUMNS order) by key; rows with one key add up.

    `day` is (cost type, usage date, scope id) and `now` the update time, both already in the
    form the driver takes. Each row is built once, here, in its final form.
    """
    out: dict[int, tuple[Any, ...]] = {}
    for row in rows:
        dimensions = _dimensions(row)
        key, document = _group(dimensions, tuple(row.tags.items()))
        cost_usd, quantity = row.cost_usd, row.quantity
        stored = (
            *day,
            key,
            *dimensions,
            row.subscription_name,
            _units(row.cost),
            None if cost_usd is None else _units(cost_usd),
            None if quantity is None else _units(quantity),
            document,
            now,
        )
        seen = out.get(key)
        if seen is not None:  # the same group twice in one day: amounts add up
            stored = (
                *stored[:_COST],
                seen[_COST] + stored[_COST],
                _add(seen[_COST_USD], stored[_COST_USD]),
                _add(seen[_QUANTITY], stored[_QUANTITY]),
                *stored[_QUANTITY + 1 :],
            )
        out[key] = stored
    return out


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
    store: _Store = (
        _PostgresStore(conn) if conn.dialect.name == "postgresql" else _SqliteStore(conn)
    )
    day = store.day(cost_type, usage_date, scope_id)
    incoming = _rows_by_key(rows, day, store.timestamp(now))
    stored = store.read_day(day)

    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for key, row in incoming.items():
        before = stored.get(key)
        if before is None:
            inserts.append(row)
        elif before != row[_VALUES]:
            updates.append(row)
    vanished = [key for key in stored if key not in incoming]

    if inserts or updates:
        # Key order: inserts append to the clustered key instead of splitting pages.
        inserts.sort(key=itemgetter(_KEY))
        updates.sort(key=itemgetter(_KEY))
        store.write(inserts, updates)
    if vanished:
        store.delete(day, vanished)
    unchanged = len(incoming) - len(inserts) - len(updates)
    return DayCounts(len(inserts), len(updates), unchanged, len(vanished))


class _Store:
    """One dialect's raw reads and writes of `cost_record`, on the connection's transaction."""

    def __init__(self, conn: Connection) -> None:
        self.db: Any = conn.connection.driver_connection

    def day(self, cost_type: str, usage_date: date, scope_id: int) -> tuple[Any, ...]:
        return (cost_type, usage_date, scope_id)

    def timestamp(self, now: datetime) -> Any:
        return now

    def read_day(self, day: tuple[Any, ...]) -> dict[int, tuple[Any, ...]]:
        """key → (subscription name, cost, cost USD, quantity) of the stored day."""
        raise NotImplementedError

    def write(self, inserts: list[tuple[Any, ...]], updates: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    def delete(self, day: tuple[Any, ...], keys: list[int]) -> None:
        raise NotImplementedError


_SELECT_DAY = (
    "SELECT row_key, subscription_name, cost, cost_usd, quantity FROM cost_record "
    "WHERE cost_type = {0} AND usage_date = {0} AND scope_id = {0}"
)
_SQLITE_UPSERT = (
    f"INSERT INTO cost_record ({', '.join(ALL_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ALL_COLUMNS))}) "
    f"ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _REWRITTEN)
)
_SQLITE_DELETE = (
    "DELETE FROM cost_record "
    "WHERE cost_type = ? AND usage_date = ? AND scope_id = ? AND row_key = ?"
)


class _SqliteStore(_Store):
    """Dates and timestamps in the text form SQLAlchemy's SQLite types store and read back."""

    def day(self, cost_type: str, usage_date: date, scope_id: int) -> tuple[Any, ...]:
        return (cost_type, usage_date.isoformat(), scope_id)

    def timestamp(self, now: datetime) -> Any:
        return now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    def read_day(self, day: tuple[Any, ...]) -> dict[int, tuple[Any, ...]]:
        return {r[0]: r[1:] for r in self.db.execute(_SELECT_DAY.format("?"), day)}

    def write(self, inserts: list[tuple[Any, ...]], updates: list[tuple[Any, ...]]) -> None:
        self.db.executemany(_SQLITE_UPSERT, inserts + updates)

    def delete(self, day: tuple[Any, ...], keys: list[int]) -> None:
        self.db.executemany(_SQLITE_DELETE, [(*day, key) for key in keys])


_PG_STAGE = "cost_record_stage"
_PG_COLUMNS = ", ".join(ALL_COLUMNS)
_PG_UPDATE_FROM_STAGE = (
    "UPDATE cost_record AS c SET "
    + ", ".join(f"{col} = s.{col}" for col in _REWRITTEN)
    + f" FROM {_PG_STAGE} AS s WHERE "
    + " AND ".join(f"c.{col} = s.{col}" for col in KEY_COLUMNS)
)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_TEXT_FIELDS = slice(4, 13)  # the dimensions and the subscription name


def _copy_text(rows: list[tuple[Any, ...]]) -> str:
    """Rows (ALL_COLUMNS order) in COPY's text format.

    Built here rather than by psycopg's `write_row`, which cost twice the client CPU per row:
    numbers, dates and timestamps never need escaping, so only the text fields are checked, and
    only a row with a backslash, tab or line break in one of them takes the escaping path.
    """
    lines = []
    for r in rows:
        texts = (r[0], *r[_TEXT_FIELDS], r[16])
        joined = "".join(texts)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            texts = tuple(t.translate(_COPY_ESCAPES) for t in texts)
        lines.append(
            "\t".join(
                (
                    texts[0],
                    r[1].isoformat(),
                    str(r[2]),
                    str(r[3]),
                    *texts[1:10],
                    str(r[13]),
                    "\\N" if r[14] is None else str(r[14]),
                    "\\N" if r[15] is None else str(r[15]),
                    texts[10],
                    r[17].isoformat(),
                )
            )
        )
    lines.append("")
    return "\n".join(lines)


class _PostgresStore(_Store):
    def read_day(self, day: tuple[Any, ...]) -> dict[int, tuple[Any, ...]]:
        cost_type, usage_date, scope_id = day
        with self.db.cursor() as cursor:
            # Writers of the same day queue here until the first commits: what is read below
            # stays true until this transaction ends, so new rows can be COPYed without a merge.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                (_PG_LOCK_CLASS, f"{scope_id}/{cost_type}/{usage_date.isoformat()}"),
            )
            cursor.execute(_SELECT_DAY.format("%s"), day)
            return {r[0]: r[1:] for r in cursor}

    def write(self, inserts: list[tuple[Any, ...]], updates: list[tuple[Any, ...]]) -> None:
        if inserts:
            self._copy("cost_record", inserts)
        if updates:
            with self.db.cursor() as cursor:
                cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {_PG_STAGE} "
                    "(LIKE cost_record INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                )
            self._copy(_PG_STAGE, updates)
            with self.db.cursor() as cursor:
                cursor.execute(_PG_UPDATE_FROM_STAGE)

    def _copy(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        data = _copy_text(rows).encode(self.db.info.encoding)
        with (
            self.db.cursor() as cursor,
            cursor.copy(f"COPY {table} ({_PG_COLUMNS}) FROM STDIN") as copy,
        ):
            copy.write(data)

    def delete(self, day: tuple[Any, ...], keys: list[int]) -> None:
        with self.db.cursor() as cursor:
            for start in range(0, len(keys), _DELETE_CHUNK):
                cursor.execute(
                    "DELETE FROM cost_record WHERE cost_type = %s AND usage_date = %s "
                    "AND scope_id = %s AND row_key = ANY(%s)",
                    (*day, keys[start : start + _DELETE_CHUNK]),
                )
