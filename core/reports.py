"""Cost breakdowns: total, top groups with share and change, and a daily series.

One query reads both the period and the one it is compared with, grouped by day, dimension and
currency; everything else is computed in Python from that small result (a few thousand rows).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Engine, String, and_, cast, func, or_, select

from core.errors import UserInputError
from core.models import CostRecord, CostType, IngestionRun, RunStatus
from core.money import ZERO, percent_change, share
from core.periods import Period, PeriodPair

T = CostRecord.__table__.c  # type: ignore[attr-defined]
UNTAGGED = "(untagged)"
NO_VALUE = "(none)"
_TAG_KEY = re.compile(r"^[\w.\- ]{1,128}$")


class DimensionKind(StrEnum):
    SERVICE = "service"
    RESOURCE_GROUP = "resource-group"
    RESOURCE = "resource"
    LOCATION = "location"
    SUBSCRIPTION = "subscription"
    METER = "meter"
    TAG = "tag"


_ALIASES: dict[str, DimensionKind] = {
    "service": DimensionKind.SERVICE,
    "services": DimensionKind.SERVICE,
    "resource-group": DimensionKind.RESOURCE_GROUP,
    "resourcegroup": DimensionKind.RESOURCE_GROUP,
    "rg": DimensionKind.RESOURCE_GROUP,
    "resource": DimensionKind.RESOURCE,
    "resources": DimensionKind.RESOURCE,
    "location": DimensionKind.LOCATION,
    "region": DimensionKind.LOCATION,
    "subscription": DimensionKind.SUBSCRIPTION,
    "sub": DimensionKind.SUBSCRIPTION,
    "meter": DimensionKind.METER,
    "meter-category": DimensionKind.METER,
}
ACCEPTED_DIMENSIONS = (
    "service",
    "resource-group",
    "resource",
    "location",
    "subscription",
    "meter",
    "tag:<key>",
)


@dataclass(frozen=True, slots=True)
class Dimension:
    kind: DimensionKind
    tag_key: str | None = None

    @property
    def label(self) -> str:
        return f"tag {self.tag_key}" if self.kind is DimensionKind.TAG else str(self.kind)

    @property
    def token(self) -> str:
        return f"tag:{self.tag_key}" if self.kind is DimensionKind.TAG else str(self.kind)


def parse_dimension(token: str) -> Dimension:
    text = token.strip()
    lowered = text.lower()
    if lowered.startswith("tag:"):
        key = text[4:].strip().lower()
        if not _TAG_KEY.match(key):
            raise UserInputError(
                f"'{token}' needs a tag name after 'tag:' (letters, digits, '_', '-', '.').",
                accepted=ACCEPTED_DIMENSIONS,
            )
        return Dimension(DimensionKind.TAG, key)
    kind = _ALIASES.get(lowered)
    if kind is None:
        raise UserInputError(
            f"'{token}' is not a dimension I can group by.", accepted=ACCEPTED_DIMENSIONS
        )
    return Dimension(kind)


class FilterKind(StrEnum):
    SUBSCRIPTION = "sub"
    RESOURCE_GROUP = "rg"
    SERVICE = "service"
    LOCATION = "location"
    METER = "meter"
    TAG = "tag"


_FILTER_ALIASES: dict[str, FilterKind] = {
    "sub": FilterKind.SUBSCRIPTION,
    "subscription": FilterKind.SUBSCRIPTION,
    "rg": FilterKind.RESOURCE_GROUP,
    "resource-group": FilterKind.RESOURCE_GROUP,
    "service": FilterKind.SERVICE,
    "location": FilterKind.LOCATION,
    "region": FilterKind.LOCATION,
    "meter": FilterKind.METER,
    "tag": FilterKind.TAG,
}
ACCEPTED_FILTERS = (
    "sub:<name or id>",
    "rg:<resource group>",
    "service:<name>",
    "location:<region>",
    "meter:<category>",
    "tag:<key>=<value>",
)


@dataclass(frozen=True, slots=True)
class CostFilter:
    kind: FilterKind
    value: str
    tag_key: str | None = None

    def describe(self) -> str:
        if self.kind is FilterKind.TAG:
            return f"tag {self.tag_key}={self.value}"
        return f"{self.kind}:{self.value}"


def parse_filter(token: str) -> CostFilter:
    name, _, value = token.partition(":")
    kind = _FILTER_ALIASES.get(name.lower())
    value = value.strip()
    if kind is None or not value:
        raise UserInputError(f"'{token}' is not a filter I know.", accepted=ACCEPTED_FILTERS)
    if kind is FilterKind.TAG:
        key, eq, tag_value = value.partition("=")
        key = key.strip().lower()
        if not eq or not _TAG_KEY.match(key) or not tag_value.strip():
            raise UserInputError(
                f"'{token}' should look like tag:<key>=<value>, e.g. tag:env=prod.",
                accepted=ACCEPTED_FILTERS,
            )
        return CostFilter(kind, tag_value.strip(), key)
    return CostFilter(kind, value)


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


def _dimension_columns(dim: Dimension) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """(group key, display label) expressions; the label is an aggregate of the group."""
    match dim.kind:
        case DimensionKind.SERVICE:
            key = T.service_name
        case DimensionKind.RESOURCE_GROUP:
            key = T.resource_group
        case DimensionKind.RESOURCE:
            key = T.resource_id
        case DimensionKind.LOCATION:
            key = T.location
        case DimensionKind.SUBSCRIPTION:
            return T.subscription_id, func.max(T.subscription_name)
        case DimensionKind.METER:
            key = T.meter_category
        case DimensionKind.TAG:
            key = T.tags[dim.tag_key].as_string()
    return key, func.max(key)


def _filter_clause(f: CostFilter) -> ColumnElement[bool]:
    value = f.value.lower()
    match f.kind:
        case FilterKind.SUBSCRIPTION:
            return or_(T.subscription_id == value, func.lower(T.subscription_name) == value)
        case FilterKind.RESOURCE_GROUP:
            return func.lower(T.resource_group) == value
        case FilterKind.SERVICE:
            return func.lower(T.service_name) == value
        case FilterKind.LOCATION:
            return func.lower(T.location) == value
        case FilterKind.METER:
            return func.lower(T.meter_category) == value
        case FilterKind.TAG:
            return cast(T.tags[f.tag_key].as_string(), String) == f.value
    raise AssertionError(f)


def cost_breakdown(engine: Engine, query: BreakdownQuery) -> CostBreakdown:
    """Run the breakdown query for `query` and shape its result."""
    key_col, label_col = _dimension_columns(query.dimension)
    start = query.periods.previous.start
    end = query.periods.current.end
    stmt = (
        select(T.usage_date, key_col.label("k"), label_col.label("l"), T.currency, func.sum(T.cost))
        .where(
            T.cost_type == str(query.cost_type),
            T.usage_date >= start,
            T.usage_date <= end,
            *(_filter_clause(f) for f in query.filters),
        )
        .group_by(T.usage_date, key_col, T.currency)
    )
    with engine.connect() as conn:
        result = [tuple(r) for r in conn.execute(stmt)]
    return shape_breakdown(query, result)


def shape_breakdown(query: BreakdownQuery, result: Iterable[Sequence[Any]]) -> CostBreakdown:
    """Pure: rows of (day, key, label, currency, cost) → the breakdown."""
    current, previous = query.periods.current, query.periods.previous
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    rows = list(result)
    for day, _key, _label, currency, cost in rows:
        if current.start <= day <= current.end:
            by_currency[currency] += cost
    if not by_currency:
        # Nothing in the current period; fall back to the previous period's currency.
        for _day, _key, _label, currency, cost in rows:
            by_currency[currency] += cost
    if not by_currency:
        return CostBreakdown(query, None, ZERO, ZERO, None, (), None, _zero_series(current))
    currency = max(by_currency, key=lambda c: (by_currency[c], c))

    cur: dict[str, Decimal] = defaultdict(Decimal)
    prev: dict[str, Decimal] = defaultdict(Decimal)
    labels: dict[str, str] = {}
    daily: dict[date, Decimal] = dict.fromkeys(current.dates(), ZERO)
    for day, key, label, row_currency, cost in rows:
        if row_currency != currency:
            continue
        key = _display_key(query.dimension, key)
        labels[key] = _display_label(query.dimension, key, label)
        if current.start <= day <= current.end:
            cur[key] += cost
            daily[day] += cost
        elif previous.start <= day <= previous.end:
            prev[key] += cost

    total = sum(cur.values(), ZERO)
    previous_total = sum(prev.values(), ZERO)
    ranked = sorted(cur, key=lambda k: (-cur[k], k))
    top = ranked[: query.top_n]
    rest_keys = ranked[query.top_n :]
    breakdown_rows = tuple(
        BreakdownRow(
            key=k,
            label=labels[k],
            cost=cur[k],
            previous=prev.get(k, ZERO),
            share=share(cur[k], total),
            change=percent_change(cur[k], prev.get(k, ZERO)),
        )
        for k in top
    )
    rest = None
    if rest_keys:
        rest = (
            len(rest_keys),
            sum((cur[k] for k in rest_keys), ZERO),
            sum((prev.get(k, ZERO) for k in rest_keys), ZERO),
        )
    others = {c: v for c, v in sorted(by_currency.items()) if c != currency}
    return CostBreakdown(
        query=query,
        currency=currency,
        total=total,
        previous_total=previous_total,
        change=percent_change(total, previous_total),
        rows=breakdown_rows,
        rest=rest,
        daily=tuple(sorted(daily.items())),
        other_currencies=others,
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
