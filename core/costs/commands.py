"""`costs [period] [by <dimension>] [filters…] [top N] [actual|amortized]` and its drill-down."""

from __future__ import annotations

from core.costs.actions import CostsAction
from core.costs.breakdown import cost_breakdown, data_freshness
from core.costs.grammar import HELP, USAGE, parse_costs_args
from core.costs.model import CostsConfig
from core.costs.presenters import freshness_note, render_breakdown
from core.kernel.authz import Role
from core.kernel.cards import Context, Reply, Visibility, card
from core.kernel.context import CommandContext
from core.kernel.errors import UserInputError
from core.kernel.grammar import ParsedCommand, parse
from core.kernel.routing import ActionSpec, CommandSpec, Router


class CostsCommands:
    """The costs command and its buttons, over the feature's settings."""

    def __init__(self, config: CostsConfig) -> None:
        self.config = config

    def costs(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        """Show what was spent, where, and how it changed."""
        request = parse_costs_args(cmd.args, ctx.today(), self.config)
        breakdown = cost_breakdown(ctx.engine, request.query)
        freshness = data_freshness(ctx.engine, request.query.cost_type)
        view = render_breakdown(request, breakdown, freshness_note(freshness))
        visibility = Visibility.PUBLIC if cmd.public else Visibility.PRIVATE
        return Reply(card=view, visibility=visibility)

    def drilldown(self, value: str, ctx: CommandContext) -> Reply:
        """Re-run the costs query a button carries, grouped by another dimension."""
        cmd = parse(value)
        if cmd.name != "costs":
            raise UserInputError(
                "That button carries no costs query.", hint="Run the costs command again."
            )
        reply = self.costs(cmd, ctx)
        note = Context(f"Drill-down requested by {ctx.requester.display_name}")
        view = reply.card
        drilled = card(view.title, view.summary, *view.blocks, note, severity=view.severity)
        return Reply(drilled, visibility=reply.visibility, replace_original=True)


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
