"""Writing one day of cost rows: a diff against what is stored, then a write of the changes only.

The store is a star: `cost_group` holds each group of dimensions and tags of a scope once, and
`cost_record` one narrow row per (cost type, day, scope, group) with the amounts. The same groups
come back every day, so a day's rows resolve their group ids from a `GroupIds` cache (filled by
one query per scope and run) and the hot path never queries per row; groups seen for the first
time are inserted with `ON CONFLICT DO NOTHING` and then looked up, so concurrent writers of one
scope converge on one id per group.

Each day is read back by its key prefix, compared in memory, and only new or changed rows are
written; stored rows absent from the re-pulled day are deleted in the same transaction. The counts
(inserted / updated / unchanged / removed) are therefore exact, and a re-ingest of unchanged data
writes nothing at all. A row counts as updated when its amounts changed, or when its group's
subscription name changed in this transaction (the name is an attribute of the group: a rename
updates the group once, and the rows of the day that brought it count as updated).

This is the hot path of ingestion (a year of a mid-sized tenant is ~1M rows), so it talks to the
DBAPI driver directly with values already in storage form, instead of going through SQLAlchemy's
per-row bind processing, which cost more than the database work itself (benchmarks/ingest.py):

- SQLite: one `executemany` of INSERT for new rows and one of UPDATE for changed rows; the
  write transaction is `BEGIN IMMEDIATE`, so nothing read back can change before the write.
- PostgreSQL: a transaction-scoped advisory lock on the scope makes what is read back (groups and
  the day) authoritative for concurrent writers of the same scope too; new rows are then COPYed
  straight into the table, changed rows COPYed into a temporary staging table and merged with one
  UPDATE.

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
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import Connection

from core.costs.ports import CostRow
from core.kernel.money import to_storage_units

#: The dimensions hashed into a group's key, in `cost_group` column order.
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
FACT_COLUMNS = (
    "cost_type",
    "usage_date",
    "scope_id",
    "group_id",
    "cost",
    "cost_usd",
    "quantity",
    "updated_at",
)
GROUP_COLUMNS = (
    "scope_id",
    "group_key",
    *DIMENSION_COLUMNS,
    "subscription_name",
    "tags",
    "revision",
    "created_at",
    "updated_at",
)
_KEY_COLUMNS = FACT_COLUMNS[:4]
_REWRITTEN = FACT_COLUMNS[4:]
_CHUNK = 500
#: First half of the PostgreSQL advisory lock key of a scope's cost rows ("CoSt").
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


def group_key(row: CostRow) -> int:
    """64-bit hash of the row's dimensions and tags: its group's key within a scope.

    Collisions need ~4 billion groups in one scope to become likely.
    """
    return _hash_key(_dimensions(row), sorted(row.tags.items()))


def _hash_key(dimensions: tuple[str, ...], tags: list[tuple[str, str]]) -> int:
    text = "\x1f".join(dimensions)
    if tags:
        text += "\x1f" + "\x1f".join(map("=".join, tags))
    digest = blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


#: Amounts at Azure's 8 decimals or fewer become storage units by one multiplication (cheaper
#: than `to_storage_units`' quantize); others take the exact, rounding path.
_UNITS_PER_ONE = Decimal(10**8)


def _add(a: int | None, b: int | None) -> int | None:
    return a if b is None else b if a is None else a + b


#: (dimensions, tags) → (group key, tags as JSON): the same groups come back every day. A plain
#: dict (emptied when full) is cheaper per row than `lru_cache`, and this runs once per row.
_GROUPS: dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], tuple[int, str]] = {}
_GROUPS_MAX = 32_768


def _group(dimensions: tuple[str, ...], tags: tuple[tuple[str, str], ...]) -> tuple[int, str]:
    """(group key, tags as JSON) of a group."""
    ordered = sorted(tags)
    found = _hash_key(dimensions, ordered), json.dumps(dict(ordered))
    if len(_GROUPS) >= _GROUPS_MAX:
        _GROUPS.clear()
    _GROUPS[dimensions, tags] = found
    return found


#: Positions in an incoming group (see `_day_by_group`).
_COST, _COST_USD, _QUANTITY, _NAME, _DIMS, _TAGS = range(6)


def _day_by_group(rows: Iterable[CostRow]) -> dict[int, list[Any]]:
    """The day's rows by group key as [cost, cost USD, quantity (storage units), subscription
    name, dimensions, tags JSON]; rows of one group add up."""
    out: dict[int, list[Any]] = {}
    get, known = out.get, _GROUPS.get
    per_one = _UNITS_PER_ONE
    for row in rows:
        dimensions = _dimensions(row)
        tags = tuple(row.tags.items()) if row.tags else ()
        key, document = known((dimensions, tags)) or _group(dimensions, tags)
        # Inlined three times: the hottest loop of ingestion.
        amount = row.cost * per_one
        cost = int(amount)
        if cost != amount:
            cost = to_storage_units(row.cost)
        usd: int | None = None
        if row.cost_usd is not None:
            amount = row.cost_usd * per_one
            usd = int(amount)
            if usd != amount:
                usd = to_storage_units(row.cost_usd)
        qty: int | None = None
        if row.quantity is not None:
            amount = row.quantity * per_one
            qty = int(amount)
            if qty != amount:
                qty = to_storage_units(row.quantity)
        seen = get(key)
        if seen is None:
            out[key] = [cost, usd, qty, row.subscription_name, dimensions, document]
        else:  # the same group twice in one day: amounts add up
            seen[_COST] += cost
            seen[_COST_USD] = _add(seen[_COST_USD], usd)
            seen[_QUANTITY] = _add(seen[_QUANTITY], qty)
    return out


class GroupIds:
    """Group key → (group id, subscription name) per scope, for groups known to be committed.

    One per ingestion run (or longer: groups are never deleted). `write_day` fills it from the
    database on a scope's first use and records the groups it creates or renames as pending;
    the caller calls `commit()` once the day's transaction committed (a rolled-back day must not
    leave ids of groups that do not exist).
    """

    def __init__(self) -> None:
        self._known: dict[int, dict[int, tuple[int, str]]] = {}
        self._pending: dict[int, dict[int, tuple[int, str]]] = {}

    def commit(self) -> None:
        for scope_id, found in self._pending.items():
            self._known.setdefault(scope_id, {}).update(found)
        self._pending.clear()

    def known(self, store: _Store, scope_id: int) -> dict[int, tuple[int, str]]:
        """The scope's committed groups (read on first use); forgets what an earlier,
        uncommitted transaction created."""
        self._pending.clear()
        found = self._known.get(scope_id)
        if found is None:
            found = self._known[scope_id] = store.read_groups(scope_id)
        return found

    def add(
        self,
        store: _Store,
        scope_id: int,
        incoming: dict[int, list[Any]],
        keys: list[int],
        now: Any,
    ) -> dict[int, tuple[int, str]]:
        """(id, subscription name) of groups missing from `known`: looked up (another writer may
        have created them), and the rest created."""
        keys = sorted(keys)  # one lock order for every writer
        found = store.find_groups(scope_id, keys)
        new = [key for key in keys if key not in found]
        if new:
            store.insert_groups(
                [
                    (
                        scope_id,
                        key,
                        *incoming[key][_DIMS],
                        incoming[key][_NAME],
                        incoming[key][_TAGS],
                        1,
                        now,
                        now,
                    )
                    for key in new
                ]
            )
            found.update(store.find_groups(scope_id, new))
        self._pending.setdefault(scope_id, {}).update(found)
        return found

    def rename(
        self, store: _Store, scope_id: int, group_id: int, key: int, name: str, now: Any
    ) -> bool:
        """Give a group a new subscription name; False if it had that name already (another
        writer renamed it first). Either way the group has that name once this commits."""
        renamed = store.rename_group(group_id, name, now)
        self._pending.setdefault(scope_id, {})[key] = (group_id, name)
        return renamed


def write_day(
    conn: Connection,
    *,
    scope_id: int,
    cost_type: str,
    usage_date: date,
    rows: Sequence[CostRow],
    now: datetime,
    groups: GroupIds | None = None,
) -> DayCounts:
    """Make the stored day equal to `rows`; call inside one write transaction.

    Pass the run's `GroupIds` (and call its `commit()` after the transaction) to resolve groups
    without a query per day; without one, the scope's groups are read for this call.
    """
    store: _Store = (
        _PostgresStore(conn) if conn.dialect.name == "postgresql" else _SqliteStore(conn)
    )
    own = groups is None
    groups = groups or GroupIds()
    store.lock(scope_id)
    day = store.day(cost_type, usage_date, scope_id)
    stamp = store.timestamp(now)
    incoming = _day_by_group(rows)
    known = groups.known(store, scope_id)
    stored = store.read_day(day)
    new_groups = incoming.keys() - known.keys()
    added = groups.add(store, scope_id, incoming, list(new_groups), stamp) if new_groups else {}

    inserts, updates, other_name = _diff_day(incoming, known, added, stored, day, stamp)
    vanished = list(stored)  # what is left of the stored day was not re-pulled
    renamed_only = sum(
        1
        for key, group_id, unchanged in other_name
        if groups.rename(store, scope_id, group_id, key, incoming[key][_NAME], stamp) and unchanged
    )

    if inserts or updates:
        # Key order: inserts append to the clustered key instead of splitting pages.
        inserts.sort(key=itemgetter(3))
        updates.sort(key=itemgetter(3))
        store.write(inserts, updates)
    if vanished:
        store.delete(day, vanished)
    if inserts or updates or vanished or other_name:
        _write_rollup(store, groups, scope_id, day, incoming, known, added, stamp)
    if own:
        groups.commit()
    updated = len(updates) + renamed_only
    unchanged = len(incoming) - len(inserts) - updated
    return DayCounts(len(inserts), updated, unchanged, len(vanished))


ROLLUP = "cost_rollup"


def rollup_dimensions(dimensions: tuple[str, ...]) -> tuple[str, ...]:
    """A group's dimensions without the resource: its rollup group's."""
    return (dimensions[0], dimensions[1], "", *dimensions[3:])


def _rollup_day(incoming: dict[int, list[Any]]) -> dict[int, list[Any]]:
    """The day's groups summed per rollup group (resource '' and no tags)."""
    out: dict[int, list[Any]] = {}
    known = _GROUPS.get
    for group in incoming.values():
        dimensions = rollup_dimensions(group[_DIMS])
        key, document = known((dimensions, ())) or _group(dimensions, ())
        seen = out.get(key)
        if seen is None:
            out[key] = [group[_COST], group[_COST_USD], group[_QUANTITY], group[_NAME],
                        dimensions, document]  # fmt: skip
        else:
            seen[_COST] += group[_COST]
            seen[_COST_USD] = _add(seen[_COST_USD], group[_COST_USD])
            seen[_QUANTITY] = _add(seen[_QUANTITY], group[_QUANTITY])
    return out


def _write_rollup(
    store: _Store,
    groups: GroupIds,
    scope_id: int,
    day: tuple[Any, ...],
    incoming: dict[int, list[Any]],
    known: dict[int, tuple[int, str]],
    added: dict[int, tuple[int, str]],
    stamp: Any,
) -> None:
    """Make the day's rollup equal to the sum of the (complete) day, in its transaction."""
    rollup = _rollup_day(incoming)
    new = [key for key in rollup if key not in known and key not in added]
    found = {**added, **(groups.add(store, scope_id, rollup, new, stamp) if new else {})}
    stored = store.read_day(day, ROLLUP)
    inserts, updates, other_name = _diff_day(rollup, known, found, stored, day, stamp)
    for key, group_id, _unchanged in other_name:
        groups.rename(store, scope_id, group_id, key, rollup[key][_NAME], stamp)
    if inserts or updates:
        inserts.sort(key=itemgetter(3))
        updates.sort(key=itemgetter(3))
        store.write(inserts, updates, ROLLUP)
    if stored:
        store.delete(day, list(stored), ROLLUP)


def _diff_day(
    incoming: dict[int, list[Any]],
    known: dict[int, tuple[int, str]],
    added: dict[int, tuple[int, str]],
    stored: dict[int, Any],
    day: tuple[Any, ...],
    stamp: Any,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[int, int, bool]]]:
    """The day's new rows, changed rows, and groups stored under another subscription name
    (key, group id, row otherwise unchanged). Takes each matched row out of `stored`: what is
    left there afterwards vanished from the re-pulled day."""
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    other_name: list[tuple[int, int, bool]] = []
    kind, when, scope = day
    take, lookup = stored.pop, known.get
    for key, group in incoming.items():  # once per row of ingestion: kept lean
        group_id, name = lookup(key) or added[key]
        cost, usd, qty = group[_COST], group[_COST_USD], group[_QUANTITY]
        before = take(group_id, None)
        if before is None:
            inserts.append((kind, when, scope, group_id, cost, usd, qty, stamp))
            changed = True
        elif before[0] != cost or before[1] != usd or before[2] != qty:
            updates.append((kind, when, scope, group_id, cost, usd, qty, stamp))
            changed = True
        else:
            changed = False
        if name != group[_NAME]:
            other_name.append((key, group_id, not changed))
    return inserts, updates, other_name


class _Store:
    """One dialect's raw reads and writes of `cost_group` and `cost_record`, on the connection's
    transaction."""

    mark = "?"

    def __init__(self, conn: Connection) -> None:
        self.db: Any = conn.connection.driver_connection

    def lock(self, scope_id: int) -> None:
        """Serialize writers of one scope until this transaction ends."""

    def day(self, cost_type: str, usage_date: date, scope_id: int) -> tuple[Any, ...]:
        return (cost_type, usage_date, scope_id)

    def timestamp(self, now: datetime) -> Any:
        return now

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        cursor = self.db.cursor()
        try:
            cursor.execute(sql.replace("?", self.mark), params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def read_groups(self, scope_id: int) -> dict[int, tuple[int, str]]:
        """key → (id, subscription name) of every group of the scope."""
        rows = self._rows(
            "SELECT group_key, id, subscription_name FROM cost_group WHERE scope_id = ?",
            (scope_id,),
        )
        return {key: (group_id, name) for key, group_id, name in rows}

    def find_groups(self, scope_id: int, keys: list[int]) -> dict[int, tuple[int, str]]:
        found: dict[int, tuple[int, str]] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            rows = self._rows(
                "SELECT group_key, id, subscription_name FROM cost_group "
                f"WHERE scope_id = ? AND group_key IN ({', '.join('?' * len(chunk))})",
                (scope_id, *chunk),
            )
            found.update((key, (group_id, name)) for key, group_id, name in rows)
        return found

    def insert_groups(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert groups (GROUP_COLUMNS order, key order); any that exist already are kept."""
        cursor = self.db.cursor()
        try:
            cursor.executemany(_INSERT_GROUPS.replace("?", self.mark), rows)
        finally:
            cursor.close()

    def rename_group(self, group_id: int, name: str, now: Any) -> bool:
        """Set a group's subscription name; False if it had that name already."""
        return bool(
            self._rows(
                "UPDATE cost_group SET subscription_name = ?, updated_at = ?, "
                "revision = revision + 1 WHERE id = ? AND subscription_name <> ? RETURNING id",
                (name, now, group_id, name),
            )
        )

    def read_day(
        self, day: tuple[Any, ...], table: str = "cost_record"
    ) -> dict[int, tuple[Any, ...]]:
        """group id → (cost, cost USD, quantity) of the stored day."""
        rows = self._rows(_SELECT_DAY.replace("cost_record", table), day)
        return {r[0]: r[1:] for r in rows}

    def write(
        self,
        inserts: list[tuple[Any, ...]],
        updates: list[tuple[Any, ...]],
        table: str = "cost_record",
    ) -> None:
        raise NotImplementedError

    def delete(
        self, day: tuple[Any, ...], group_ids: list[int], table: str = "cost_record"
    ) -> None:
        raise NotImplementedError


_INSERT_GROUPS = (
    f"INSERT INTO cost_group ({', '.join(GROUP_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(GROUP_COLUMNS))}) "
    "ON CONFLICT (scope_id, group_key) DO NOTHING"
)
_SELECT_DAY = (
    "SELECT group_id, cost, cost_usd, quantity FROM cost_record "
    "WHERE cost_type = ? AND usage_date = ? AND scope_id = ?"
)
_SQLITE_INSERT = (
    f"INSERT INTO cost_record ({', '.join(FACT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(FACT_COLUMNS))})"
)
_SQLITE_UPDATE = (
    "UPDATE cost_record SET "
    + ", ".join(f"{c} = ?" for c in _REWRITTEN)
    + " WHERE "
    + " AND ".join(f"{c} = ?" for c in _KEY_COLUMNS)
)
_SQLITE_DELETE = (
    "DELETE FROM cost_record "
    "WHERE cost_type = ? AND usage_date = ? AND scope_id = ? AND group_id = ?"
)


class _SqliteStore(_Store):
    """Dates and timestamps in the text form SQLAlchemy's SQLite types store and read back."""

    def day(self, cost_type: str, usage_date: date, scope_id: int) -> tuple[Any, ...]:
        return (cost_type, usage_date.isoformat(), scope_id)

    def timestamp(self, now: datetime) -> Any:
        return now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    def read_day(
        self, day: tuple[Any, ...], table: str = "cost_record"
    ) -> dict[int, tuple[Any, ...]]:
        sql = _SELECT_DAY if table == "cost_record" else _SELECT_DAY.replace("cost_record", table)
        return {r[0]: r[1:] for r in self.db.execute(sql, day)}

    def write(
        self,
        inserts: list[tuple[Any, ...]],
        updates: list[tuple[Any, ...]],
        table: str = "cost_record",
    ) -> None:
        # The day was read under BEGIN IMMEDIATE: new rows cannot exist, changed ones do.
        if inserts:
            self.db.executemany(_SQLITE_INSERT.replace("cost_record", table), inserts)
        if updates:
            self.db.executemany(
                _SQLITE_UPDATE.replace("cost_record", table), [(*r[4:], *r[:4]) for r in updates]
            )

    def delete(
        self, day: tuple[Any, ...], group_ids: list[int], table: str = "cost_record"
    ) -> None:
        self.db.executemany(
            _SQLITE_DELETE.replace("cost_record", table), [(*day, g) for g in group_ids]
        )


_PG_STAGE = "cost_record_stage"
_PG_COLUMNS = ", ".join(FACT_COLUMNS)
_PG_UPDATE_FROM_STAGE = (
    "UPDATE cost_record AS c SET "
    + ", ".join(f"{col} = s.{col}" for col in _REWRITTEN)
    + f" FROM {_PG_STAGE} AS s WHERE "
    + " AND ".join(f"c.{col} = s.{col}" for col in _KEY_COLUMNS)
)


def _copy_text(rows: list[tuple[Any, ...]]) -> str:
    """Fact rows (FACT_COLUMNS order) in COPY's text format.

    Built here rather than by psycopg's `write_row`, which cost twice the client CPU per row.
    Nothing needs escaping: the cost type is one of a few fixed words, the rest are numbers,
    dates and timestamps.
    """
    lines = []
    for r in rows:
        lines.append(
            "\t".join(
                (
                    r[0],
                    r[1].isoformat(),
                    str(r[2]),
                    str(r[3]),
                    str(r[4]),
                    "\\N" if r[5] is None else str(r[5]),
                    "\\N" if r[6] is None else str(r[6]),
                    r[7].isoformat(),
                )
            )
        )
    lines.append("")
    return "\n".join(lines)


class _PostgresStore(_Store):
    mark = "%s"

    def lock(self, scope_id: int) -> None:
        # Writers of the same scope queue here until the first commits: the groups and the day
        # read below stay true until this transaction ends, so new rows can be COPYed without a
        # merge, and two runs never race to create the same group.
        with self.db.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_PG_LOCK_CLASS, scope_id))

    def write(
        self,
        inserts: list[tuple[Any, ...]],
        updates: list[tuple[Any, ...]],
        table: str = "cost_record",
    ) -> None:
        if inserts:
            self._copy(table, inserts)
        if updates:
            with self.db.cursor() as cursor:
                cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {_PG_STAGE} "
                    "(LIKE cost_record INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                )
            self._copy(_PG_STAGE, updates)
            with self.db.cursor() as cursor:
                cursor.execute(_PG_UPDATE_FROM_STAGE.replace("cost_record", table, 1))
                # Emptied now: the rollup stages its own rows later in the same transaction.
                cursor.execute(f"DELETE FROM {_PG_STAGE}")

    def _copy(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        data = _copy_text(rows).encode(self.db.info.encoding)
        with (
            self.db.cursor() as cursor,
            cursor.copy(f"COPY {table} ({_PG_COLUMNS}) FROM STDIN") as copy,
        ):
            copy.write(data)

    def delete(
        self, day: tuple[Any, ...], group_ids: list[int], table: str = "cost_record"
    ) -> None:
        with self.db.cursor() as cursor:
            for start in range(0, len(group_ids), _CHUNK):
                cursor.execute(
                    f"DELETE FROM {table} WHERE cost_type = %s AND usage_date = %s "
                    "AND scope_id = %s AND group_id = ANY(%s)",
                    (*day, group_ids[start : start + _CHUNK]),
                )
