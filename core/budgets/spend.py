"""Spend per budget scope, read with a few grouped queries and cached between passes.

A budget's *shape* is the set of filter dimensions it uses (`sub+rg`, `tag:env`, none …). All
budgets of one cost type are served by one *cube*: cost rows grouped by currency, every dimension
any of those budgets filters on, resource group and service (for the alert's top contributors).
Each shape is rolled up from the cube in memory (from the smallest finer roll-up when there is
one) and each budget picks its own group: a pass costs a couple of grouped queries however many
budgets and shapes there are.

The cube is kept in *buckets*: one per day from the first of the month of the forecast history
start (see `core.budgets.forecast`) to today, and one per calendar month before that (older days
only ever count as a sum; budget windows always start on the first of a month). Buckets are
cached in the process and reused while unchanged. A bucket's *fingerprint* (per day: row count,
cost sum, a weighted checksum of costs by row key, and the latest `updated_at`) comes from one
streaming query grouped by day over the cost table's primary key, so only days and months that
changed (new, restated, re-pulled, removed) are queried again. Fingerprints and buckets are read
in one snapshot (SQLite read transaction, PostgreSQL REPEATABLE READ): a cached bucket always
matches its fingerprint.

Why a cache: with 1M cost rows, one grouped query over a year of data takes seconds, while the
fingerprint scan streams in a fraction of that; a pass after an ingestion re-reads only the days
the ingestion touched.
"""

from __future__ import annotations

import functools
import sys
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    String,
    func,
    select,
    text,
    type_coerce,
)

from core.budgets.parsing import BudgetScope
from core.budgets.store import BudgetCache
from core.db import is_sqlite
from core.models import CostRecord, CostScope, CostType

T = CostRecord.__table__.c  # type: ignore[attr-defined]
S = CostScope.__table__.c  # type: ignore[attr-defined]
_UNITS = type_coerce(T.cost, BigInteger)
_IN_CHUNK = 500

Shape = tuple[str, ...]
#: (currency, value per dimension of the shape); subscriptions by id, the rest lower-cased
#: (tags exact).
GroupKey = tuple[Any, ...]
Fingerprint = tuple[Any, ...]
#: Budget dimensions in their canonical order; tag dimensions (`tag:<key>`) follow, by key.
DIMENSIONS = ("scope", "sub", "rg", "service", "location", "meter")
#: Always in the cube: the top contributors of an alert are resource groups and services.
CONTRIBUTOR_DIMENSIONS = ("rg", "service")


def dimension_rank(dim: str) -> tuple[int, str]:
    return (DIMENSIONS.index(dim), "") if dim in DIMENSIONS else (len(DIMENSIONS), dim)


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
    """The groups a budget counts in its shape's roll-up: none when it can match nothing, and
    several when it names a subscription that several subscription ids share."""
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


# -- the cube ------------------------------------------------------------------------------------


def _columns(dim: str) -> list[ColumnElement[Any]]:
    """Raw SQL columns of one dimension (normalized in Python: cheaper than lower() per row)."""
    if dim == "scope":
        return [T.scope_id]
    if dim == "sub":
        return [T.subscription_id, T.subscription_name]
    if dim.startswith("tag:"):
        return [T.tags[dim[4:]].as_string()]
    return [
        {
            "rg": T.resource_group,
            "service": T.service_name,
            "location": T.location,
            "meter": T.meter_category,
        }[dim]
    ]


@dataclass(frozen=True, slots=True)
class CubeSpec:
    """What one cube groups by. Row layout: (currency, dimension values…, rg label, service
    label, units); a subscription takes two values (id, name), all lower-cased; tag values are
    exact (None when the row lacks the tag); scope ids are integers."""

    cost_type: CostType
    dims: tuple[str, ...]

    @staticmethod
    def for_shapes(cost_type: CostType, shapes: Iterable[Shape]) -> CubeSpec:
        dims = {d for shape in shapes for d in shape} | set(CONTRIBUTOR_DIMENSIONS)
        return CubeSpec(cost_type, tuple(sorted(dims, key=dimension_rank)))

    def columns(self) -> list[ColumnElement[Any]]:
        return [col for dim in self.dims for col in _columns(dim)]

    def positions(self) -> dict[str, tuple[int, ...]]:
        return _positions(self)

    def normalizer(self) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
        """Result row (currency, dimension columns…, units) → cube row."""
        positions = self.positions()
        lower_at = [
            at
            for dim in self.dims
            if dim != "scope" and not dim.startswith("tag:")
            for at in positions[dim]
        ]
        tag_at = [positions[dim][0] for dim in self.dims if dim.startswith("tag:")]
        rg_at, service_at = positions["rg"][0], positions["service"][0]
        # One shared object per distinct text: hashes are computed once, memory stays small.
        lowered: dict[str, str] = {}
        shared: dict[Any, Any] = {}

        def normalize(raw: tuple[Any, ...]) -> tuple[Any, ...]:
            values = list(raw[:-1])
            for at in lower_at:
                text = values[at] or ""
                low = lowered.get(text)
                if low is None:
                    low = lowered[text] = sys.intern(text.lower())
                values[at] = low
            for at in tag_at:
                values[at] = shared.setdefault(values[at], values[at])
            rg = shared.setdefault(raw[rg_at] or "", raw[rg_at] or "")
            service = shared.setdefault(raw[service_at] or "", raw[service_at] or "")
            return (*values, rg, service, int(raw[-1]))

        return normalize

    def subscriptions(self, rows: list[tuple[Any, ...]]) -> frozenset[tuple[str, str]]:
        """The (id, name) pairs of the subscriptions in cube rows."""
        if "sub" not in self.dims:
            return frozenset()
        id_at, name_at = self.positions()["sub"]
        return frozenset((row[id_at], row[name_at]) for row in rows)


@functools.lru_cache(maxsize=256)
def _positions(spec: CubeSpec) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {}
    at = 1
    for dim in spec.dims:
        width = len(_columns(dim))
        out[dim] = tuple(range(at, at + width))
        at += width
    return out


def _key_getter(spec: CubeSpec, shape: Shape) -> Callable[[tuple[Any, ...]], GroupKey]:
    positions = spec.positions()
    indices = [0, *(positions[dim][0] for dim in shape)]
    if len(indices) == 1:
        return lambda row: (row[0],)
    return itemgetter(*indices)


def roll_up(spec: CubeSpec, shape: Shape, rows: Iterable[tuple[Any, ...]]) -> dict[GroupKey, int]:
    """Sum cube rows into the groups of one shape (rows lacking a filtered tag are no group)."""
    getter = _key_getter(spec, shape)
    has_tags = any(dim.startswith("tag:") for dim in shape)
    out: dict[GroupKey, int] = {}
    get = out.get
    for row in rows:
        key = getter(row)
        if has_tags and None in key:
            continue
        out[key] = get(key, 0) + row[-1]
    return out


def derivable_from(shape: Shape, finer: Shape) -> bool:
    """Whether `shape`'s roll-up can be summed from `finer`'s: it has every dimension, and the
    extra ones are no tags (a tag roll-up leaves out rows without the tag)."""
    extra = set(finer) - set(shape)
    return bool(extra) and set(shape) <= set(finer) and not any(d.startswith("tag:") for d in extra)


def derive(shape: Shape, finer: Shape, rollup: dict[GroupKey, int]) -> dict[GroupKey, int]:
    indices = [0, *(1 + finer.index(dim) for dim in shape)]
    getter: Callable[[GroupKey], GroupKey] = (
        (lambda key: (key[0],)) if len(indices) == 1 else itemgetter(*indices)
    )
    out: dict[GroupKey, int] = {}
    get = out.get
    for key, units in rollup.items():
        coarse = getter(key)
        out[coarse] = get(coarse, 0) + units
    return out


#: A period window as (first day, last day counted).
Span = tuple[date, date]


def contributor_totals(
    spec: CubeSpec,
    shape: Shape,
    wanted: dict[GroupKey, set[Span]],
    buckets: Iterable[tuple[date, list[tuple[Any, ...]]]],
) -> dict[tuple[GroupKey, Span], tuple[dict[str, int], dict[str, int]]]:
    """Per wanted (group of `shape`, span): its spend by resource group and by service.

    One scan of the buckets for all groups and spans of the shape.
    """
    getter = _key_getter(spec, shape)
    out: dict[tuple[GroupKey, Span], tuple[dict[str, int], dict[str, int]]] = {}
    for first, rows in buckets:
        spans_by_key = {
            key: [span for span in spans if span[0] <= first <= span[1]]
            for key, spans in wanted.items()
        }
        for row in rows:
            key = getter(row)
            spans = spans_by_key.get(key)
            if not spans:
                continue
            rg, service, units = row[-3] or "(none)", row[-2] or "(none)", row[-1]
            for span in spans:
                totals = out.get((key, span))
                if totals is None:
                    totals = out[key, span] = ({}, {})
                by_rg, by_service = totals
                by_rg[rg] = by_rg.get(rg, 0) + units
                by_service[service] = by_service.get(service, 0) + units
    return out


# -- buckets and the cache -----------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


@dataclass(slots=True)
class _Bucket:
    end: date
    fingerprint: Fingerprint
    rows: list[tuple[Any, ...]]
    subscriptions: frozenset[tuple[str, str]]
    rollups: dict[Shape, dict[GroupKey, int]] = field(default_factory=dict)

    def rollup(self, spec: CubeSpec, shape: Shape) -> dict[GroupKey, int]:
        found = self.rollups.get(shape)
        if found is None:
            finer = [(s, r) for s, r in self.rollups.items() if derivable_from(shape, s)]
            if finer:
                source, rollup = min(finer, key=lambda item: len(item[1]))
                found = derive(shape, source, rollup)
            else:
                found = roll_up(spec, shape, self.rows)
            self.rollups[shape] = found
        return found


class SpendCache:
    """Per-process cache of cube buckets (and of the budgets); one per engine, shared by all
    threads of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cubes: dict[CubeSpec, dict[date, _Bucket]] = {}
        #: The budgets themselves, reloaded only when they change.
        self.budgets = BudgetCache()

    def fingerprints(self, spec: CubeSpec) -> dict[date, tuple[date, Fingerprint]]:
        with self._lock:
            return {s: (b.end, b.fingerprint) for s, b in self._cubes.get(spec, {}).items()}

    def install(
        self,
        spec: CubeSpec,
        loaded: dict[date, _Bucket],
        expected: dict[date, tuple[date, Fingerprint]],
        *,
        checked_from: date,
        prune: bool,
    ) -> None:
        """Store freshly loaded buckets; drop buckets whose days are gone (within the range
        this pass checked) and, with `prune` (full passes), buckets before that range.

        A bucket a concurrent pass just replaced is kept: it comes from a consistent snapshot
        too, and the next pass checks it against the fingerprints again.
        """
        with self._lock:
            buckets = self._cubes.setdefault(spec, {})
            buckets.update(loaded)
            for start in list(buckets):
                if start not in expected and (prune or start >= checked_from):
                    del buckets[start]

    def series(
        self,
        spec: CubeSpec,
        wanted: dict[Shape, tuple[date, set[GroupKey]]],
        end: date,
    ) -> dict[Shape, dict[GroupKey, dict[date, int]]]:
        """Per shape and wanted group: spend per bucket (keyed by its first day), from the
        shape's start to `end`. Finer shapes are rolled up first so coarser ones derive."""
        out: dict[Shape, dict[GroupKey, dict[date, int]]] = {}
        with self._lock:
            buckets = self._cubes.get(spec, {})
            for shape in sorted(wanted, key=len, reverse=True):
                start, keys = wanted[shape]
                series: dict[GroupKey, dict[date, int]] = {key: {} for key in keys}
                for first, bucket in buckets.items():
                    if first < start or first > end:
                        continue
                    rollup = bucket.rollup(spec, shape)
                    if len(rollup) < len(keys):
                        for key, units in rollup.items():
                            if key in keys:
                                series[key][first] = units
                    else:
                        for key in keys:
                            found = rollup.get(key)
                            if found is not None:
                                series[key][first] = found
                out[shape] = series
        return out

    def subscriptions(self, spec: CubeSpec) -> frozenset[tuple[str, str]]:
        with self._lock:
            pairs: set[tuple[str, str]] = set()
            for bucket in self._cubes.get(spec, {}).values():
                pairs |= bucket.subscriptions
            return frozenset(pairs)

    def bucket_rows(self, spec: CubeSpec, start: date, end: date) -> list[tuple[date, list[Any]]]:
        """(bucket start, cube rows) of the buckets starting within [start, end]."""
        with self._lock:
            return [
                (first, bucket.rows)
                for first, bucket in self._cubes.get(spec, {}).items()
                if start <= first <= end
            ]

    def covering(self, cost_type: CostType, dims: set[str]) -> CubeSpec | None:
        """A cached cube of `cost_type` with every dimension in `dims` (the fullest one)."""
        with self._lock:
            candidates = [
                s for s in self._cubes if s.cost_type == cost_type and dims <= set(s.dims)
            ]
            return max(candidates, key=lambda s: len(self._cubes[s]), default=None)

    def forget_except(self, keep: set[CubeSpec]) -> None:
        with self._lock:
            for spec in [s for s in self._cubes if s not in keep]:
                del self._cubes[spec]

    def clear(self) -> None:
        with self._lock:
            self._cubes.clear()


_CACHES: weakref.WeakKeyDictionary[Engine, SpendCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(engine: Engine) -> SpendCache:
    """The process-wide cache for one engine."""
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = SpendCache()
        return cache


# -- queries -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataRange:
    """The cost data of one cost type: first and last day present (None: no data)."""

    first_day: date | None
    last_day: date | None


@dataclass(slots=True)
class SpendStats:
    #: Grouped queries over cost rows (cube loads); the fingerprint scans are not counted.
    shape_queries: int = 0
    #: Days re-read from the cost table (a month bucket counts its days).
    days_loaded: int = 0
    fingerprint_queries: int = 0


@dataclass(slots=True)
class SpendRequest:
    """One (cost type, shape) a pass needs, from `start` to today."""

    cost_type: CostType
    shape: Shape
    start: date


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction that sees one consistent state of the store.

    On PostgreSQL the cube's aggregation gets memory to hash in (the default 4 MB makes it sort
    on disk) and no JIT (its compile time exceeds what it saves here).
    """
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if not is_sqlite(engine):
                conn.execute(text("SET LOCAL work_mem = '64MB'"))
                conn.execute(text("SET LOCAL jit = off"))
            yield conn


def data_range(conn: Connection, cost_type: CostType) -> DataRange:
    # Two queries: SQLite answers a lone min() or max() from the primary key, not both at once.
    where = T.cost_type == str(cost_type)
    first = conn.execute(select(func.min(T.usage_date)).where(where)).scalar()
    last = conn.execute(select(func.max(T.usage_date)).where(where)).scalar()
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


def _month_label(conn: Connection) -> ColumnElement[str]:
    if is_sqlite(conn):
        return type_coerce(func.substr(T.usage_date, 1, 7), String)
    return type_coerce(func.to_char(T.usage_date, "YYYY-MM"), String)


def load_months(
    conn: Connection, spec: CubeSpec, months: list[date]
) -> dict[date, list[tuple[Any, ...]]]:
    """Cube rows per calendar month for `months` (one query over their span)."""
    columns = spec.columns()
    label = _month_label(conn)
    query = (
        select(label, T.currency, *columns, func.sum(_UNITS))
        .where(
            T.cost_type == str(spec.cost_type),
            T.usage_date >= min(months),
            T.usage_date <= month_end(max(months)),
        )
        .group_by(label, T.currency, *columns)
    )
    wanted = set(months)
    normalize = spec.normalizer()
    out: dict[date, list[tuple[Any, ...]]] = {m: [] for m in months}
    for row in conn.execute(query):
        month = date(int(row[0][:4]), int(row[0][5:7]), 1)
        if month in wanted:
            out[month].append(normalize(tuple(row[1:])))
    return out


def load_days(
    conn: Connection, spec: CubeSpec, days: list[date]
) -> tuple[dict[date, list[tuple[Any, ...]]], int]:
    """Cube rows per day for `days` (one query per contiguous run, or per 500 scattered days)."""
    columns = spec.columns()
    normalize = spec.normalizer()
    out: dict[date, list[tuple[Any, ...]]] = {d: [] for d in days}
    ordered = sorted(days)
    if (ordered[-1] - ordered[0]).days + 1 == len(ordered):
        conditions = [[T.usage_date >= ordered[0], T.usage_date <= ordered[-1]]]
    else:
        conditions = [
            [T.usage_date.in_(ordered[i : i + _IN_CHUNK])]
            for i in range(0, len(ordered), _IN_CHUNK)
        ]
    for condition in conditions:
        query = (
            select(T.usage_date, T.currency, *columns, func.sum(_UNITS))
            .where(T.cost_type == str(spec.cost_type), *condition)
            .group_by(T.usage_date, T.currency, *columns)
        )
        for row in conn.execute(query):
            out[row[0]].append(normalize(tuple(row[1:])))
    return out, len(conditions)


def last_complete_day(today: date, data: DataRange) -> date:
    """Yesterday, or the last day with data if the data lags further behind."""
    yesterday = today - timedelta(days=1)
    if data.last_day is None:
        return yesterday
    return min(yesterday, data.last_day)


def _expected_buckets(
    start: date, boundary: date, today: date, day_fps: dict[date, Fingerprint]
) -> dict[date, tuple[date, Fingerprint]]:
    """Bucket start → (bucket end, fingerprint): months before `boundary`, days from it."""
    expected: dict[date, tuple[date, Fingerprint]] = {}
    by_month: dict[date, list[tuple[date, Fingerprint]]] = defaultdict(list)
    for day, fp in sorted(day_fps.items()):
        if day < boundary:
            by_month[month_start(day)].append((day, fp))
        elif day <= today:
            expected[day] = (day, fp)
    for month, fps in by_month.items():
        if month >= month_start(start):
            expected[month] = (month_end(month), tuple(fps))
    return expected


@dataclass(slots=True)
class SpendSnapshot:
    """The state a pass reads: data ranges, scope ids, the cube used per cost type, and the
    bucket boundary (days from it, calendar months before it)."""

    cache: SpendCache
    today: date
    ranges: dict[CostType, DataRange]
    scope_ids: dict[str, int]
    specs: dict[CostType, CubeSpec]
    boundaries: dict[CostType, date]
    stats: SpendStats
    starts: dict[tuple[CostType, Shape], date]
    _subscriptions: dict[CostType, Callable[[str], list[str]]] = field(default_factory=dict)
    _series: dict[tuple[CostType, Shape], dict[GroupKey, dict[date, int]]] = field(
        default_factory=dict
    )

    def subscription_ids(self, cost_type: CostType) -> Callable[[str], list[str]]:
        """`value` (an id or a lower-case name) → the subscription ids it means."""
        found = self._subscriptions.get(cost_type)
        if found is None:
            spec = self.specs.get(cost_type)
            pairs = self.cache.subscriptions(spec) if spec else frozenset()
            ids = {sub_id for sub_id, _name in pairs}
            by_name: dict[str, list[str]] = defaultdict(list)
            for sub_id, name in sorted(pairs):
                by_name[name].append(sub_id)

            def resolve(value: str) -> list[str]:
                return [value] if value in ids else by_name.get(value, [])

            found = self._subscriptions[cost_type] = resolve
        return found

    def keys(self, scope: BudgetScope, currency: str, cost_type: CostType) -> list[GroupKey]:
        return group_keys(scope, currency, self.scope_ids, self.subscription_ids(cost_type))

    def read(self, wanted: dict[tuple[CostType, Shape], set[GroupKey]]) -> None:
        """Compute the series of these groups (all at once, under the cache's lock)."""
        by_type: dict[CostType, dict[Shape, tuple[date, set[GroupKey]]]] = defaultdict(dict)
        for (cost_type, shape), keys in wanted.items():
            by_type[cost_type][shape] = (month_start(self.starts[cost_type, shape]), keys)
        for cost_type, shapes in by_type.items():
            spec = self.specs[cost_type]
            for shape, series in self.cache.series(spec, shapes, self.today).items():
                self._series[cost_type, shape] = series

    def buckets(self, cost_type: CostType, shape: Shape, keys: list[GroupKey]) -> dict[date, int]:
        """Spend per bucket of the groups (summed when a budget has several)."""
        series = self._series.get((cost_type, shape), {})
        if len(keys) == 1:
            return series.get(keys[0], {})
        total: dict[date, int] = defaultdict(int)
        for key in keys:
            for first, units in series.get(key, {}).items():
                total[first] += units
        return dict(total)


#: Cold loads split into this many queries run side by side (each on its own connection).
PARALLEL_LOADS = 2
_MONTHS_PER_SPLIT = 4
#: One parallel load per process at a time; concurrent passes load on their own connection.
_PARALLEL_SLOT = threading.BoundedSemaphore(1)


def _load_buckets(
    engine: Engine,
    conn: Connection,
    spec: CubeSpec,
    months: list[date],
    days: list[date],
    stats: SpendStats,
) -> dict[date, list[tuple[Any, ...]]]:
    """Cube rows of the stale buckets. A cold load (many months) runs as parallel queries on
    separate connections: each starts after the fingerprints were read, so a bucket is never
    older than its fingerprint (at worst newer, and re-read on the next pass)."""
    jobs: list[tuple[str, list[date]]] = []
    cold = len(months) >= _MONTHS_PER_SPLIT and PARALLEL_LOADS > 1
    if cold:
        half = (len(months) + 1) // 2
        jobs += [("months", months[:half]), ("months", months[half:])]
    elif months:
        jobs.append(("months", months))
    if days:
        jobs.append(("days", days))
    out: dict[date, list[tuple[Any, ...]]] = {}

    def run(job: tuple[str, list[date]], on: Connection) -> tuple[dict[date, Any], int]:
        kind, buckets = job
        if kind == "months":
            return load_months(on, spec, buckets), 1
        return load_days(on, spec, buckets)

    def run_apart(job: tuple[str, list[date]]) -> tuple[dict[date, Any], int]:
        with snapshot(engine) as own:
            return run(job, own)

    if cold and _PARALLEL_SLOT.acquire(blocking=False):
        try:
            with ThreadPoolExecutor(max_workers=PARALLEL_LOADS) as pool:
                results = list(pool.map(run_apart, jobs))
        finally:
            _PARALLEL_SLOT.release()
    else:
        results = [run(job, conn) for job in jobs]
    for rows, queries in results:
        out.update(rows)
        stats.shape_queries += queries
    return out


def load_spend(
    engine: Engine,
    cache: SpendCache,
    plan: Callable[[dict[str, int], dict[CostType, DataRange]], list[SpendRequest]],
    today: date,
    *,
    history_start: Callable[[CostType], date | None],
    full_pass: bool,
) -> SpendSnapshot:
    """Bring the cache up to date for the requests `plan` makes.

    `plan` receives the ingested scope ids and each cost type's data range (the forecast history
    depends on the last day with data). Days from the first of the month of
    `history_start(cost type)` on are kept per day. `full_pass` lets the cache drop cubes and
    buckets that no budget needs any more.
    """
    stats = SpendStats()
    pending: list[
        tuple[CubeSpec, dict[date, _Bucket], dict[date, tuple[date, Fingerprint]], date]
    ] = []
    specs: dict[CostType, CubeSpec] = {}
    boundaries: dict[CostType, date] = {}
    starts: dict[tuple[CostType, Shape], date] = {}
    with snapshot(engine) as conn:
        ids = scope_ids(conn)
        ranges = {cost_type: data_range(conn, cost_type) for cost_type in CostType}
        requests = plan(ids, ranges)
        by_type: dict[CostType, list[SpendRequest]] = defaultdict(list)
        for request in requests:
            by_type[request.cost_type].append(request)
            starts[request.cost_type, request.shape] = request.start
        for cost_type, group in by_type.items():
            wanted = CubeSpec.for_shapes(cost_type, (r.shape for r in group))
            # A wider cube already cached serves too (no cold reload when budgets go away).
            spec = cache.covering(cost_type, set(wanted.dims)) or wanted
            specs[cost_type] = spec
            history = history_start(cost_type)
            boundary = month_start(min(history or today, today))
            boundaries[cost_type] = boundary
            start = month_start(min(r.start for r in group))
            day_fps = day_fingerprints(conn, cost_type, start, today) if start <= today else {}
            stats.fingerprint_queries += 1
            expected = _expected_buckets(start, boundary, today, day_fps)
            cached = cache.fingerprints(spec)
            stale = [s for s, state in expected.items() if cached.get(s) != state]
            stale_months = sorted(s for s in stale if expected[s][0] != s)
            stale_days = sorted(s for s in stale if expected[s][0] == s)
            rows_by_bucket = _load_buckets(engine, conn, spec, stale_months, stale_days, stats)
            loaded = {
                first: _Bucket(
                    expected[first][0], expected[first][1], rows, spec.subscriptions(rows)
                )
                for first, rows in rows_by_bucket.items()
            }
            stats.days_loaded += len(stale_days) + sum(len(expected[m][1]) for m in stale_months)
            pending.append((spec, loaded, expected, start))
    for spec, loaded, expected, checked_from in pending:
        cache.install(spec, loaded, expected, checked_from=checked_from, prune=full_pass)
    if full_pass:
        cache.forget_except(set(specs.values()))
    return SpendSnapshot(cache, today, ranges, ids, specs, boundaries, stats, starts)
