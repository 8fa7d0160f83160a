"""`costs [period] [by <dimension>] [filters…] [top N] [actual|amortized]` and its drill-downs."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from core.costs.actions import CostsAction
from core.costs.breakdown import CostBreakdown, cost_breakdown, data_freshness
from core.costs.forecasting import (
    Forecast,
    SpendFigures,
    forecast,
    history_figures,
    history_range,
    with_provider_forecast,
)
from core.costs.forecasts import exact_scope_id, fresh_forecasts, load_scope_catalog
from core.costs.grammar import HELP, USAGE, CostsRequest, parse_costs_args
from core.costs.model import CostFilter, CostsConfig, FilterKind, ForecastProvider
from core.costs.periods import Period, data_through
from core.costs.presenters import Answer, render_breakdown
from core.costs.values import (
    closest_values,
    current_groups,
    did_you_mean,
    matches_anything,
    resolve_subscription,
)
from core.kernel.authz import Role
from core.kernel.cards import Card, Context, Reply, Visibility, card
from core.kernel.context import CommandContext
from core.kernel.errors import UserInputError
from core.kernel.grammar import ParsedCommand, parse
from core.kernel.money import to_storage_units
from core.kernel.routing import ActionSpec, CommandSpec, Router


class CostsCommands:
    """The costs command and its buttons, over the feature's settings."""

    def __init__(self, config: CostsConfig) -> None:
        self.config = config

    def costs(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        """Show what was spent, where, and how it changed."""
        request = parse_costs_args(cmd.args, ctx.today(), self.config)
        visibility = Visibility.PUBLIC if cmd.public else Visibility.PRIVATE
        return Reply(card=self.answer(request, ctx), visibility=visibility)

    def answer(self, request: CostsRequest, ctx: CommandContext) -> Card:
        """The breakdown of `request`, its periods planned against the data there is."""
        request = _with_resolved_filters(ctx.engine, request)
        today = ctx.today()
        freshness = data_freshness(ctx.engine, request.cost_type)
        periods = request.period.plan(today, freshness.first_day, freshness.latest_day)
        through = data_through(today, freshness.latest_day)
        end = request.period.forecast_end
        history = history_range(through, freshness.first_day) if end else None
        breakdown = cost_breakdown(ctx.engine, request.query_for(periods, history=history))
        outlook = None
        if end is not None and breakdown.has_data and end > through:
            window = Period(request.period.period.start, end, "")
            outlook = self._forecast(ctx.engine, request, breakdown, window, through, today)
        hints = _unknown_filters(ctx.engine, request) if not breakdown.has_data else ()
        answer = Answer(periods, freshness, through, outlook, end if outlook else None, hints)
        return render_breakdown(request, breakdown, answer)

    def _forecast(
        self,
        engine: Engine,
        request: CostsRequest,
        b: CostBreakdown,
        window: Period,
        through: date,
        today: date,
    ) -> Forecast:
        """Spend to the period end, by the deployment's one method (the budgets' too): the run
        rate of the stored costs, or Azure's forecast where it answers exactly."""
        compared = to_storage_units(b.total) if not b.query.periods.partial_only else 0
        to_date = to_storage_units(b.total) + to_storage_units(b.partial_total or Decimal(0))
        history = b.query.history
        figures = history_figures(b.history_units, history, to_date, compared)
        data = forecast(figures, window, through)
        if self.config.forecast_provider is not ForecastProvider.AZURE:
            return data
        provided = _azure_forecast(engine, request, b, window, figures, through, today)
        return provided or data

    def drilldown(self, value: str, ctx: CommandContext) -> Reply:
        """Re-run the costs query a button carries: a row opened, regrouped, or backed out."""
        cmd = parse(value)
        if cmd.name != "costs":
            raise UserInputError(
                "That button carries no costs query.", hint="Run the costs command again."
            )
        reply = self.costs(cmd, ctx)
        note = Context(f"Drill-down requested by {ctx.requester.display_name}")
        view = reply.card
        *blocks, last = view.blocks  # the buttons stay last
        drilled = card(view.title, view.summary, *blocks, note, last, severity=view.severity)
        return Reply(drilled, visibility=reply.visibility, replace_original=True)


def _unknown_filters(engine: Engine, request: CostsRequest) -> tuple[str, ...]:
    """For an answer without data: each filter no stored cost has, with the closest values."""
    if not request.filters:
        return ()
    groups = current_groups(engine)
    hints = []
    for f in request.filters:
        if not matches_anything(groups, f):
            close = did_you_mean(closest_values(groups, f))
            hints.append(f"No stored cost has {f.describe()}. {close}".strip())
    return tuple(hints)


def _with_resolved_filters(engine: Engine, request: CostsRequest) -> CostsRequest:
    """`sub:` filters as the stored id or name they mean (an id prefix, a unique name
    prefix); other filters as typed."""
    if not any(f.kind is FilterKind.SUBSCRIPTION for f in request.filters):
        return request
    groups = current_groups(engine)
    resolved: list[CostFilter] = []
    for f in request.filters:
        if f.kind is FilterKind.SUBSCRIPTION:
            found = resolve_subscription(groups, f.value)
            f = f if found is None else replace(f, value=found)
        resolved.append(f)
    return replace(request, filters=tuple(resolved))


def _azure_forecast(
    engine: Engine,
    request: CostsRequest,
    b: CostBreakdown,
    window: Period,
    figures: SpendFigures,
    through: date,
    today: date,
) -> Forecast | None:
    """Azure's stored forecast for the period end, when the answer counts exactly one
    ingested scope (no filter but a `sub:`), fresh and in the answer's currency."""
    subs = [f.value for f in request.filters if f.kind is FilterKind.SUBSCRIPTION]
    others = len(request.filters) > len(subs)
    with engine.connect() as conn:
        catalog = load_scope_catalog(conn)
        scope_id = exact_scope_id(
            catalog, subscription=subs[0] if subs else "", other_filters=others or len(subs) > 1
        )
        if scope_id is None:
            return None
        stored = fresh_forecasts(conn, today).get((scope_id, request.cost_type, window.end))
    if stored is None or stored.currency != b.currency:
        return None
    if not window.start <= stored.as_of + timedelta(days=1) <= window.end:
        return None
    daily = dict(b.daily)
    partial = b.partial_total or Decimal(0)

    def spend_through(day: date) -> int:
        units = sum(to_storage_units(v) for d, v in daily.items() if d <= day)
        return units + (to_storage_units(partial) if day > through else 0)

    return with_provider_forecast(
        amount=stored.amount,
        as_of=stored.as_of,
        window=window,
        spend_through=spend_through,
        figures=figures,
        last_complete=through,
    )


def register(router: Router, config: CostsConfig) -> None:
    commands = CostsCommands(config)
    router.add_command(
        CommandSpec(
            name="costs",
            usage=USAGE,
            summary="Spend for a period, grouped by a dimension, against the period before",
            help=HELP,
            role=Role.VIEWER,
            purpose="see costs",
            handler=commands.costs,
            aliases=("cost", "spend"),
        )
    )
    router.add_action(
        ActionSpec(CostsAction.DRILLDOWN, commands.drilldown, Role.VIEWER, "see costs")
    )
