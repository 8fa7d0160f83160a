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
from datetime import date, datetime
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
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY

from core.costs.catalog import Group, catalog_for
from core.costs.model import CostFilter, CostType, Dimension, DimensionKind, FilterKind, RunStatus
from core.costs.periods import Period, PeriodPair
from core.costs.tables import CostRecord, IngestionRun
from core.kernel.db.engine import is_sqlite, read_snapshot
from core.kernel.money import ZERO, from_storage_units, percent_change, share

T = CostRecord.__table__.c  # type: ignore[attr-defined]
UNTAGGED = "(untagged)"
NO_VALUE = "(none)"
_TAG_KEY = re.compile(r"^[\w.\- ]{1,128}$")


@dataclass(frozen=True, slots=True)
class BreakdownQuery:
    periods: PeriodPair
    dimension: Dimension
    cost_type: CostType
    filters: tuple[CostFilter, ...] = ()
    top_n: int = 10


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    key: str
    label: str
    cost: Decimal
    previous: Decimal
    share: Decimal
    change: Decimal | None  # percent; None when there was nothing before


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    query: BreakdownQuery
    currency: str | None  # None: no data at all
    total: Decimal
    previous_total: Decimal
    change: Decimal | None
    rows: tuple[BreakdownRow, ...]
    #: Groups beyond the top N, summed: (how many, cost, previous cost).
    rest: tuple[int, Decimal, Decimal] | None
    daily: tuple[tuple[date, Decimal], ...]
    #: Totals in other currencies (a tenant billed in several), not in the figures above.
    other_currencies: dict[str, Decimal] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return self.currency is not None


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
        case DimensionKind.TAG:
            tag_key = dim.tag_key or ""
            return lambda g: (g.tags.get(tag_key), g.tags.get(tag_key))
    raise AssertionError(dim)


def _filter_predicate(f: CostFilter) -> Callable[[Group], bool]:
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
        case FilterKind.TAG:
            tag_key, exact = f.tag_key or "", f.value
            return lambda g: g.tags.get(tag_key) == exact
    raise AssertionError(f)


def _units_sum() -> ColumnElement[Any]:
    """SUM of the cost in storage units, as a BIGINT (PostgreSQL's numeric SUM would come back
    as Decimal objects, one per row)."""
    return cast(func.sum(type_coerce(T.cost, BigInteger)), BigInteger)


def _group_in(conn: Connection, ids: list[int]) -> ColumnElement[bool]:
    """`group_id IN ids` with one bound parameter whatever the number of ids."""
    if is_sqlite(conn):
        listed = func.json_each(json.dumps(ids)).table_valued("value")
        found: ColumnElement[bool] = T.group_id.in_(select(listed.c.value))
    else:
        found = T.group_id == any_(cast(ids, ARRAY(BigInteger)))
    return found


#: Per counted group: (key, display label, currency, current units, previous units); None
#: where the group has no rows in that period.
GroupTotals = tuple[str | None, str | None, str, int | None, int | None]


def _sums_by_group(
    conn: Connection, cost_type: ColumnElement[bool], current: Period, previous: Period
) -> dict[int, list[int | None]]:
    """Units per group in [current, previous] (None: the group has no rows in that period).

    PostgreSQL hashes (group, period) in one pass over both periods. SQLite sorts to group, and
    sorting one period at a time took half the time of sorting both at once (1M rows).
    """
    rows: list[Any] = []
    if is_sqlite(conn):
        for at, period in enumerate((current, previous)):
            rows += conn.execute(
                select(T.group_id, literal(at), _units_sum())
                .where(cost_type, T.usage_date >= period.start, T.usage_date <= period.end)
                .group_by(T.group_id)
            ).all()
    else:
        in_current = case((T.usage_date >= current.start, 0), else_=1)
        rows += conn.execute(
            select(T.group_id, in_current, _units_sum())
            .where(cost_type, T.usage_date >= previous.start, T.usage_date <= current.end)
            .group_by(T.group_id, in_current)
        ).all()
    out: dict[int, list[int | None]] = {}
    get = out.get
    for group_id, at, units in rows:
        found = get(group_id)
        if found is None:
            found = out[group_id] = [None, None]
        found[at] = units
    return out


def cost_breakdown(engine: Engine, query: BreakdownQuery) -> CostBreakdown:
    """Total, top groups and daily series for `query`.

    In one snapshot: the period and the one before summed per cost group, then the current
    period's daily totals (of the groups that count, when filters or currencies leave
    some out). Groups map to dimension values and filters in Python (`core.costs.catalog`).
    """
    current, previous = query.periods.current, query.periods.previous
    cost_type = T.cost_type == str(query.cost_type)

    with read_snapshot(engine) as conn:
        periods = _sums_by_group(conn, cost_type, current, previous)
        groups = catalog_for(engine).groups(conn, periods).by_id
        passes = [_filter_predicate(f) for f in query.filters]
        value_of = _dimension_value(query.dimension)
        rows: list[GroupTotals] = []
        counted: list[int] = []
        for group_id, (cur, prev) in periods.items():
            group = groups[group_id]
            if not passes or all(p(group) for p in passes):
                counted.append(group_id)
                rows.append((*value_of(group), group.currency, cur, prev))
        currency = choose_currency(rows)
        daily: dict[date, int] = {}
        if currency is not None:
            in_period = {g for g, (cur, _) in periods.items() if cur is not None}
            wanted = [g for g in counted if g in in_period and groups[g].currency == currency]
            left_out = sorted(in_period.difference(wanted))
            series = (
                select(T.usage_date, _units_sum())
                .where(cost_type, T.usage_date >= current.start, T.usage_date <= current.end)
                .group_by(T.usage_date)
            )
            if left_out:
                # Every group with rows in the period is in `in_period`: name the smaller side.
                series = series.where(
                    _group_in(conn, sorted(wanted))
                    if len(wanted) <= len(left_out)
                    else not_(_group_in(conn, left_out))
                )
            if wanted:
                daily = {day: int(units) for day, units in conn.execute(series)}
    return shape_breakdown(query, rows, daily)


def currency_totals(rows: Sequence[GroupTotals]) -> dict[str, int]:
    """Units per currency in the current period; the previous period's when the current one
    has no rows at all."""
    by_currency: dict[str, int] = {}
    for _key, _label, currency, cur, _prev in rows:
        if cur is not None:
            by_currency[currency] = by_currency.get(currency, 0) + cur
    if not by_currency:
        for _key, _label, currency, _cur, prev in rows:
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


def shape_breakdown(
    query: BreakdownQuery, rows: Sequence[GroupTotals], daily_units: dict[date, int]
) -> CostBreakdown:
    """Pure: the counted groups' totals and the chosen currency's daily units → the breakdown."""
    current = query.periods.current
    currency = choose_currency(rows)
    if currency is None:
        return CostBreakdown(query, None, ZERO, ZERO, None, (), None, _zero_series(current))
    others = {c: units for c, units in currency_totals(rows).items() if c != currency}
    cur: dict[str, int] = defaultdict(int)
    prev: dict[str, int] = defaultdict(int)
    labels: dict[str, list[str]] = defaultdict(list)
    for raw_key, label, row_currency, cur_units, prev_units in rows:
        if row_currency != currency:
            continue
        key = _display_key(query.dimension, raw_key)
        labels[key].append(label or "")
        if cur_units is not None:
            cur[key] += cur_units
        if prev_units is not None:
            prev[key] += prev_units

    total = sum(cur.values())
    previous_total = sum(prev.values())
    ranked = sorted(cur, key=lambda k: (-cur[k], k))
    top = ranked[: query.top_n]
    rest_keys = ranked[query.top_n :]
    money = from_storage_units
    breakdown_rows = tuple(
        BreakdownRow(
            key=k,
            label=_display_label(query.dimension, k, max(labels[k])),
            cost=money(cur[k]),
            previous=money(prev.get(k, 0)),
            share=share(money(cur[k]), money(total)),
            change=percent_change(money(cur[k]), money(prev.get(k, 0))),
        )
        for k in top
    )
    rest = None
    if rest_keys:
        rest = (
            len(rest_keys),
            money(sum(cur[k] for k in rest_keys)),
            money(sum(prev.get(k, 0) for k in rest_keys)),
        )
    daily = {d: money(daily_units.get(d, 0)) for d in current.dates()}
    return CostBreakdown(
        query=query,
        currency=currency,
        total=money(total),
        previous_total=money(previous_total),
        change=percent_change(money(total), money(previous_total)),
        rows=breakdown_rows,
        rest=rest,
        daily=tuple(sorted(daily.items())),
        other_currencies={c: money(v) for c, v in sorted(others.items())},
    )


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
    """How current the stored data is: last day with costs, last successful ingestion."""

    latest_day: date | None
    last_ingested: datetime | None


def data_freshness(engine: Engine, cost_type: CostType) -> Freshness:
    with engine.connect() as conn:
        latest_day = conn.execute(
            select(func.max(T.usage_date)).where(T.cost_type == str(cost_type))
        ).scalar()
        r = IngestionRun.__table__.c  # type: ignore[attr-defined]
        last = conn.execute(
            select(IngestionRun.__table__.c.finished_at)  # type: ignore[attr-defined]
            .where(and_(r.status == RunStatus.SUCCEEDED, r.cost_type == str(cost_type)))
            .order_by(r.finished_at.desc())
            .limit(1)
        ).scalar()
    return Freshness(latest_day, last)
