"""Cost answers as neutral cards: the breakdown table (a row opens what is behind it), the daily
chart with the period before overlaid, what was clipped or left out, the forecast."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.costs.actions import CostsAction
from core.costs.breakdown import CostBreakdown, Freshness
from core.costs.drill import FILTERED_DIMENSION, back_button, row_action
from core.costs.forecasting import Forecast
from core.costs.grammar import CostsRequest, command_text
from core.costs.model import CostType, Dimension, DimensionKind
from core.costs.periods import Period, PeriodPair
from core.kernel.cards import (
    Actions,
    Align,
    Block,
    Button,
    Card,
    Chart,
    ChartPoint,
    ChartSeries,
    ChartTick,
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

#: The dimensions offered as regrouping buttons, in this order (the current one left out).
DRILLDOWNS = (
    DimensionKind.SERVICE,
    DimensionKind.RESOURCE_GROUP,
    DimensionKind.SUBSCRIPTION,
    DimensionKind.LOCATION,
    DimensionKind.RESOURCE,
)
#: Regrouping buttons under an answer (the way back comes first when there is one).
REGROUP_BUTTONS = 4
#: Up to this many days, the chart has a tick per day.
DAILY_TICKS_UP_TO = 31
#: Formats an amount in the answer's currency.
Money = Callable[[Decimal], str]


@dataclass(frozen=True, slots=True)
class Answer:
    """What a cost answer shows besides the breakdown: the period as planned, the data's
    freshness, the data-through day and the forecast to the period end (if asked for)."""

    periods: PeriodPair
    freshness: Freshness
    through: date
    forecast: Forecast | None = None
    forecast_end: date | None = None
    #: For an answer without data: filters no stored cost has, with the closest values.
    hints: tuple[str, ...] = ()


def freshness_note(freshness: Freshness, through: date) -> str:
    """ "Data through <day>" (the last complete day: `core.costs.periods.data_through`) and when
    the data was last ingested."""
    if freshness.latest_day is None:
        return "No cost data ingested yet"
    parts = [f"Data through {through:%Y-%m-%d}"]
    if freshness.last_ingested is not None:
        parts.append(f"last ingested {freshness.last_ingested:%Y-%m-%d %H:%M} UTC")
    return " · ".join(parts)


def _cost_type(cost_type: CostType) -> str:
    return "amortized" if cost_type is CostType.AMORTIZED else "actual"


def render_breakdown(request: CostsRequest, b: CostBreakdown, answer: Answer) -> Card:
    periods = answer.periods
    cur = periods.current
    title = f"Costs by {request.dimension.label} — {cur.label}"
    note = freshness_note(answer.freshness, answer.through)
    if not b.has_data or b.currency is None:
        return _no_data(request, title, cur, note, answer.hints)
    currency = b.currency

    def money(amount: Decimal) -> str:
        return format_money(amount, currency)

    blocks: list[Block] = [
        Header(title),
        Facts(tuple(_facts(request, b, answer, money))),
        _table(request, b, money),
        _chart(request, b, periods, money),
    ]
    blocks += _notes(request, b, answer, money)
    blocks.append(Context(f"{note} · {_cost_type(request.cost_type)} cost"))
    blocks.append(Actions(_buttons(request)))
    return card(title, _summary(request, b, answer, money), *blocks)


def _no_data(
    request: CostsRequest, title: str, cur: Period, note: str, hints: tuple[str, ...]
) -> Card:
    scope = _scope_text(request)
    cost_type = _cost_type(request.cost_type)
    return card(
        title,
        f"No {cost_type} costs recorded for {cur.label} ({scope}).",
        Header(title),
        Text(f"No {cost_type} costs recorded between {cur.start} and {cur.end} for {scope}."),
        *(Context(hint) for hint in hints),
        Context(f"{note}. Run `cloudoptima ingest` to pull costs from Azure."),
    )


def _scope_text(request: CostsRequest) -> str:
    return ", ".join(f.describe() for f in request.filters) or "all ingested scopes"


def _change(b: CostBreakdown) -> str:
    return format_percent(b.change, signed=True)


def _summary(request: CostsRequest, b: CostBreakdown, answer: Answer, money: Money) -> str:
    cur, prev = answer.periods.current, answer.periods.previous
    text = f"{money(b.total)} {_cost_type(request.cost_type)} cost for {cur.label}"
    if answer.periods.partial_only:
        text += " so far (still being reported)"
    elif prev is not None and b.previous_total is not None:
        text += f" ({_change(b)} vs {money(b.previous_total)} the {prev.label})"
    else:
        text += " (no comparison)"
    if b.partial_total is not None and answer.periods.partial is not None:
        text += f"; {answer.periods.partial.label} so far {money(b.partial_total)}"
    return text + "."


def _facts(request: CostsRequest, b: CostBreakdown, answer: Answer, money: Money) -> list[Fact]:
    periods = answer.periods
    cur, prev = periods.current, periods.previous
    total_label = "So far (still being reported)" if periods.partial_only else "Total"
    facts = [Fact(total_label, money(b.total))]
    if prev is not None and b.previous_total is not None:
        facts.append(Fact(f"vs {prev.label}", f"{money(b.previous_total)} ({_change(b)})"))
    elif not periods.partial_only:
        facts.append(Fact("Compared with", "nothing comparable (see below)"))
    if periods.partial is not None and b.partial_total is not None:
        facts.append(
            Fact(
                f"{periods.partial.label.capitalize()}, so far",
                f"{money(b.partial_total)} (still being reported; not compared)",
            )
        )
    if answer.forecast is not None and answer.forecast_end is not None:
        facts.append(_forecast_fact(answer.forecast, answer.forecast_end, money))
    if b.purchases and request.cost_type is CostType.ACTUAL:
        facts.append(Fact("Purchases", f"{money(b.purchases)} of it (paid up front)"))
    facts.append(Fact("Period", cur.span()))
    facts.append(Fact("Scope", _scope_text(request)))
    return facts


def _forecast_fact(forecast: Forecast, end: date, money: Money) -> Fact:
    label = f"Forecast to {end:%b} {end.day}"
    if forecast.total is None:
        return Fact(label, forecast.method)
    return Fact(label, f"{money(forecast.total)} ({forecast.method})")


def _row_label(label: str, cost: Decimal, purchases: Decimal) -> str:
    if not purchases:
        return label
    return f"{label} (purchase)" if purchases == cost else f"{label} (incl. purchase)"


def _table(request: CostsRequest, b: CostBreakdown, money: Money) -> Table:
    rows = tuple(
        (
            _row_label(r.label, r.cost, r.purchases),
            money(r.cost),
            format_percent(r.share),
            _change_text(r.change, r.cost, b.previous_total is not None),
        )
        for r in b.rows
    )
    footer = None
    if b.rest:
        count, rest_cost, _rest_previous = b.rest
        footer = f"… {count} more {request.dimension.plural}: {money(rest_cost)}"
    return Table(
        columns=(
            Column(request.dimension.title),
            Column("Cost", Align.RIGHT),
            Column("Share", Align.RIGHT),
            Column("Change", Align.RIGHT),
        ),
        rows=rows,
        footer=footer,
        row_actions=tuple(row_action(request, r) for r in b.rows),
    )


def _chart(request: CostsRequest, b: CostBreakdown, periods: PeriodPair, money: Money) -> Chart:
    """The daily cost, with the period it is compared with overlaid day by day."""
    series: tuple[ChartSeries, ...] = ()
    prev = periods.previous
    if prev is not None and b.previous_daily and b.previous_total is not None:
        aligned = tuple(
            ChartPoint(day, value)
            for (day, _), (_, value) in zip(b.daily, b.previous_daily, strict=False)
        )
        name = f"{prev.start:%b} {prev.start.day} – {prev.end:%b} {prev.end.day}"
        summary = f"dashed: {prev.label} ({name}), total {money(b.previous_total)}"
        series = (ChartSeries(name, aligned, dashed=True, summary=summary),)
    days = periods.current.days
    return Chart(
        title=f"Daily {_cost_type(request.cost_type)} cost",
        points=tuple(ChartPoint(day, value) for day, value in b.daily),
        unit=b.currency or "",
        name=f"{periods.current.start:%b} {periods.current.start.day} – "
        f"{periods.current.end:%b} {periods.current.end.day}",
        series=series,
        tick=ChartTick.DAY if days <= DAILY_TICKS_UP_TO else None,
    )


def _notes(request: CostsRequest, b: CostBreakdown, answer: Answer, money: Money) -> list[Block]:
    periods = answer.periods
    notes: list[Block] = []
    said = [n[0].upper() + n[1:] for n in periods.notes]
    if periods.comparison:
        said.append(f"Compared with {periods.comparison}")
    if said:
        notes.append(Context(" · ".join(said) + "."))
    if b.purchases and request.cost_type is CostType.ACTUAL:
        bought = ", ".join(f"{r.label} {money(r.purchases)}" for r in b.rows if r.purchases)
        notes.append(
            Context(
                f"Includes {money(b.purchases)} of up-front purchases"
                + (f" ({bought})" if bought else "")
                + ": a reservation or savings plan paid at once, not a jump in usage. "
                "`amortized` spreads it over its term."
            )
        )
    if b.other_currencies:
        others = ", ".join(format_money(v, c) for c, v in b.other_currencies.items())
        notes.append(Context(f"Also billed in other currencies, not included above: {others}."))
    return notes


def _buttons(request: CostsRequest) -> tuple[Button, ...]:
    back = back_button(request)
    # Grouping by a dimension filtered to one value would show one row: not offered.
    filtered = {FILTERED_DIMENSION.get(f.kind) for f in request.filters}
    regroup = tuple(
        Button(
            label=f"By {kind}",
            action_id=CostsAction.DRILLDOWN,
            value=command_text(request, Dimension(kind)),
        )
        for kind in DRILLDOWNS
        if kind is not request.dimension.kind and kind not in filtered
    )[:REGROUP_BUTTONS]
    return ((back,) if back else ()) + regroup


def _change_text(change: Decimal | None, current: Decimal, compared: bool) -> str:
    if not compared:
        return "—"
    if change is None:
        return "new" if current else "—"
    return format_percent(change, signed=True)
