"""`costs [period] [by <dimension>] [filters…] [top N] [actual|amortized]`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.actions import ActionId
from core.commands.context import CommandContext
from core.commands.parser import ParsedCommand
from core.commands.registry import registry
from core.errors import UserInputError
from core.models import CostType
from core.money import format_money, format_percent
from core.periods import ACCEPTED_PERIODS, looks_like_period, parse_period
from core.permissions import Role, require
from core.reports import (
    ACCEPTED_DIMENSIONS,
    ACCEPTED_FILTERS,
    BreakdownQuery,
    CostBreakdown,
    CostFilter,
    Dimension,
    DimensionKind,
    Freshness,
    cost_breakdown,
    data_freshness,
    parse_dimension,
    parse_filter,
)
from core.views import (
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
    Reply,
    Table,
    Text,
    Visibility,
    card,
)

DEFAULT_PERIOD = "30d"
MAX_TOP = 50
_DRILLDOWNS = (
    DimensionKind.SERVICE,
    DimensionKind.RESOURCE_GROUP,
    DimensionKind.SUBSCRIPTION,
    DimensionKind.LOCATION,
    DimensionKind.RESOURCE,
)
_COST_TYPES = {"actual": CostType.ACTUAL, "amortized": CostType.AMORTIZED}
USAGE = "costs [period] [by <dimension>] [filters] [top N] [actual|amortized]"


@dataclass(frozen=True, slots=True)
class CostsRequest:
    """A parsed costs command: the query, and how to reproduce its period in a button."""

    query: BreakdownQuery
    period_token: str
    #: The day relative periods were computed from (buttons pin it: a click tomorrow shows
    #: the same period as the message it sits on).
    as_of: date


def _parse_as_of(word: str, today: date) -> date:
    try:
        day = date.fromisoformat(word.partition(":")[2])
    except ValueError:
        raise UserInputError(
            f"'{word}' needs a date: asof:YYYY-MM-DD.", accepted=["asof:YYYY-MM-DD"]
        ) from None
    if day > today:
        raise UserInputError(f"'{word}' lies in the future.", accepted=["asof:YYYY-MM-DD"])
    return day


def parse_costs_args(args: tuple[str, ...], ctx: CommandContext) -> CostsRequest:
    """Turn the words after `costs` into a query; any order, each part at most once."""
    as_of = ctx.today()
    period_token: str | None = None
    dimension: Dimension | None = None
    filters: list[CostFilter] = []
    top_n = ctx.config.top_n
    cost_type = ctx.config.default_cost_type
    words = list(args)
    i = 0
    while i < len(words):
        word = words[i]
        lowered = word.lower()
        if lowered == "by":
            if i + 1 >= len(words):
                raise UserInputError(
                    "'by' needs a dimension after it.", accepted=ACCEPTED_DIMENSIONS
                )
            if dimension is not None:
                raise UserInputError(
                    "Group by one dimension at a time.", accepted=ACCEPTED_DIMENSIONS
                )
            dimension = parse_dimension(words[i + 1])
            i += 2
            continue
        if lowered == "top":
            if i + 1 >= len(words) or not words[i + 1].isascii() or not words[i + 1].isdigit():
                raise UserInputError(
                    "'top' needs a number after it, e.g. top 5.", accepted=[f"top 1…{MAX_TOP}"]
                )
            top_n = int(words[i + 1][:4])
            if not 1 <= top_n <= MAX_TOP:
                raise UserInputError(
                    f"top {words[i + 1][:12]} is out of range.", accepted=[f"top 1…{MAX_TOP}"]
                )
            i += 2
            continue
        if lowered in _COST_TYPES:
            cost_type = _COST_TYPES[lowered]
        elif lowered.startswith("asof:"):
            as_of = _parse_as_of(word, ctx.today())
        elif ":" in word and not looks_like_period(word):
            if lowered.startswith("tag:") and "=" not in word:
                raise UserInputError(
                    f"'{word}' alone is ambiguous.",
                    hint=f"Group with `by {word}`, or filter with `{word}=<value>`.",
                )
            filters.append(parse_filter(word))
        elif looks_like_period(word):
            if period_token is not None:
                raise UserInputError(
                    f"Two periods given ('{period_token}' and '{word}'); give one.",
                    accepted=ACCEPTED_PERIODS,
                )
            period_token = word
        else:
            raise UserInputError(
                f"I don't understand '{word[:40]}' in a costs command.",
                hint=f"Usage: {USAGE}\nDimensions: {', '.join(ACCEPTED_DIMENSIONS)}\n"
                f"Filters: {', '.join(ACCEPTED_FILTERS)}",
            )
        i += 1
    period_token = (period_token or DEFAULT_PERIOD).lower()
    query = BreakdownQuery(
        periods=parse_period(period_token, as_of),
        dimension=dimension or Dimension(DimensionKind.SERVICE),
        cost_type=cost_type,
        filters=tuple(filters),
        top_n=top_n,
    )
    return CostsRequest(query, period_token, as_of)


def command_text(request: CostsRequest, dimension: Dimension) -> str:
    """The command that re-runs `request` grouped by `dimension` (a drill-down button's value)."""
    query = request.query
    parts = ["costs", request.period_token, f"asof:{request.as_of.isoformat()}"]
    parts += ["by", dimension.token]
    for f in query.filters:
        value = f"{f.tag_key}={f.value}" if f.tag_key else f.value
        quoted = f'"{value}"' if " " in value else value
        parts.append(f"{f.kind}:{quoted}")
    if query.cost_type is CostType.AMORTIZED:
        parts.append("amortized")
    return " ".join(parts)


@registry.command(
    "costs",
    usage=USAGE,
    summary="Spend for a period, grouped by a dimension, against the period before",
    aliases=("cost", "spend"),
)
def costs_command(cmd: ParsedCommand, ctx: CommandContext) -> Reply:
    """Show what was spent, where, and how it changed.

    Periods: 7d, 30d (default), any Nd up to 366d, mtd, last-month, ytd, or a range
    YYYY-MM-DD..YYYY-MM-DD. Rolling periods end yesterday (the last complete day).
    Dimensions (after `by`): service (default), resource-group, resource, location,
    subscription, meter, tag:<key>.
    Filters: sub:<name or id>, rg:<name>, service:<name>, location:<region>, meter:<category>,
    tag:<key>=<value>. Add `top N` for more rows, `amortized` for amortized cost.

    Examples: `costs`, `costs 7d by resource-group`, `costs mtd by tag:team sub:prod`.
    """
    require(ctx, Role.VIEWER, "see costs")
    request = parse_costs_args(cmd.args, ctx)
    breakdown = cost_breakdown(ctx.engine, request.query)
    freshness = data_freshness(ctx.engine, request.query.cost_type)
    view = render_breakdown(request, breakdown, freshness_note(freshness))
    visibility = Visibility.PUBLIC if cmd.public else Visibility.PRIVATE
    return Reply(card=view, visibility=visibility)


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
            action_id=ActionId.COSTS_DRILLDOWN,
            value=command_text(request, Dimension(kind)),
        )
        for kind in _DRILLDOWNS
        if kind is not q.dimension.kind
    )[:4]
    blocks.append(Actions(buttons))
    return card(title, summary, *blocks)


def _change_text(change: Decimal | None, current: Decimal) -> str:
    if change is None:
        return "new" if current else "—"
    return format_percent(change, signed=True)


@registry.action(ActionId.COSTS_DRILLDOWN)
def costs_drilldown(value: str, ctx: CommandContext) -> Reply:
    """Re-run the costs query a button carries, grouped by another dimension."""
    from core.commands.parser import parse

    cmd = parse(value)
    if cmd.name != "costs":
        raise UserInputError(
            "That button carries no costs query.", hint="Run the costs command again."
        )
    reply = costs_command(cmd, ctx)
    note = Context(f"Drill-down requested by {ctx.requester.display_name}")
    view = reply.card
    drilled = card(view.title, view.summary, *view.blocks, note, severity=view.severity)
    return Reply(drilled, visibility=reply.visibility, replace_original=True)
