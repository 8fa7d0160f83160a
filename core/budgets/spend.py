"""Daily spend per budget scope: one grouped query per filter shape, cached per day.

A *shape* is the set of filter dimensions a budget uses (e.g. `sub+tag:env`) and a cost type.
Budgets of one shape are served by one query grouped by day, currency and those dimensions; each
budget then picks its own group. So a pass costs one query per shape, not one per budget.

Per-day results are cached in the process and reused while the day is unchanged. A day's
*fingerprint* (row count, cost sum, a weighted checksum of costs by row key, and the latest
`updated_at`) comes from one streaming query grouped by day over the cost table's primary key;
only days whose fingerprint changed (new, restated, re-pulled, removed) are queried again. The
fingerprints and the day groups are read in one snapshot (SQLite read transaction, PostgreSQL
REPEATABLE READ), so a cached day always matches its fingerprint. Measured on SQLite with 1M rows,
a grouped query over a year of data costs ~0.7 s while the fingerprint scan costs ~0.25 s: the
cache is what keeps a pass of thousands of budgets within its time budget.
"""

from __future__ import annotations

import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, Engine, func, select, type_coerce

from core.budgets.parsing import BudgetScope
from core.db import is_sqlite
from core.models import CostRecord, CostScope, CostType

T = CostRecord.__table__.c  # type: ignore[attr-defined]
S = CostScope.__table__.c  # type: ignore[attr-defined]
_UNITS = type_coerce(T.cost, BigInteger)
_IN_CHUNK = 500

Shape = tuple[str, ...]
#: (currency, value per dimension of the shape); subscription values are ids or lower-case names.
GroupKey = tuple[Any, ...]
Fingerprint = tuple[Any, ...]


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


def group_key(scope: BudgetScope, currency: str, scope_ids: dict[str, int]) -> GroupKey | None:
    """The group a budget reads in its shape's results; None when it can match nothing."""
    values: list[Any] = [currency]
    tags = dict(scope.tags)
    for dim in shape_of(scope):
        if dim == "scope":
            scope_id = scope_ids.get(scope.scope_path)
            if scope_id is None:
                return None
            values.append(scope_id)
        elif dim.startswith("tag:"):
            values.append(tags[dim[4:]])
        else:
            values.append(
                {
                    "sub": scope.subscription,
                    "rg": scope.resource_group,
                    "service": scope.service,
                    "location": scope.location,
                    "meter": scope.meter,
                }[dim]
            )
    return tuple(values)


def dimension_columns(dim: str) -> list[ColumnElement[Any]]:
    """SQL expressions for one dimension (a subscription is matched by id or by name)."""
    if dim == "scope":
        return [T.scope_id]
    if dim == "sub":
        return [func.lower(T.subscription_id), func.lower(T.subscription_name)]
    if dim.startswith("tag:"):
        return [T.tags[dim[4:]].as_string()]
    column = {
        "rg": T.resource_group,
        "service": T.service_name,
        "location": T.location,
        "meter": T.meter_category,
    }[dim]
    return [func.lower(column)]


def expand_keys(shape: Shape, row: tuple[Any, ...]) -> list[GroupKey]:
    """Result values (currency, dimension columns…) → the group keys they count under.

    A subscription counts under its id and under its lower-cased name, so a budget may name it
    either way. A row without a tag the shape filters on matches no budget (no key).
    """
    keys: list[list[Any]] = [[row[0]]]
    position = 1
    for dim in shape:
        if dim == "sub":
            sub_id, sub_name = row[position], row[position + 1]
            position += 2
            options = [sub_id] if not sub_name or sub_name == sub_id else [sub_id, sub_name]
            keys = [[*k, option] for k in keys for option in options]
            continue
        value = row[position]
        position += 1
        if value is None:
            return []
        for k in keys:
            k.append(value)
    return [tuple(k) for k in keys]


@dataclass(slots=True)
class _CachedDay:
    fingerprint: Fingerprint
    groups: dict[GroupKey, int]


class SpendCache:
    """Per-process cache of grouped daily spend, keyed by (cost type, shape) and day."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._days: dict[tuple[str, Shape], dict[date, _CachedDay]] = {}

    def fingerprints(self, cost_type: str, shape: Shape) -> dict[date, Fingerprint]:
        with self._lock:
            cached = self._days.get((cost_type, shape), {})
            return {day: c.fingerprint for day, c in cached.items()}

    def install(
        self,
        cost_type: str,
        shape: Shape,
        loaded: dict[date, _CachedDay],
        current: dict[date, Fingerprint],
        checked_from: date,
        keep_from: date,
    ) -> None:
        """Store loaded days; drop days checked and found gone, and days before `keep_from`."""
        with self._lock:
            days = self._days.setdefault((cost_type, shape), {})
            days.update(loaded)
            gone = [d for d in days if d < keep_from or (d >= checked_from and d not in current)]
            for day in gone:
                del days[day]

    def series(
        self, cost_type: str, shape: Shape, keys: Iterable[GroupKey], start: date, end: date
    ) -> dict[GroupKey, dict[date, int]]:
        wanted = set(keys)
        out: dict[GroupKey, dict[date, int]] = {key: {} for key in wanted}
        with self._lock:
            days = self._days.get((cost_type, shape), {})
            for day, cached in days.items():
                if not start <= day <= end:
                    continue
                groups = cached.groups
                if len(groups) < len(wanted):
                    for key, units in groups.items():
                        if key in wanted:
                            out[key][day] = units
                else:
                    for key in wanted:
                        found = groups.get(key)
                        if found is not None:
                            out[key][day] = found
        return out

    def forget_shapes_except(self, keep: set[tuple[str, Shape]]) -> None:
        with self._lock:
            for name in [n for n in self._days if n not in keep]:
                del self._days[name]

    def clear(self) -> None:
        with self._lock:
            self._days.clear()


_CACHES: weakref.WeakKeyDictionary[Engine, SpendCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(engine: Engine) -> SpendCache:
    """The process-wide cache for one engine (every thread of a process shares it)."""
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = SpendCache()
        return cache


@dataclass(frozen=True, slots=True)
class DataRange:
    """The cost data of one cost type: first and last day present (None: no data)."""

    first_day: date | None
    last_day: date | None


@dataclass(slots=True)
class SpendStats:
    shape_queries: int = 0
    days_loaded: int = 0
    fingerprint_queries: int = 0


@dataclass(slots=True)
class SpendRequest:
    """The groups a pass needs from one (cost type, shape), from `start` to today."""

    cost_type: CostType
    shape: Shape
    start: date
    keys: set[GroupKey] = field(default_factory=set)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction that sees one consistent state of the store."""
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def data_range(conn: Connection, cost_type: CostType) -> DataRange:
    first, last = conn.execute(
        select(func.min(T.usage_date), func.max(T.usage_date)).where(T.cost_type == str(cost_type))
    ).one()
    return DataRange(first, last)


def scope_ids(conn: Connection) -> dict[str, int]:
    return {str(path): int(i) for i, path in conn.execute(select(S.id, S.path))}


def day_fingerprints(
    conn: Connection, cost_type: CostType, start: date, end: date
) -> dict[date, Fingerprint]:
    """One streaming pass over [start, end]: what each day's rows look like now."""
    checksum = func.sum((_UNITS % 1000003) * (T.row_key % 1009))
    query = (
        select(T.usage_date, func.count(), func.sum(_UNITS), checksum, func.max(T.updated_at))
        .where(T.cost_type == str(cost_type), T.usage_date >= start, T.usage_date <= end)
        .group_by(T.usage_date)
    )
    return {
        row[0]: (int(row[1]), int(row[2] or 0), int(row[3] or 0), row[4])
        for row in conn.execute(query)
    }


def _date_condition(days: list[date]) -> list[ColumnElement[bool]]:
    first, last = min(days), max(days)
    if (last - first).days + 1 == len(days):
        return [T.usage_date >= first, T.usage_date <= last]
    return [T.usage_date.in_(days)]


def load_days(
    conn: Connection, cost_type: CostType, shape: Shape, days: list[date]
) -> tuple[dict[date, dict[GroupKey, int]], int]:
    """Grouped spend of `shape` on `days` (one query per run of up to 500 days)."""
    dims = [col for dim in shape for col in dimension_columns(dim)]
    loaded: dict[date, dict[GroupKey, int]] = {day: defaultdict(int) for day in days}
    queries = 0
    ordered = sorted(days)
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start : start + _IN_CHUNK]
        query = (
            select(T.usage_date, T.currency, *dims, func.sum(_UNITS))
            .where(T.cost_type == str(cost_type), *_date_condition(chunk))
            .group_by(T.usage_date, T.currency, *dims)
        )
        queries += 1
        for row in conn.execute(query):
            groups = loaded[row[0]]
            units = int(row[-1])
            for key in expand_keys(shape, tuple(row[1:-1])):
                groups[key] += units
    return {day: dict(groups) for day, groups in loaded.items()}, queries


@dataclass(slots=True)
class SpendSnapshot:
    """Daily spend per (cost type, shape, key), and the data ranges it was computed from."""

    ranges: dict[CostType, DataRange]
    scope_ids: dict[str, int]
    series: dict[tuple[CostType, Shape], dict[GroupKey, dict[date, int]]]
    stats: SpendStats

    def daily(self, cost_type: CostType, shape: Shape, key: GroupKey) -> dict[date, int]:
        return self.series.get((cost_type, shape), {}).get(key, {})


def load_spend(
    engine: Engine,
    cache: SpendCache,
    plan: Callable[[dict[str, int], dict[CostType, DataRange]], list[SpendRequest]],
    today: date,
    *,
    full_pass: bool,
) -> SpendSnapshot:
    """Bring the cache up to date for the requests `plan` makes, and read their series.

    `plan` receives the ingested scope ids (budgets filtered by scope need them for their keys)
    and each cost type's data range (the forecast history depends on the last day with data).
    `full_pass` lets the cache drop shapes and days no budget needs any more.
    """
    stats = SpendStats()
    with snapshot(engine) as conn:
        ids = scope_ids(conn)
        ranges = {cost_type: data_range(conn, cost_type) for cost_type in CostType}
        requests = plan(ids, ranges)
        by_type: dict[CostType, list[SpendRequest]] = defaultdict(list)
        for request in requests:
            by_type[request.cost_type].append(request)
        pending: list[
            tuple[SpendRequest, dict[date, _CachedDay], dict[date, Fingerprint], date]
        ] = []
        for cost_type, group in by_type.items():
            start = min(r.start for r in group)
            current = day_fingerprints(conn, cost_type, start, today) if start <= today else {}
            stats.fingerprint_queries += 1
            for request in group:
                cached = cache.fingerprints(str(cost_type), request.shape)
                stale = [
                    day
                    for day, fp in current.items()
                    if day >= request.start and cached.get(day) != fp
                ]
                loaded: dict[date, _CachedDay] = {}
                if stale:
                    days, queries = load_days(conn, cost_type, request.shape, stale)
                    stats.shape_queries += queries
                    stats.days_loaded += len(stale)
                    loaded = {d: _CachedDay(current[d], groups) for d, groups in days.items()}
                pending.append((request, loaded, current, start))
    for request, loaded, current, checked_from in pending:
        keep_from = request.start if full_pass else date.min
        cache.install(
            str(request.cost_type), request.shape, loaded, current, checked_from, keep_from
        )
    if full_pass:
        cache.forget_shapes_except({(str(r.cost_type), r.shape) for r in requests})
    series = {
        (r.cost_type, r.shape): cache.series(str(r.cost_type), r.shape, r.keys, r.start, today)
        for r in requests
    }
    return SpendSnapshot(ranges, ids, series, stats)


def last_complete_day(today: date, data: DataRange) -> date:
    """Yesterday, or the last day with data if the data lags further behind."""
    yesterday = today - timedelta(days=1)
    if data.last_day is None:
        return yesterday
    return min(yesterday, data.last_day)
