"""`anomalies …`, `anomaly <id>` and the incident card's buttons.

Who may do what (declared on each spec, checked by the front door): anyone allowed to see costs
may list and show incidents, route them to a conversation (as anyone may create a budget that
notifies one) and acknowledge one; "Expected / new normal" and "Too small" change what is
flagged for everyone, so they need Role.ADMIN.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.anomalies.actions import AnomaliesAction
from core.anomalies.grammar import (
    HELP,
    USAGE,
    parse_incident_id,
    parse_list,
    parse_notify,
)
from core.anomalies.model import AnomaliesConfig, FeedbackKind
from core.anomalies.presenters import feedback_note, incidents_card, routes_card
from core.anomalies.store import (
    Incident,
    Route,
    get_incident,
    list_incidents,
    record_feedback,
    remove_routes,
    routes_of,
    save_route,
)
from core.costs.model import CostFilter, FilterKind
from core.delivery.targets import describe_target, parse_new_targets, parse_targets
from core.kernel.authz import Role
from core.kernel.cards import Card, Context, Header, Reply, Text, Visibility, card
from core.kernel.cards_json import card_from_dict
from core.kernel.context import CommandContext
from core.kernel.errors import UserInputError
from core.kernel.grammar import ParsedCommand
from core.kernel.routing import ActionSpec, CommandSpec, Router

_FEEDBACK_TEXT = {
    FeedbackKind.EXPECTED: "Marked expected / new normal",
    FeedbackKind.TOO_SMALL: "Marked too small",
    FeedbackKind.ACKNOWLEDGE: "Acknowledged",
}
_EFFECT = {
    FeedbackKind.EXPECTED: "The series is re-baselined from {day}: its new level is normal.",
    FeedbackKind.TOO_SMALL: "This series now needs a deviation of at least {floor} a day.",
    FeedbackKind.ACKNOWLEDGE: "Still watched; this incident's message is no longer updated.",
}


def _visibility(cmd: ParsedCommand) -> Visibility:
    return Visibility.PUBLIC if cmd.public else Visibility.PRIVATE


def _matches(incident: Incident, filters: tuple[CostFilter, ...]) -> bool:
    for f in filters:
        value = f.value.lower()
        if f.kind is FilterKind.SUBSCRIPTION and value not in (
            incident.subscription_id.lower(),
            incident.subscription_name.lower(),
        ):
            return False
        if f.kind is FilterKind.RESOURCE_GROUP and value != incident.resource_group.lower():
            return False
        if f.kind is FilterKind.SERVICE and value != incident.service_name.lower():
            return False
    return True


def stored_card(incident: Incident) -> Card:
    """The incident's card as last built by the scoring pass."""
    if incident.card is not None:
        return card_from_dict(incident.card)
    title = f"Cost anomaly #{incident.id}"
    return card(title, title, Header(title), Text(incident.describe()))


@dataclass(frozen=True, slots=True)
class AnomalyCommands:
    config: AnomaliesConfig

    def anomalies(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        """List incidents, or (`notify …`) route them to a conversation."""
        if cmd.args and cmd.args[0].lower() == "notify":
            return self.notify(cmd.args[1:], ctx)
        request = parse_list(cmd.args, ctx.today())
        period = request.period
        found = [
            i
            for i in list_incidents(ctx.engine, period.start, period.end)
            if _matches(i, request.filters)
        ]
        filters = " ".join(f.describe() for f in request.filters)
        title = "Cost anomalies" + (f" ({filters})" if filters else "")
        view = incidents_card(title, found, f"in the {request.period_text}")
        return Reply(view, visibility=_visibility(cmd))

    def notify(self, args: tuple[str, ...], ctx: CommandContext) -> Reply:
        request = parse_notify(args)
        tokens = list(request.target_tokens)
        targets = (
            parse_targets(tokens, ctx.requester, policy=None)
            if request.off
            else parse_new_targets(tokens, ctx)
        )
        if len(targets) != 1:
            raise UserInputError("Route anomalies to one place at a time.", hint=f"Usage: {USAGE}")
        target = targets[0]
        if request.off:
            removed = remove_routes(ctx.engine, target)
            text = f"Stopped {removed} anomaly notification(s) to {describe_target(target)}."
            return Reply(routes_card([], text), visibility=Visibility.PUBLIC)
        values = {f.kind: f.value.lower() for f in request.filters}
        route = Route(
            target,
            subscription=values.get(FilterKind.SUBSCRIPTION, ""),
            resource_group=values.get(FilterKind.RESOURCE_GROUP, ""),
            service=values.get(FilterKind.SERVICE, ""),
            min_impact=request.min_impact,
        )
        save_route(ctx.engine, route, ctx.requester.principal, ctx.clock.now())
        text = (
            f"New cost anomalies ({route.describe_filters()}) will be posted to "
            f"{describe_target(target)}; later days update the same message."
        )
        return Reply(routes_card(routes_of(ctx.engine, target), text), Visibility.PUBLIC)

    def anomaly(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        """One incident with its chart, drivers and buttons."""
        incident = get_incident(ctx.engine, parse_incident_id(cmd.args))
        return Reply(stored_card(incident), visibility=_visibility(cmd))

    # -- buttons -------------------------------------------------------------------------------

    def _feedback(self, kind: FeedbackKind, value: str, ctx: CommandContext) -> Reply:
        incident_id = parse_incident_id((value,))
        who = ctx.requester
        result = record_feedback(
            ctx.engine,
            incident_id,
            kind,
            principal=who.principal,
            name=who.display_name,
            now=ctx.clock.now(),
        )
        incident = result.incident
        note = feedback_note(_FEEDBACK_TEXT[kind], result.by_name, result.at, result.first)
        effect = _EFFECT[kind].format(
            day=incident.first_day.isoformat(),
            floor=f"{incident.peak_deviation * 5 / 4:,.2f} {incident.currency}",
        )
        shown = stored_card(incident)
        blocks = tuple(
            b for b in shown.blocks if not (isinstance(b, Context) and "Acknowledged by" in b.text)
        )
        view = card(
            shown.title,
            shown.summary,
            *blocks,
            Context(f"{note} {effect}"),
            severity=shown.severity,
        )
        return Reply(view, visibility=Visibility.PUBLIC, replace_original=True)

    def expected(self, value: str, ctx: CommandContext) -> Reply:
        return self._feedback(FeedbackKind.EXPECTED, value, ctx)

    def too_small(self, value: str, ctx: CommandContext) -> Reply:
        return self._feedback(FeedbackKind.TOO_SMALL, value, ctx)

    def acknowledge(self, value: str, ctx: CommandContext) -> Reply:
        return self._feedback(FeedbackKind.ACKNOWLEDGE, value, ctx)


def register(router: Router, config: AnomaliesConfig) -> None:
    commands = AnomalyCommands(config)
    viewer = Role.VIEWER
    router.add_command(
        CommandSpec(
            name="anomalies",
            usage="anomalies [period] [scope filters] | notify here [filters] [min <amount>]",
            summary="Cost spikes and drops per service and resource group, one incident each",
            help=HELP,
            role=viewer,
            purpose="see cost anomalies",
            handler=commands.anomalies,
        )
    )
    router.add_command(
        CommandSpec(
            name="anomaly",
            usage="anomaly <id>",
            summary="One cost anomaly: expected range, chart, drivers and feedback buttons",
            help=HELP,
            role=viewer,
            purpose="see cost anomalies",
            handler=commands.anomaly,
        )
    )
    router.add_action(
        ActionSpec(
            AnomaliesAction.EXPECTED, commands.expected, Role.ADMIN, "tune anomaly detection"
        )
    )
    router.add_action(
        ActionSpec(
            AnomaliesAction.TOO_SMALL, commands.too_small, Role.ADMIN, "tune anomaly detection"
        )
    )
    router.add_action(
        ActionSpec(
            AnomaliesAction.ACKNOWLEDGE, commands.acknowledge, viewer, "acknowledge cost anomalies"
        )
    )
