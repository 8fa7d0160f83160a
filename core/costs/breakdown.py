"""Cost breakdowns: total, top groups with share and change, and a daily series.

The daily rows are summed per cost group in SQL (the period and the one it is compared with, in
one query over the narrow fact table), and the groups are mapped to the dimension, the filters
and the currency in Python from the cached group catalogue: every dimension costs the same, and
no JOIN or secondary index is needed. A second query sums the current period per day.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    and_,
    any_,
    case,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY

from core.costs.catalog import Group, catalog_for
from core.costs.model import (
    PURCHASE,
    CostFilter,
    CostType,
    Dimension,
    DimensionKind,
    FilterKind,
    RunStatus,
)
from core.costs.periods import Period, PeriodPair
from core.costs.tables import CostRecord, CostRollup, IngestionRun
from core.kernel.db.engine import is_sqlite, read_snapshot
from core.kernel.money import ZERO, from_storage_units, percent_change, share

T = CostRecord.__table__.c  # type: ignore[attr-defined]
#: The daily rollup without resources and tags (`core.costs.tables.CostRollup`).
R = CostRollup.__table__.c  # type: ignore[attr-defined]
UNTAGGED = "(untagged)"
NO_VALUE = "(none)"
_TAG_KEY = re.compile(r"^[\w.\- ]{1,128}$")


@dataclass(frozen=True, slots=True)
class BreakdownQuery:
    #: The days compared, what they are compared with, and the days still being reported.
    periods: PeriodPair
    dimension: Dimension
    cost_type: CostType
    filters: tuple[CostFilter, ...] = ()
    top_n: int = 10
    #: Also sum these days per day (a forecast's history), for the same groups.
    history: tuple[date, date] | None = None


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    #: The dimension's value (what a drill-down filters on); `UNTAGGED`/`NO_VALUE` when none.
    key: str
    label: str
    cost: Decimal
    previous: Decimal
    share: Decimal
    change: Decimal | None  # percent; None when there was nothing before (or no comparison)
    #: Of `cost`, what up-front purchases (charge type Purchase) cost.
    purchases: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    query: BreakdownQuery
    currency: str | None  # None: no data at all
    total: Decimal
    #: None without a comparison period.
    previous_total: Decimal | None
    change: Decimal | None
    rows: tuple[BreakdownRow, ...]
    #: Groups beyond the top N, summed: (how many, cost, previous cost).
    rest: tuple[int, Decimal, Decimal] | None
    daily: tuple[tuple[date, Decimal], ...]
    #: Totals in other currencies (a tenant billed in several), not in the figures above.
    other_currencies: dict[str, Decimal] = field(default_factory=dict)
    #: The comparison period per day (its own dates).
    previous_daily: tuple[tuple[date, Decimal], ...] = ()
    #: What the days still being reported (today) cost so far; None when there are none.
    partial_total: Decimal | None = None
    #: Of `total`, what up-front purchases cost.
    purchases: Decimal = Decimal(0)
    #: Storage units per day of the history days asked for (`BreakdownQuery.history`).
    history_units: dict[date, int] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return self.currency is not None


def uses_rollup(dimension: Dimension, filters: Sequence[CostFilter]) -> bool:
    """Whether a breakdown can read the rollup: it needs neither resources nor tags."""
    unneeded = (DimensionKind.RESOURCE, DimensionKind.TAG)
    return dimension.kind not in unneeded and all(f.kind is not FilterKind.TAG for f in filters)


def _dimension_value(dim: Dimension) -> Callable[[Group], tuple[str | None, str | None]]:
    """A group's (key, display label) in dimension `dim` (a missing tag: None)."""
    match dim.kind:
        case DimensionKind.SERVICE:
            return lambda g: (g.service_name, g.service_name)
        case DimensionKind.RESOURCE_GROUP:
            return lambda g: (g.resource_group, g.resource_group)
        case DimensionKind.RESOURCE:
            return lambda g: (g.resource_id, g.resource_id)
        case DimensionKind.LOCATION:
            return lambda g: (g.location, g.location)
        case DimensionKind.SUBSCRIPTION:
            return lambda g: (g.subscription_id, g.subscription_name)
        case DimensionKind.METER:
            return lambda g: (g.meter_category, g.meter_category)
        case DimensionKind.CHARGE_TYPE:
            return lambda g: (g.charge_type, g.charge_type)
        case DimensionKind.TAG:
            tag_key = dim.tag_key or ""
            return lambda g: (g.tags.get(tag_key), g.tags.get(tag_key))
    raise AssertionError(dim)


def filter_predicate(f: CostFilter) -> Callable[[Group], bool]:
    """Whether a group passes `f`: values ignore case, except tag values."""
    value = f.value.lower()
    match f.kind:
        case FilterKind.SUBSCRIPTION:
            return lambda g: (
                g.subscription_id.lower() == value or g.subscription_name.lower() == value
            )
        case FilterKind.RESOURCE_GROUP:
            return lambda g: g.resource_group.lower() == value
        case FilterKind.SERVICE:
            return lambda g: g.service_name.lower() == value
        case FilterKind.LOCATION:
            return lambda g: g.location.lower() == value
        case FilterKind.METER:
            return lambda g: g.meter_category.lower() == value
        case FilterKind.CHARGE_TYPE:
            return lambda g: g.charge_type.lower() == value
        case FilterKind.TAG:
            tag_key, exact = f.tag_key or "", f.value
            return lambda g: g.tags.get(tag_key) == exact
    raise AssertionError(f)


def _units_sum(t: Any = T) -> ColumnElement[Any]:
    """SUM of the cost in storage units, as a BIGINT (PostgreSQL's numeric SUM would come back
    as Decimal objects, one per row)."""
    return cast(func.sum(type_coerce(t.cost, BigInteger)), BigInteger)


def _group_in(conn: Connection, ids: list[int], t: Any = T) -> ColumnElement[bool]:
    """`group_id IN ids` with one bound parameter whatever the number of ids."""
    if is_sqlite(conn):
        listed = func.json_each(json.dumps(ids)).table_valued("value")
        found: ColumnElement[bool] = t.group_id.in_(select(listed.c.value))
    else:
        found = t.group_id == any_(cast(ids, ARRAY(BigInteger)))
    return found


#: Per counted group: (key, display label, currency, current units, previous units, units of
#: the days still being reported, is a purchase); units are None where the group has no rows.
GroupTotals = tuple[str | None, str | None, str, int | None, int | None, int | None, bool]
#: Slots of `_sums_by_group`: the current period, the previous one, the partial days, the history.
CURRENT, PREVIOUS, PARTIAL, HISTORY = range(4)


def _in(period: Period | None) -> tuple[date, date] | None:
    return (period.start, period.end) if period is not None else None


def _ranges(query: BreakdownQuery) -> list[tuple[date, date] | None]:
    """The day ranges of each slot (None: not asked for)."""
    periods = query.periods
    return [_in(periods.current), _in(periods.previous), _in(periods.partial), query.history]


def merged(ranges: list[tuple[date, date] | None]) -> list[tuple[date, date]]:
    """The ranges as the fewest contiguous spans (the compared days, the period before and
    today usually make one): a range condition each, so both databases read the primary key
    by range (SQLite scans the whole cost type for an OR of ranges)."""
    spans: list[tuple[date, date]] = []
    for start, end in sorted(r for r in ranges if r is not None):
        if spans and start <= spans[-1][1] + timedelta(days=1):
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def _between(span: tuple[date, date], t: Any = T) -> ColumnElement[bool]:
    return and_(t.usage_date >= span[0], t.usage_date <= span[1])


def _sums_by_group(
    conn: Connection,
    cost_type: ColumnElement[bool],
    ranges: list[tuple[date, date] | None],
    t: Any = T,
) -> dict[int, list[int | None]]:
    """Units per group in each range (None: the group has no rows there, or no such range).

    The ranges do not overlap except the history, which is summed for membership only (the
    daily series below must know every group with rows on its days). PostgreSQL hashes
    (group, range) in one pass. SQLite sorts to group, and sorting one range at a time took
    half the time of sorting all at once (1M rows).
    """
    rows: list[Any] = []
    if is_sqlite(conn):
        for at, span in enumerate(ranges):
            if span is None:
                continue
            rows += conn.execute(
                select(t.group_id, literal(at), _units_sum(t))
                .where(cost_type, t.usage_date >= span[0], t.usage_date <= span[1])
                .group_by(t.group_id)
            ).all()
    else:
        main = [r for r in ranges[:HISTORY]]
        which = case(
            *((and_(t.usage_date >= r[0], t.usage_date <= r[1]), at) for at, r in
              enumerate(main) if r is not None),
            else_=HISTORY,
        )  # fmt: skip
        spans = merged(ranges)
        rows += conn.execute(
            select(t.group_id, which, _units_sum(t))
            .where(cost_type, or_(*(_between(span, t) for span in spans)))
            .group_by(t.group_id, which)
        ).all()
    out: dict[int, list[int | None]] = {}
    get = out.get
    for group_id, at, units in rows:
        found = get(group_id)
        if found is None:
            found = out[group_id] = [None, None, None, None]
        found[at] = units
    return out


def _daily_units(
    conn: Connection,
    cost_type: ColumnElement[bool],
    ranges: list[tuple[date, date] | None],
    wanted: list[int],
    left_out: list[int],
    t: Any = T,
) -> dict[date, int]:
    """Units per day over the ranges, of the `wanted` groups (every group with rows on those
    days is in `wanted` or `left_out`: the smaller side is named)."""
    if not wanted:
        return {}
    which = None
    if left_out:
        which = (
            _group_in(conn, sorted(wanted), t)
            if len(wanted) <= len(left_out)
            else not_(_group_in(conn, sorted(left_out), t))
        )
    units: dict[date, int] = {}
    for span in merged(ranges):  # one range query each: the primary key serves it
        series = select(t.usage_date, _units_sum(t)).where(cost_type, _between(span, t))
        if which is not None:
            series = series.where(which)
        units.update((day, int(u)) for day, u in conn.execute(series.group_by(t.usage_date)))
    return units


def cost_breakdown(engine: Engine, query: BreakdownQuery) -> CostBreakdown:
    """Total, top groups and daily series for `query`.

    In one snapshot: each period summed per cost group (the compared days, the comparison, the
    days still being reported), then the daily totals of the groups that count (when filters
    or currencies leave some out) over the compared days, the comparison and the forecast
    history. Groups map to dimension values and filters in Python (`core.costs.catalog`).
    """
    t = R if uses_rollup(query.dimension, query.filters) else T
    cost_type = t.cost_type == str(query.cost_type)
    ranges = _ranges(query)
    with read_snapshot(engine) as conn:
        sums = _sums_by_group(conn, cost_type, ranges, t)
        groups = catalog_for(engine).groups(conn, sums).by_id
        passes = [filter_predicate(f) for f in query.filters]
        value_of = _dimension_value(query.dimension)
        rows: list[GroupTotals] = []
        counted: list[int] = []
        for group_id, (cur, prev, partial, _history) in sums.items():
            group = groups[group_id]
            if not passes or all(p(group) for p in passes):
                counted.append(group_id)
                purchase = group.charge_type == PURCHASE
                rows.append((*value_of(group), group.currency, cur, prev, partial, purchase))
        currency = choose_currency(rows)
        daily: dict[date, int] = {}
        if currency is not None:
            wanted = [g for g in counted if groups[g].currency == currency]
            left_out = sorted(set(sums).difference(wanted))
            series_ranges = [ranges[CURRENT], ranges[PREVIOUS], None, ranges[HISTORY]]
            daily = _daily_units(conn, cost_type, series_ranges, wanted, left_out, t)
    return shape_breakdown(query, rows, daily)


def currency_totals(rows: Sequence[GroupTotals]) -> dict[str, int]:
    """Units per currency in the current period (with the days still being reported); the
    previous period's when the current one has no rows at all."""
    by_currency: dict[str, int] = {}
    for _key, _label, currency, cur, _prev, partial, _purchase in rows:
        if cur is not None or partial is not None:
            by_currency[currency] = by_currency.get(currency, 0) + (cur or 0) + (partial or 0)
    if not by_currency:
        for _key, _label, currency, _cur, prev, _partial, _purchase in rows:
            if prev is not None:
                by_currency[currency] = by_currency.get(currency, 0) + prev
    return by_currency


def choose_currency(rows: Sequence[GroupTotals]) -> str | None:
    """The currency of the breakdown: the largest total (`currency_totals`); None without
    any rows."""
    by_currency = currency_totals(rows)
    if not by_currency:
        return None
    return max(by_currency, key=lambda c: (by_currency[c], c))


@dataclass(slots=True)
class _Sums:
    """Units per display key of the chosen currency."""

    cur: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    prev: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    purchases: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    labels: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    partial: int | None = None


def _sum_by_key(query: BreakdownQuery, rows: Sequence[GroupTotals], currency: str) -> _Sums:
    sums = _Sums()
    for raw_key, label, row_currency, cur, prev, partial, purchase in rows:
        if row_currency != currency:
            continue
        key = _display_key(query.dimension, raw_key)
        sums.labels[key].append(label or "")
        if cur is not None:
            sums.cur[key] += cur
            if purchase:
                sums.purchases[key] += cur
        if prev is not None:
            sums.prev[key] += prev
        if partial is not None:
            sums.partial = (sums.partial or 0) + partial
    return sums


def shape_breakdown(
    query: BreakdownQuery, rows: Sequence[GroupTotals], daily_units: dict[date, int]
) -> CostBreakdown:
    """Pure: the counted groups' totals and the chosen currency's daily units → the breakdown."""
    periods = query.periods
    current, previous = periods.current, periods.previous
    currency = choose_currency(rows)
    if currency is None:
        return CostBreakdown(
            query, None, ZERO, None if previous is None else ZERO, None, (), None,
            _zero_series(current),
        )  # fmt: skip
    others = {c: units for c, units in currency_totals(rows).items() if c != currency}
    sums = _sum_by_key(query, rows, currency)
    cur, prev = sums.cur, sums.prev
    money = from_storage_units
    total = money(sum(cur.values()))
    previous_total = money(sum(prev.values())) if previous is not None else None
    ranked = sorted(cur, key=lambda k: (-cur[k], k))
    rest_keys = ranked[query.top_n :]

    def change(now: Decimal, before: int) -> Decimal | None:
        return percent_change(now, money(before)) if previous is not None else None

    breakdown_rows = tuple(
        BreakdownRow(
            key=k,
            label=_display_label(query.dimension, k, max(sums.labels[k])),
            cost=money(cur[k]),
            previous=money(prev.get(k, 0)),
            share=share(money(cur[k]), total),
            change=change(money(cur[k]), prev.get(k, 0)),
            purchases=money(sums.purchases.get(k, 0)),
        )
        for k in ranked[: query.top_n]
    )
    rest = None
    if rest_keys:
        rest = (
            len(rest_keys),
            money(sum(cur[k] for k in rest_keys)),
            money(sum(prev.get(k, 0) for k in rest_keys)),
        )
    return CostBreakdown(
        query=query,
        currency=currency,
        total=total,
        previous_total=previous_total,
        change=None if previous_total is None else percent_change(total, previous_total),
        rows=breakdown_rows,
        rest=rest,
        daily=_series(current, daily_units),
        other_currencies={c: money(v) for c, v in sorted(others.items())},
        previous_daily=_series(previous, daily_units) if previous is not None else (),
        partial_total=None if periods.partial is None else money(sums.partial or 0),
        purchases=money(sum(sums.purchases.values())),
        history_units=_history(query.history, daily_units),
    )


def _series(period: Period, units: dict[date, int]) -> tuple[tuple[date, Decimal], ...]:
    return tuple((d, from_storage_units(units.get(d, 0))) for d in period.dates())


def _history(span: tuple[date, date] | None, units: dict[date, int]) -> dict[date, int]:
    if span is None:
        return {}
    return {d: u for d, u in units.items() if span[0] <= d <= span[1]}


def _zero_series(period: Period) -> tuple[tuple[date, Decimal], ...]:
    return tuple((d, ZERO) for d in period.dates())


def _display_key(dim: Dimension, key: str | None) -> str:
    if key is None or key == "":
        return UNTAGGED if dim.kind is DimensionKind.TAG else NO_VALUE
    return str(key)


def _display_label(dim: Dimension, key: str, label: str | None) -> str:
    if key in (UNTAGGED, NO_VALUE):
        return key
    if dim.kind is DimensionKind.RESOURCE:
        # /subscriptions/…/resourcegroups/rg-web/providers/…/virtualmachines/vm-web-01
        parts = key.split("/")
        name = parts[-1]
        rg = parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else ""
        return f"{name} ({rg})" if rg else name
    if dim.kind is DimensionKind.SUBSCRIPTION and label:
        return str(label)
    return str(label or key)


@dataclass(frozen=True, slots=True)
class Freshness:
    """How current the stored data is: first and last day with costs, last ingestion."""

    first_day: date | None
    latest_day: date | None
    last_ingested: datetime | None


def data_freshness(engine: Engine, cost_type: CostType) -> Freshness:
    """The first and last day with cost data of `cost_type`, and its last successful
    ingestion."""
    where = T.cost_type == str(cost_type)
    r = IngestionRun.__table__.c  # type: ignore[attr-defined]
    with engine.connect() as conn:
        # Two queries: SQLite answers a lone min() or max() from the primary key, not both.
        first_day = conn.execute(select(func.min(T.usage_date)).where(where)).scalar()
        latest_day = conn.execute(select(func.max(T.usage_date)).where(where)).scalar()
        last = conn.execute(
            select(r.finished_at)
            .where(and_(r.status == RunStatus.SUCCEEDED, r.cost_type == str(cost_type)))
            .order_by(r.finished_at.desc())
            .limit(1)
        ).scalar()
    return Freshness(first_day, latest_day, last)
