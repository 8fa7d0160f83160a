"""`recs [category] [min <amount>] [filters] [top N]` and `rec <id>`, plus the Details button."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from core.kernel.authz import Role
from core.kernel.cards import Reply, Visibility
from core.kernel.context import CommandContext
from core.kernel.errors import NotFoundError, UserInputError
from core.kernel.grammar import ParsedCommand
from core.kernel.routing import ActionSpec, CommandSpec, Router
from core.recommendations.actions import RecsAction
from core.recommendations.grammar import (
    HELP,
    REC_USAGE,
    USAGE,
    RecsQuery,
    parse_rec_id,
    parse_recs_args,
)
from core.recommendations.model import RecommendationsConfig, StoredRecommendation
from core.recommendations.ports import DecisionPort
from core.recommendations.presenters import detail_card, freshness_text, list_card
from core.recommendations.store import get_recommendation, last_refresh, open_recommendations


def _matches(s: StoredRecommendation, q: RecsQuery) -> bool:
    rec = s.recommendation
    if q.category is not None and rec.category is not q.category:
        return False
    for wanted, value in (
        (q.subscription, rec.subscription_id),
        (q.resource_group, rec.resource_group),
        (q.location, rec.location),
    ):
        if wanted is not None and wanted != value.lower():
            return False
    if q.minimum is not None:
        return rec.saving is not None and rec.saving.amount >= q.minimum
    return True


def ranked(
    items: list[StoredRecommendation], main_currency: str | None
) -> list[StoredRecommendation]:
    """Largest monthly saving first: the main currency's, then other currencies', then none."""

    def order(s: StoredRecommendation) -> tuple[int, Decimal, int]:
        saving = s.recommendation.saving
        if saving is None:
            return (2, Decimal(0), s.id)
        return (0 if saving.currency == main_currency else 1, -saving.amount, s.id)

    return sorted(items, key=order)


class RecsCommands:
    def __init__(self, config: RecommendationsConfig, decisions: DecisionPort | None) -> None:
        self.config = config
        self.decisions = decisions

    def _hidden(self, ctx: CommandContext, items: list[StoredRecommendation]) -> set[int]:
        if self.decisions is None:
            return set()
        views = self.decisions.views(ctx, [s.id for s in items])
        return {rec_id for rec_id, view in views.items() if view.hidden}

    def recs(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        query = parse_recs_args(cmd.args, self.config.top_n)
        found = [s for s in open_recommendations(ctx.engine, evidence=False) if _matches(s, query)]
        hidden = self._hidden(ctx, found)
        found = [s for s in found if s.id not in hidden]
        currencies = [s.recommendation.saving.currency for s in found if s.recommendation.saving]
        main = max(set(currencies), key=currencies.count) if currencies else None
        matching = ranked(found, main)
        view = list_card(
            query, matching[: query.top_n], matching, freshness_text(*last_refresh(ctx.engine))
        )
        return Reply(view, visibility=Visibility.PUBLIC if cmd.public else Visibility.PRIVATE)

    def rec(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        if len(cmd.args) >= 2 and self.decisions is not None:
            # `rec 12 approve …`: the approvals feature decides.
            reply = self.decisions.command(parse_rec_id(cmd.args[:1]), cmd.args[1:], ctx)
            if cmd.public and reply.visibility is Visibility.PRIVATE and not reply.failed:
                return replace(reply, visibility=Visibility.PUBLIC)
            return reply
        return self._show(parse_rec_id(cmd.args), ctx, public=cmd.public)

    def show_button(self, value: str, ctx: CommandContext) -> Reply:
        if not value.isascii() or not value.isdigit():
            raise UserInputError("That button carries no recommendation id.")
        return self._show(int(value), ctx, public=False)

    def _show(self, rec_id: int, ctx: CommandContext, *, public: bool) -> Reply:
        found = get_recommendation(ctx.engine, rec_id)
        if found is None:
            raise NotFoundError(
                f"There is no recommendation #{rec_id}.", hint="`recs` lists the open ones."
            )
        decision = None
        if self.decisions is not None:
            decision = self.decisions.views(ctx, [rec_id]).get(rec_id)
        return Reply(
            detail_card(found, decision),
            visibility=Visibility.PUBLIC if public else Visibility.PRIVATE,
        )


def register(
    router: Router, config: RecommendationsConfig, decisions: DecisionPort | None = None
) -> None:
    """`recs`, `rec` and the Details button; with `decisions` (the approvals feature), `recs`
    leaves out dismissed and snoozed items, `rec <id>` shows the decision and its buttons, and
    `rec <id> approve|dismiss|snooze …` decides."""
    commands = RecsCommands(config, decisions)
    router.add_command(
        CommandSpec(
            name="recs",
            usage=USAGE,
            summary="Savings recommendations by monthly saving, with fit score and totals",
            help=HELP,
            role=Role.VIEWER,
            purpose="see recommendations",
            handler=commands.recs,
            aliases=("recommendations",),
        )
    )
    router.add_command(
        CommandSpec(
            name="rec",
            usage=REC_USAGE,
            summary="One recommendation: evidence, formula, Advisor; approve, dismiss, snooze",
            help=HELP,
            role=Role.VIEWER,
            purpose="see recommendations",
            handler=commands.rec,
            aliases=("recommendation",),
        )
    )
    router.add_action(
        ActionSpec(RecsAction.SHOW, commands.show_button, Role.VIEWER, "see recommendations")
    )
