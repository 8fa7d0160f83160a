"""Spend per budget scope: the cost rows summed per cost group and bucket, mapped in Python.

A budget's *shape* is the set of filter dimensions it uses (`sub+rg`, `tag:env`, none …), and its
*group key* in that shape the values it filters on (with the currency). Every group of
`cost_group` has one key per shape (or none, when it lacks a filtered tag), derived once per
version of the group catalogue (`core.costs.catalog`). So a pass, whatever the number of budgets
and shapes, reads each cost type's rows in one snapshot:

- the calendar *months* from the earliest budget window up to the forecast history, one query
  per month summed per group (older days only ever count as a sum: budget windows start on the
  first of a month);
- the *days* from the first of the month of the forecast history start (see
  `core.costs.forecasting`) to today, in one query, one row per group and day straight off the
  clustered primary key (no aggregation needed: a group belongs to one scope).

Each group gets a vector of units per bucket (months, then days), and a budget's series is the
sum of the vectors of the groups with its key. The top contributors of an alert come from the
same vectors (resource group and service are group attributes). Nothing is cached between
passes but the group catalogue and the budgets, each reloaded when its table changed: with the
narrow fact table a cold pass of 10,000 budgets over 1M rows takes ~1.7 s, a pass with nothing
new ~0.6 s (`benchmarks/budgets.py`), so the per-day fingerprints and the cube cache that used
to hide the wide table's scans are gone.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from core.budgets.model import BudgetScope
from core.costs.catalog import Group, Groups, catalog_for
from core.costs.model import CostType
from core.costs.periods import data_through
from core.costs.tables import CostRecord, CostScope
from core.kernel.db.engine import is_sqlite, read_snapshot

T = CostRecord.__table__.c  # type: ignore[attr-defined]
S = CostScope.__table__.c  # type: ignore[attr-defined]

Shape = tuple[str, ...]
#: (currency, value per dimension of the shape); scopes by id, subscriptions by id, the rest
#: lower-cased (tags exact).
GroupKey = tuple[Any, ...]
#: A period window as (first day, last day counted).
Span = tuple[date, date]


@functools.lru_cache(maxsize=4096)
def shape_of(scope: BudgetScope) -> Shape:
    dims = [
        dim
        for dim, value in (
            ("scope", scope.scope_path),
            ("sub", scope.subscription),
            ("rg", scope.resource_group),
            ("service", scope.service),
            ("location", scope.location),
            ("meter", scope.meter),
        )
        if value
    ]
    dims.extend(f"tag:{key}" for key, _ in scope.tags)
    return tuple(dims)


def group_keys(
    scope: BudgetScope,
    currency: str,
    scope_ids: dict[str, int],
    subscription_ids: Callable[[str], list[str]],
) -> list[GroupKey]:
    """The keys a budget counts in its shape: none when it can match nothing, and several when
    it names a subscription that several subscription ids share."""
    keys: list[list[Any]] = [[currency]]
    tags = dict(scope.tags)
    plain = {
        "rg": scope.resource_group,
        "service": scope.service,
        "location": scope.location,
        "meter": scope.meter,
    }
    for dim in shape_of(scope):
        if dim == "scope":
            scope_id = scope_ids.get(scope.scope_path)
            options: list[Any] = [] if scope_id is None else [scope_id]
        elif dim == "sub":
            options = list(subscription_ids(scope.subscription))
        elif dim.startswith("tag:"):
            options = [tags[dim[4:]]]
        else:
            options = [plain[dim]]
        keys = [[*key, option] for key in keys for option in options]
    return [tuple(key) for key in keys]


def _dimension_value(dim: str) -> Callable[[Group], Any]:
    """A group's value in one budget dimension, normalized like budget filters are stored."""
    if dim == "scope":
        return lambda g: g.scope_id
    if dim.startswith("tag:"):
        tag = dim[4:]
        return lambda g: g.tags.get(tag)
    attribute = {
        "sub": "subscription_id",
        "rg": "resource_group",
        "service": "service_name",
        "location": "location",
        "meter": "meter_category",
    }[dim]
    return lambda g: getattr(g, attribute).lower()


def members_by_key(groups: Groups, shape: Shape) -> dict[GroupKey, list[int]]:
    """Group ids per key of `shape` (groups lacking a filtered tag belong to no key); derived
    once per version of the groups."""

    def build(groups: Groups) -> dict[GroupKey, list[int]]:
        values = [_dimension_value(dim) for dim in shape]
        out: dict[GroupKey, list[int]] = defaultdict(list)
        for group_id, group in groups.by_id.items():
            key = (group.currency, *(value(group) for value in values))
            if None not in key:
                out[key].append(group_id)
        return dict(out)

    return groups.derived(("budget shape", shape), build)


def subscription_resolver(groups: Groups) -> Callable[[str], list[str]]:
    """`value` (a subscription id or a lower-case name) → the subscription ids it means."""

    def build(groups: Groups) -> Callable[[str], list[str]]:
        ids = {g.subscription_id.lower() for g in groups.by_id.values()}
        by_name: dict[str, set[str]] = defaultdict(set)
        for g in groups.by_id.values():
            by_name[g.subscription_name.lower()].add(g.subscription_id.lower())
        names = {name: sorted(found) for name, found in by_name.items()}

        def resolve(value: str) -> list[str]:
            return [value] if value in ids else names.get(value, [])

        return resolve

    return groups.derived("subscriptions by name", build)


# -- buckets -------------------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Buckets:
    """Calendar months from `start` to before `boundary`, then days from `boundary` to `end`;
    each bucket is named by its first day."""

    start: date
    boundary: date
    end: date
    firsts: tuple[date, ...]
    index: dict[date, int]

    @staticmethod
    def of(start: date, boundary: date, end: date) -> Buckets:
        firsts: list[date] = []
        day = month_start(start)
        while day < boundary and day <= end:
            firsts.append(day)
            day = month_end(day) + timedelta(days=1)
        day = max(boundary, start)
        while day <= end:
            firsts.append(day)
            day += timedelta(days=1)
        return Buckets(start, boundary, end, tuple(firsts), {d: i for i, d in enumerate(firsts)})

    def within(self, span: Span) -> slice:
        """The buckets starting within `span` (they are consecutive)."""
        inside = [i for i, first in enumerate(self.firsts) if span[0] <= first <= span[1]]
        return slice(inside[0], inside[-1] + 1) if inside else slice(0, 0)


# -- queries -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataRange:
    """The cost data of one cost type: first and last day present (None: no data)."""

    first_day: date | None
    last_day: date | None


@dataclass(slots=True)
class SpendStats:
    #: Queries over cost rows (each cost type: one for the days, one for the months).
    shape_queries: int = 0
    #: Days of cost rows read (a month bucket counts its days).
    days_loaded: int = 0


@dataclass(slots=True)
class SpendRequest:
    """One (cost type, shape) a pass needs, from `start` to today."""

    cost_type: CostType
    shape: Shape
    start: date


def data_range(conn: Connection, cost_type: CostType) -> DataRange:
    # Two queries: SQLite answers a lone min() or max() from the primary key, not both at once.
    where = T.cost_type == str(cost_type)
    first = conn.execute(select(func.min(T.usage_date)).where(where)).scalar()
    last = conn.execute(select(func.max(T.usage_date)).where(where)).scalar()
    return DataRange(first, last)


def scope_ids(conn: Connection) -> dict[str, int]:
    return {str(path): int(i) for i, path in conn.execute(select(S.id, S.path))}


@contextmanager
def _rows(conn: Connection, sql: str, params: tuple[Any, ...]) -> Iterator[Iterable[Any]]:
    """Raw rows from the driver, on the snapshot's transaction, one at a time.

    SQLAlchemy's per-row result processing cost more than the query on these row counts; and
    rows consumed as they come die young, where a fetched list of 150k tuples lived long enough
    to be promoted and set off full garbage collections (~80 ms each at that size).
    """
    if not is_sqlite(conn):
        sql = sql.replace("?", "%s")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        yield cursor
    finally:
        cursor.close()


_MONTH = (
    "SELECT group_id, sum(cost) FROM cost_record "
    "WHERE cost_type = ? AND usage_date >= ? AND usage_date <= ? GROUP BY group_id"
)
_DAYS = (
    "SELECT usage_date, group_id, cost FROM cost_record "
    "WHERE cost_type = ? AND usage_date >= ? AND usage_date <= ?"
)


def load_vectors(
    conn: Connection, cost_type: CostType, buckets: Buckets, stats: SpendStats
) -> dict[int, list[int]]:
    """Units per bucket (`buckets` order) of every group with cost rows in the buckets.

    One query per month (SQLite sorts to group, and sorting a month at a time stays in memory:
    ~3x faster than one query grouped by month; PostgreSQL hashes either way) and one for the
    days, read straight off the primary key (a group belongs to one scope, so a day has one row
    per group).
    """
    width = len(buckets.firsts)
    vectors: dict[int, list[int]] = {}
    get = vectors.get
    # SQLite keeps dates as ISO text: compare and index them as such.
    as_param: Callable[[date], Any] = date.isoformat if is_sqlite(conn) else (lambda d: d)
    kind = str(cost_type)
    for at, first in enumerate(buckets.firsts):
        if first >= buckets.boundary:
            break
        last = min(month_end(first), buckets.end)
        with _rows(conn, _MONTH, (kind, as_param(first), as_param(last))) as rows:
            for group_id, units in rows:
                vector = get(group_id)
                if vector is None:
                    vector = vectors[group_id] = [0] * width
                vector[at] += int(units)
        stats.shape_queries += 1
        stats.days_loaded += (last - first).days + 1
    first_day = max(buckets.start, buckets.boundary)
    if first_day <= buckets.end:
        index = {as_param(first): i for first, i in buckets.index.items() if first >= first_day}
        with _rows(conn, _DAYS, (kind, as_param(first_day), as_param(buckets.end))) as rows:
            for day, group_id, units in rows:
                vector = get(group_id)
                if vector is None:
                    vector = vectors[group_id] = [0] * width
                vector[index[day]] += units
        stats.shape_queries += 1
        stats.days_loaded += (buckets.end - first_day).days + 1
    return vectors


def last_complete_day(today: date, data: DataRange) -> date:
    """Yesterday, or the last day with data if the data lags further behind: "data through",
    with the one meaning cost answers give it too (`core.costs.periods.data_through`)."""
    return data_through(today, data.last_day)


def _sum_vectors(vectors: Iterable[list[int]]) -> list[int]:
    found = list(vectors)
    if len(found) == 1:
        return found[0]
    return [sum(column) for column in zip(*found, strict=True)]


@dataclass(slots=True)
class SpendSnapshot:
    """What a pass read: data ranges, scope ids, groups, and per cost type the buckets and the
    units per bucket of every group."""

    today: date
    ranges: dict[CostType, DataRange]
    scope_ids: dict[str, int]
    groups: Groups
    buckets: dict[CostType, Buckets]
    vectors: dict[CostType, dict[int, list[int]]]
    stats: SpendStats
    _series: dict[tuple[CostType, Shape, GroupKey], list[int] | None] = field(default_factory=dict)
    _spend: dict[tuple[CostType, Shape, tuple[GroupKey, ...]], list[int]] = field(
        default_factory=dict
    )
    _keys: dict[tuple[BudgetScope, str], list[GroupKey]] = field(default_factory=dict)

    def keys(self, scope: BudgetScope, currency: str) -> list[GroupKey]:
        found = self._keys.get((scope, currency))
        if found is None:
            resolve = subscription_resolver(self.groups)
            found = self._keys[scope, currency] = group_keys(
                scope, currency, self.scope_ids, resolve
            )
        return found

    def members(self, cost_type: CostType, shape: Shape, key: GroupKey) -> list[int]:
        """Groups of `key` with cost rows in this pass."""
        vectors = self.vectors.get(cost_type, {})
        return [g for g in members_by_key(self.groups, shape).get(key, ()) if g in vectors]

    def _key_series(self, cost_type: CostType, shape: Shape, key: GroupKey) -> list[int] | None:
        memo = (cost_type, shape, key)
        if memo not in self._series:
            vectors = self.vectors.get(cost_type, {})
            members = self.members(cost_type, shape, key)
            self._series[memo] = _sum_vectors(vectors[g] for g in members) if members else None
        return self._series[memo]

    def series(self, cost_type: CostType, shape: Shape, keys: list[GroupKey]) -> list[int]:
        """Spend per bucket of the keys (summed when a budget has several; `buckets` order):
        calendar months before the boundary, days from it. Budgets with the same keys share
        one (read-only) list; empty when nothing matches."""
        memo = (cost_type, shape, tuple(keys))
        found = self._spend.get(memo)
        if found is None:
            series = [s for s in (self._key_series(cost_type, shape, k) for k in keys) if s]
            found = self._spend[memo] = _sum_vectors(series) if series else []
        return found


def load_spend(
    engine: Engine,
    plan: Callable[[dict[str, int], dict[CostType, DataRange]], list[SpendRequest]],
    today: date,
    *,
    history_start: Callable[[CostType], date | None],
) -> SpendSnapshot:
    """Read what the requests `plan` makes need, in one snapshot.

    `plan` receives the ingested scope ids and each cost type's data range (the forecast history
    depends on the last day with data). Days from the first of the month of
    `history_start(cost type)` on are kept per day, earlier ones per calendar month.
    """
    stats = SpendStats()
    buckets: dict[CostType, Buckets] = {}
    vectors: dict[CostType, dict[int, list[int]]] = {}
    with read_snapshot(engine) as conn:
        ids = scope_ids(conn)
        ranges = {cost_type: data_range(conn, cost_type) for cost_type in CostType}
        requests = plan(ids, ranges)
        starts: dict[CostType, date] = {}
        for request in requests:
            found = starts.get(request.cost_type)
            starts[request.cost_type] = min(found or request.start, request.start)
        for cost_type, start in starts.items():
            history = history_start(cost_type)
            boundary = month_start(min(history or today, today))
            buckets[cost_type] = Buckets.of(month_start(start), boundary, today)
            vectors[cost_type] = (
                load_vectors(conn, cost_type, buckets[cost_type], stats)
                if ranges[cost_type].first_day is not None
                else {}
            )
        seen = {g for found in vectors.values() for g in found}
        groups = catalog_for(engine).groups(conn, seen)
    return SpendSnapshot(today, ranges, ids, groups, buckets, vectors, stats)
