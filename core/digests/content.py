"""What a digest says, gathered from each feature's own read API (no SQL of its own):

- spend: `core.costs.breakdown.cost_breakdown` over yesterday, week to date and month to date,
  each against the same days of the period before (`core.costs.periods`);
- top movers: the last 7 days against the 7 before, by service and by resource group, and for
  the largest movers the resources behind them (the same breakdown, filtered);
- budgets in scope: `core.budgets.evaluate.assess` (spend to date and the forecast to the
  period end, the figures budget alerts use);
- open anomaly incidents: `core.anomalies.store.list_incidents`;
- recommendations: `core.recommendations.store.open_recommendations`, largest saving first,
  less those already decided, with the decision's version (the `RecDecisionsReader` port);
- realized savings: the `RealizedSavingsReader` port (the approvals feature), when wired;
- freshness: `data_freshness` and the last recommendations refresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from core.anomalies.model import Status as IncidentStatus
from core.anomalies.store import Incident, list_incidents
from core.budgets.checks import scope_filters
from core.budgets.evaluate import assess
from core.budgets.model import BudgetRecord
from core.budgets.store import list_budgets
from core.costs.breakdown import (
    BreakdownQuery,
    BreakdownRow,
    CostBreakdown,
    cost_breakdown,
    data_freshness,
)
from core.costs.grammar import parse_filter
from core.costs.model import (
    CostFilter,
    CostType,
    Dimension,
    DimensionKind,
    FilterKind,
    ForecastProvider,
)
from core.costs.periods import PeriodPair, resolve_period
from core.digests.model import (
    RealizedSaving,
    RealizedSavingsReader,
    RecDecision,
    RecDecisionsReader,
    Subscription,
)
from core.kernel.errors import UserInputError
from core.recommendations.model import StoredRecommendation
from core.recommendations.store import last_refresh, open_recommendations

#: Every row of a breakdown (movers rank all groups by their change, not by their cost).
ALL_ROWS = 10_000
#: The incidents a digest looks back over.
INCIDENT_DAYS = 14
MAX_INCIDENTS = 5
CHART_DAYS = 30


@dataclass(frozen=True, slots=True)
class SpendLine:
    label: str
    #: None: no complete day in the period yet, or no data (`note` says which).
    total: Decimal | None
    previous: Decimal | None
    change: Decimal | None
    span: str = ""
    comparison: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Mover:
    dimension: str
    key: str
    label: str
    cost: Decimal
    previous: Decimal
    #: (resource, change) behind the move, largest change first.
    resources: tuple[tuple[str, Decimal], ...] = ()

    @property
    def delta(self) -> Decimal:
        return self.cost - self.previous


@dataclass(frozen=True, slots=True)
class BudgetLine:
    name: str
    amount: Decimal
    currency: str
    spent: Decimal
    forecast: Decimal | None
    period_end: date


@dataclass(frozen=True, slots=True)
class RecLine:
    id: int
    version: str
    title: str
    resource: str
    saving: Decimal | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class DigestContent:
    subscription: Subscription
    slot: date
    currency: str | None
    spend: tuple[SpendLine, ...]
    movers: tuple[Mover, ...]
    movers_span: str
    budgets: tuple[BudgetLine, ...]
    incidents: tuple[Incident, ...]
    recommendations: tuple[RecLine, ...]
    open_recommendations: int
    #: None: no reader is wired (the section is left out); empty: nothing realized yet.
    realized: tuple[RealizedSaving, ...] | None
    latest_day: date | None
    last_ingested: datetime | None
    recs_refreshed: datetime | None
    chart: tuple[tuple[date, Decimal], ...]
    chart_previous: tuple[tuple[date, Decimal], ...] = ()
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class DigestSources:
    """What the builder needs besides the engine (settings and the realized-savings port)."""

    cost_type: CostType = CostType.ACTUAL
    forecast_provider: ForecastProvider = ForecastProvider.DATA
    movers: int = 3
    resources_per_mover: int = 2
    recommendations: int = 3
    realized_savings: RealizedSavingsReader | None = None
    rec_decisions: RecDecisionsReader | None = None


def parse_filters(texts: Sequence[str]) -> tuple[CostFilter, ...]:
    return tuple(parse_filter(t) for t in texts)


class _Costs:
    """Breakdowns over one subscription's filters, as of one day."""

    def __init__(
        self, engine: Engine, filters: tuple[CostFilter, ...], cost_type: CostType, today: date
    ) -> None:
        self.engine = engine
        self.filters = filters
        self.cost_type = cost_type
        self.today = today
        fresh = data_freshness(engine, cost_type)
        self.first_day = fresh.first_day
        self.latest_day = fresh.latest_day
        self.last_ingested = fresh.last_ingested

    def pair(self, token: str) -> PeriodPair:
        return resolve_period(token, self.today).plan(self.today, self.first_day, self.latest_day)

    def breakdown(
        self,
        pair: PeriodPair,
        kind: DimensionKind,
        extra: tuple[CostFilter, ...] = (),
        top_n: int = ALL_ROWS,
    ) -> CostBreakdown:
        query = BreakdownQuery(pair, Dimension(kind), self.cost_type, self.filters + extra, top_n)
        return cost_breakdown(self.engine, query)


def _spend_line(costs: _Costs, label: str, token: str) -> SpendLine:
    try:
        pair = costs.pair(token)
    except UserInputError as exc:
        return SpendLine(label, None, None, None, note=exc.message)
    if pair.partial_only:
        return SpendLine(label, None, None, None, note="no complete day yet")
    b = costs.breakdown(pair, DimensionKind.SERVICE, top_n=1)
    if not b.has_data:
        return SpendLine(label, None, None, None, span=pair.current.span(), note="no costs")
    return SpendLine(
        label, b.total, b.previous_total, b.change, pair.current.span(), pair.comparison
    )


def _movers(costs: _Costs, sources: DigestSources) -> tuple[tuple[Mover, ...], str]:
    try:
        pair = costs.pair("7d")
    except UserInputError:
        return (), ""
    if pair.previous is None or pair.partial_only:
        return (), ""
    found: list[Mover] = []
    for kind, label, filter_kind in (
        (DimensionKind.SERVICE, "service", FilterKind.SERVICE),
        (DimensionKind.RESOURCE_GROUP, "resource group", FilterKind.RESOURCE_GROUP),
    ):
        rows = _by_change(costs.breakdown(pair, kind).rows)[: sources.movers]
        for i, row in enumerate(rows):
            resources: tuple[tuple[str, Decimal], ...] = ()
            if i < 2 and sources.resources_per_mover:
                behind = costs.breakdown(
                    pair, DimensionKind.RESOURCE, (CostFilter(filter_kind, row.key),)
                )
                resources = tuple(
                    (r.label, r.cost - r.previous)
                    for r in _by_change(behind.rows)[: sources.resources_per_mover]
                )
            found.append(Mover(label, row.key, row.label, row.cost, row.previous, resources))
    span = f"{pair.current.span()} against {pair.previous.span()}"
    return tuple(found), span


def _by_change(rows: Sequence[BreakdownRow]) -> list[BreakdownRow]:
    moved = [r for r in rows if r.cost != r.previous]
    return sorted(moved, key=lambda r: (-abs(r.cost - r.previous), r.label))


def _in_scope(filters: tuple[CostFilter, ...], budget: BudgetRecord) -> bool:
    """A budget belongs in a digest when it counts within the digest's filters (every filter
    of the digest is one of the budget's)."""
    own = {(f.kind, f.tag_key, f.value.lower()) for f in scope_filters(budget.scope)}
    return all((f.kind, f.tag_key, f.value.lower()) in own for f in filters)


def _budgets(engine: Engine, costs: _Costs, sources: DigestSources) -> tuple[BudgetLine, ...]:
    budgets = [b for b in list_budgets(engine) if _in_scope(costs.filters, b)]
    if not budgets:
        return ()
    assessments, _ = assess(engine, costs.today, budgets, sources.forecast_provider)
    return tuple(
        BudgetLine(
            a.budget.name,
            a.budget.amount,
            a.budget.currency,
            a.spent,
            a.forecast.total,
            a.window.end,
        )
        for a in assessments
        if a.current
    )


def _incident_matches(incident: Incident, filters: tuple[CostFilter, ...]) -> bool:
    for f in filters:
        value = f.value.lower()
        if f.kind is FilterKind.SUBSCRIPTION and value not in (
            incident.subscription_id.lower(),
            incident.subscription_name.lower(),
        ):
            return False
        if f.kind is FilterKind.RESOURCE_GROUP and incident.resource_group.lower() != value:
            return False
        if f.kind is FilterKind.SERVICE and incident.service_name.lower() != value:
            return False
        if f.kind not in (FilterKind.SUBSCRIPTION, FilterKind.RESOURCE_GROUP, FilterKind.SERVICE):
            return False  # incidents are per subscription, service and resource group only
    return True


def _incidents(engine: Engine, costs: _Costs) -> tuple[Incident, ...]:
    found = list_incidents(engine, costs.today - timedelta(days=INCIDENT_DAYS), costs.today)
    open_ = [
        i
        for i in found
        if i.status is IncidentStatus.OPEN
        and i.cost_type == costs.cost_type
        and _incident_matches(i, costs.filters)
    ]
    return tuple(open_[:MAX_INCIDENTS])


def rec_matches(s: StoredRecommendation, filters: tuple[CostFilter, ...]) -> bool:
    rec = s.recommendation
    for f in filters:
        value = f.value.lower()
        if f.kind is FilterKind.SUBSCRIPTION and value != rec.subscription_id.lower():
            return False
        if f.kind is FilterKind.RESOURCE_GROUP and value != rec.resource_group.lower():
            return False
        if f.kind is FilterKind.LOCATION and value != rec.location.lower():
            return False
        if f.kind is FilterKind.TAG and rec.tags.get(f.tag_key or "", "").lower() != value:
            return False
    return True


def _recommendations(
    engine: Engine,
    filters: tuple[CostFilter, ...],
    limit: int,
    read_decisions: RecDecisionsReader | None,
) -> tuple[tuple[RecLine, ...], int]:
    found = [s for s in open_recommendations(engine, evidence=False) if rec_matches(s, filters)]
    decided = read_decisions(engine, [s.id for s in found]) if read_decisions else {}
    undecided = RecDecision(0)
    found = [s for s in found if decided.get(s.id, undecided).open]

    def order(s: StoredRecommendation) -> tuple[int, Decimal, int]:
        saving = s.recommendation.saving
        return (1, Decimal(0), s.id) if saving is None else (0, -saving.amount, s.id)

    top = sorted(found, key=order)[:limit]
    lines = tuple(
        RecLine(
            s.id,
            str(decided.get(s.id, undecided).version),
            s.recommendation.title,
            s.recommendation.resource_name,
            s.recommendation.saving.amount if s.recommendation.saving else None,
            s.recommendation.saving.currency if s.recommendation.saving else None,
        )
        for s in top
    )
    return lines, len(found)


def build_content(
    engine: Engine, subscription: Subscription, slot: date, sources: DigestSources
) -> DigestContent:
    """The digest of `subscription` for its local date `slot` (data through the day before)."""
    filters = parse_filters(subscription.filters)
    costs = _Costs(engine, filters, sources.cost_type, slot)
    spend = (
        _spend_line(costs, "Yesterday", "yesterday"),
        _spend_line(costs, "Week to date", "this-week"),
        _spend_line(costs, "Month to date", "mtd"),
    )
    movers, movers_span = _movers(costs, sources)
    chart: tuple[tuple[date, Decimal], ...] = ()
    chart_previous: tuple[tuple[date, Decimal], ...] = ()
    currency: str | None = None
    notes: list[str] = []
    try:
        trend = costs.breakdown(costs.pair(f"{CHART_DAYS}d"), DimensionKind.SERVICE, top_n=1)
        chart, chart_previous, currency = trend.daily, trend.previous_daily, trend.currency
        if trend.other_currencies:
            notes.append(
                "also billed in " + ", ".join(sorted(trend.other_currencies)) + " (not shown)"
            )
    except UserInputError as exc:
        notes.append(exc.message)
    recs, open_count = _recommendations(
        engine, filters, sources.recommendations, sources.rec_decisions
    )
    realized = (
        None
        if sources.realized_savings is None
        else tuple(sources.realized_savings(engine, filters))
    )
    _last, ok = last_refresh(engine)
    return DigestContent(
        subscription=subscription,
        slot=slot,
        currency=currency,
        spend=spend,
        movers=movers,
        movers_span=movers_span,
        budgets=_budgets(engine, costs, sources),
        incidents=_incidents(engine, costs),
        recommendations=recs,
        open_recommendations=open_count,
        realized=realized,
        latest_day=costs.latest_day,
        last_ingested=costs.last_ingested,
        recs_refreshed=ok.started_at if ok else None,
        chart=chart,
        chart_previous=chart_previous,
        notes=tuple(notes),
    )
