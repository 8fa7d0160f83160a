"""Cost answers as neutral cards: the breakdown table, the daily chart, drill-down buttons."""

from __future__ import annotations

from decimal import Decimal

from core.costs.actions import CostsAction
from core.costs.breakdown import CostBreakdown, Freshness
from core.costs.grammar import CostsRequest, command_text
from core.costs.model import CostType, Dimension, DimensionKind
from core.kernel.cards import (
    Actions,
    Align,
    Block,
    Button,
    Card,
    Chart,
    ChartPoint,
    Column,
    Context,
    Fact,
    Facts,
    Header,
    Table,
    Text,
    card,
)
from core.kernel.money import format_money, format_percent

#: The dimensions offered as drill-down buttons, in this order (the current one left out).
DRILLDOWNS = (
    DimensionKind.SERVICE,
    DimensionKind.RESOURCE_GROUP,
    DimensionKind.SUBSCRIPTION,
    DimensionKind.LOCATION,
    DimensionKind.RESOURCE,
)


def freshness_note(freshness: Freshness) -> str:
    latest, last = freshness.latest_day, freshness.last_ingested
    parts = []
    if latest is not None:
        parts.append(f"Data through {latest:%Y-%m-%d}")
    if last is not None:
        parts.append(f"last ingested {last:%Y-%m-%d %H:%M} UTC")
    return " · ".join(parts) if parts else "No cost data ingested yet"


def render_breakdown(request: CostsRequest, b: CostBreakdown, note: str) -> Card:
    q = b.query
    cur, prev = q.periods.current, q.periods.previous
    title = f"Costs by {q.dimension.label} — {cur.label}"
    scope_text = ", ".join(f.describe() for f in q.filters) or "all ingested scopes"
    cost_type = "amortized" if q.cost_type is CostType.AMORTIZED else "actual"
    if not b.has_data or b.currency is None:
        return card(
            title,
            f"No {cost_type} costs recorded for {cur.label} ({scope_text}).",
            Header(title),
            Text(
                f"No {cost_type} costs recorded between {cur.start} and {cur.end} for {scope_text}."
            ),
            Context(f"{note}. Run `cloudoptima ingest` to pull costs from Azure."),
        )
    currency = b.currency

    def money(amount: Decimal) -> str:
        return format_money(amount, currency)

    change = format_percent(b.change, signed=True)
    summary = (
        f"{money(b.total)} {cost_type} cost for {cur.label} "
        f"({change} vs {money(b.previous_total)} the {prev.label})."
    )
    rows = [
        (
            r.label,
            money(r.cost),
            format_percent(r.share),
            _change_text(r.change, r.cost),
        )
        for r in b.rows
    ]
    footer = None
    if b.rest:
        count, rest_cost, _rest_previous = b.rest
        footer = f"… {count} more {q.dimension.label} group(s): {money(rest_cost)}"
    facts = [
        Fact("Total", money(b.total)),
        Fact(f"vs {prev.label}", f"{money(b.previous_total)} ({change})"),
        Fact("Period", f"{cur.start:%Y-%m-%d} – {cur.end:%Y-%m-%d}"),
        Fact("Scope", scope_text),
    ]
    blocks: list[Block] = [
        Header(title),
        Facts(tuple(facts)),
        Table(
            columns=(
                Column(q.dimension.label.capitalize()),
                Column("Cost", Align.RIGHT),
                Column("Share", Align.RIGHT),
                Column("Change", Align.RIGHT),
            ),
            rows=tuple(rows),
            footer=footer,
        ),
        Chart(
            title=f"Daily {cost_type} cost",
            points=tuple(ChartPoint(day, value) for day, value in b.daily),
            unit=b.currency,
        ),
    ]
    if b.other_currencies:
        others = ", ".join(format_money(v, c) for c, v in b.other_currencies.items())
        blocks.append(Context(f"Also billed in other currencies, not included above: {others}."))
    blocks.append(Context(f"{note} · {cost_type} cost"))
    buttons = tuple(
        Button(
            label=f"By {kind}",
            action_id=CostsAction.DRILLDOWN,
            value=command_text(request, Dimension(kind)),
        )
        for kind in DRILLDOWNS
        if kind is not q.dimension.kind
    )[:4]
    blocks.append(Actions(buttons))
    return card(title, summary, *blocks)


def _change_text(change: Decimal | None, current: Decimal) -> str:
    if change is None:
        return "new" if current else "—"
    return format_percent(change, signed=True)
