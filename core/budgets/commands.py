"""`budget create|list|show|set|delete …` and `alerts [budget]`, plus their buttons.

Who may do what (declared on each subcommand and button, checked by the front door): anyone
allowed to see costs (Role.VIEWER) may list and show budgets, read alerts, acknowledge an alert
and create a budget (becoming its owner); changing or deleting a budget also needs Role.ADMIN or
being its owner (checked here: it is a rule about one budget).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from core.budgets.actions import BudgetsAction
from core.budgets.alerts import acknowledge, parse_alert_key, period_alerts, recent_alerts
from core.budgets.assessment import Assessment
from core.budgets.checks import check_targets, resolve_scope, scope_warnings
from core.budgets.evaluate import assess, evaluate_budgets
from core.budgets.grammar import (
    ACCEPTED_SCOPES,
    BUDGET_PERIODS,
    CREATE_USAGE,
    DEFAULT_THRESHOLDS,
    USAGE,
    name_key,
    parse_amount,
    parse_create_args,
    parse_currency,
    parse_scope_tokens,
    parse_start,
    parse_thresholds,
    usage_error,
)
from core.budgets.model import (
    BudgetPeriod,
    BudgetRecord,
    BudgetsConfig,
    BudgetScope,
    NewBudget,
    Threshold,
    ThresholdKind,
)
from core.budgets.presenters import (
    Checked,
    acknowledged_card,
    alerts_card,
    already_deleted_card,
    created_card,
    delete_question_card,
    deleted_card,
    kept_card,
    list_card,
    no_budgets_card,
    not_started_card,
    show_card,
    targets_text,
    threshold_states,
    thresholds_text,
    updated_card,
)
from core.budgets.store import (
    billing_currencies,
    create_budget,
    delete_budget,
    find_budget,
    get_budget,
    ingested_scopes,
    list_budgets,
    set_amount,
    set_targets,
    set_thresholds,
)
from core.budgets.windows import default_start
from core.costs.model import CostType
from core.delivery.conversations import conversation_names
from core.delivery.targets import (
    ACCEPTED_TARGETS,
    MAX_TARGETS,
    Target,
    TargetKind,
    WebhookPolicy,
    describe_target,
    here_target,
    parse_new_targets,
    parse_targets,
    require_may_add,
)
from core.kernel.authz import Role, has_role, is_principal
from core.kernel.cards import Card, Header, Reply, Visibility, card
from core.kernel.cards_json import card_from_dict
from core.kernel.context import CommandContext
from core.kernel.errors import PermissionDeniedError, UserInputError
from core.kernel.grammar import ParsedCommand, help_text
from core.kernel.money import format_money
from core.kernel.routing import ActionSpec, CommandSpec, Router, Subcommand

ALERTS_USAGE = "alerts [budget]"
_LIST_LIMIT = 50
BUDGET_HELP = help_text(
    "Create and manage budgets; their alerts arrive once per threshold per period.",
    "",
    "budget create <name> <amount> [currency] [monthly|quarterly|yearly] [start YYYY-MM] "
    "[scope filters] [thresholds 50,80,100] [forecast [100]] [actual|amortized] "
    "[notify <targets>]",
    "  The channel you create it in is notified. Amounts: 5000, 12,500 or 12,500.50, in the "
    f"currency your costs are billed in. Periods: {BUDGET_PERIODS.listing()}. Scope filters "
    f"(combine them): {', '.join(ACCEPTED_SCOPES)}. `forecast` adds forecast thresholds "
    "(100% unless listed).",
    "budget list · budget show <name>",
    "budget set <name> amount <amount> | thresholds <list> | forecast <list>|off | "
    "targets [add|remove] <targets>",
    f"  Targets: {', '.join(ACCEPTED_TARGETS)}.",
    "budget delete <name>   (asks for confirmation with a button)",
    "",
    "Example: `budget create web-prod 5,000 monthly sub:Production rg:web thresholds 50,80,100 "
    "forecast`.",
)
ALERTS_HELP = help_text(
    "Recent budget alerts, newest first: threshold, spend, delivery per target (sent, queued, "
    "retrying, FAILED when it gave up) and who acknowledged. `alerts <budget>` for one budget."
)


def _visibility(cmd: ParsedCommand) -> Visibility:
    return Visibility.PUBLIC if cmd.public else Visibility.PRIVATE


def may_change(ctx: CommandContext, budget: BudgetRecord) -> bool:
    """Admins may change every budget; others only the budgets they created."""
    return has_role(ctx, Role.ADMIN) or is_principal(
        ctx.config, budget.owner_principal, ctx.requester
    )


def require_change(ctx: CommandContext, budget: BudgetRecord, what: str) -> None:
    if not may_change(ctx, budget):
        owner = budget.owner_name or budget.owner_principal
        raise PermissionDeniedError(
            f"You are not allowed to {what} budget '{budget.name}': only its owner ({owner}) "
            "and CloudOptima admins may.",
            hint="Ask the owner or an admin to make the change.",
        )


@dataclass(frozen=True, slots=True)
class BudgetCommands:
    """The budget and alerts commands and their buttons, over the feature's settings."""

    config: BudgetsConfig

    @property
    def _unconfigured(self) -> Mapping[TargetKind, str]:
        return self.config.unconfigured_targets

    # -- create ----------------------------------------------------------------------------------

    def create(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        request = parse_create_args(list(cmd.args))
        cost_type = request.cost_type or self.config.default_cost_type
        period = request.period or BudgetPeriod.MONTHLY
        currency = _resolve_currency(request.currency_token, ctx, cost_type)
        amount = parse_amount(request.amount_token, currency)
        start = (
            parse_start(request.start_token)
            if request.start_token
            else default_start(period, ctx.today())
        )
        scope = resolve_scope(ctx.engine, parse_scope_tokens(list(request.scope_tokens)))
        _check_scope_ingested(scope, ctx)
        targets, notes = self._new_budget_targets(list(request.target_tokens), ctx)
        thresholds = tuple(
            Threshold(p, ThresholdKind.ACTUAL) for p in request.actual or DEFAULT_THRESHOLDS
        )
        thresholds += tuple(Threshold(p, ThresholdKind.FORECAST) for p in request.forecast or ())
        who = ctx.requester
        budget = create_budget(
            ctx.engine,
            NewBudget(
                name=request.name,
                amount=amount,
                currency=currency,
                period=period,
                start_date=start,
                cost_type=cost_type,
                scope=scope,
                thresholds=thresholds,
                targets=tuple(targets),
                owner_principal=who.principal,
                owner_name=who.display_name,
            ),
            ctx.clock.now(),
        )
        checked = self._assess_at_once(budget, ctx, notes)
        return Reply(created_card(budget, checked), visibility=_visibility(cmd))

    def _new_budget_targets(
        self, tokens: list[str], ctx: CommandContext
    ) -> tuple[list[Target], list[str]]:
        """The conversation the budget is created in (when it can receive alerts here) and the
        targets named; notes on what was left out."""
        unconfigured = self.config.unconfigured_targets
        targets: list[Target] = []
        notes: list[str] = []
        here = here_target(ctx.requester)
        if here is not None and here.kind in unconfigured:
            notes.append(
                f"This conversation is not notified: {here.kind} alerts are not configured "
                f"here ({unconfigured[here.kind]})."
            )
        elif here is not None:
            targets.append(here)
        named = parse_new_targets(tokens, ctx)
        check_targets(named, unconfigured)
        targets += [t for t in named if t not in targets]
        return targets, notes

    def _assess_at_once(
        self, budget: BudgetRecord, ctx: CommandContext, notes: list[str] | None = None
    ) -> Checked:
        """Evaluate the budget now (claiming and queueing the alerts its crossed thresholds are
        due, as the scheduled pass would), then say what became of each threshold."""
        evaluate_budgets(
            ctx.engine,
            ctx.clock,
            budget_ids=[budget.id],
            forecast_provider=self.config.forecast_provider,
        )
        return self._checked(budget, ctx, notes)

    def _checked(
        self, budget: BudgetRecord, ctx: CommandContext, notes: list[str] | None = None
    ) -> Checked:
        assessment = self._assess_one(budget, ctx)
        states: tuple[tuple[str, str], ...] = ()
        if assessment is not None:
            views = period_alerts(ctx.engine, budget.id, assessment.window.start)
            states = tuple(threshold_states(assessment, views))
        warnings = (*scope_warnings(ctx.engine, budget.scope), *(notes or ()))
        return Checked(assessment, states, target_names(ctx.engine, budget.targets), warnings)

    def _assess_one(self, budget: BudgetRecord, ctx: CommandContext) -> Assessment | None:
        assessments, _snapshot = assess(
            ctx.engine, ctx.today(), [budget], self.config.forecast_provider
        )
        current = [a for a in assessments if a.current]
        return current[0] if current else None

    # -- list and show ---------------------------------------------------------------------------

    def listing(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        budgets = list_budgets(ctx.engine)
        if not budgets:
            return Reply(no_budgets_card(), visibility=_visibility(cmd))
        shown = budgets[:_LIST_LIMIT]
        assessments, _snapshot = assess(
            ctx.engine, ctx.today(), shown, self.config.forecast_provider
        )
        current = {a.budget.id: a for a in assessments if a.current}
        return Reply(list_card(budgets, shown, current), visibility=_visibility(cmd))

    def show(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        if len(cmd.args) != 1:
            raise usage_error("`budget show` takes one budget name.")
        budget = find_budget(ctx.engine, cmd.args[0])
        checked = self._checked(budget, ctx)
        if checked.assessment is None:
            return Reply(not_started_card(budget), visibility=_visibility(cmd))
        views = period_alerts(ctx.engine, budget.id, checked.assessment.window.start)
        view = show_card(checked.assessment, views, ctx.today(), checked.names, checked.warnings)
        return Reply(view, visibility=_visibility(cmd))

    # -- set ---------------------------------------------------------------------------------------

    def change(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        args = list(cmd.args)
        if len(args) < 2:
            raise usage_error(
                "`budget set` needs a name and what to change: amount, thresholds, forecast or "
                "targets."
            )
        budget = find_budget(ctx.engine, args[0])
        what, values = args[1].lower(), args[2:]
        require_change(ctx, budget, "change")
        budget, change = self._apply_change(budget, what, values, ctx)
        checked = self._assess_at_once(budget, ctx)
        view = updated_card(budget, change, ctx.requester.display_name, checked)
        return Reply(view, visibility=_visibility(cmd))

    def _apply_change(
        self, budget: BudgetRecord, what: str, values: list[str], ctx: CommandContext
    ) -> tuple[BudgetRecord, str]:
        """Change one thing of `budget`: the budget as it is now, and what changed."""
        now = ctx.clock.now()
        if what == "amount":
            if not values or len(values) > 2:
                raise usage_error(f"Give the new amount: `budget set {budget.name} amount 6000`.")
            if len(values) == 2 and parse_currency(values[1]) != budget.currency:
                raise UserInputError(
                    f"Budget {budget.name} is in {budget.currency}; its currency cannot change.",
                    hint="Create a new budget for another currency.",
                )
            amount = parse_amount(values[0], budget.currency)
            budget = set_amount(ctx.engine, budget, amount, now)
            amount_text = f"{format_money(amount, budget.currency)} {budget.period}"
            return budget, f"amount is now {amount_text}"
        if what in ("thresholds", "threshold"):
            if len(values) != 1:
                raise usage_error(
                    f"Give one comma-separated list: `budget set {budget.name} thresholds "
                    "50,80,100`."
                )
            percents = parse_thresholds(values[0])
            budget = set_thresholds(ctx.engine, budget, ThresholdKind.ACTUAL, percents, now)
            return budget, f"thresholds are now {thresholds_text(budget)}"
        if what == "forecast":
            if len(values) != 1:
                raise usage_error(
                    f"Give a list or `off`: `budget set {budget.name} forecast 90,100`."
                )
            percents = () if values[0].lower() in ("off", "none") else parse_thresholds(values[0])
            budget = set_thresholds(ctx.engine, budget, ThresholdKind.FORECAST, percents, now)
            return budget, f"thresholds are now {thresholds_text(budget)}"
        if what in ("targets", "target", "notify"):
            targets = _new_targets(budget, values, ctx)
            check_targets([t for t in targets if t not in budget.targets], self._unconfigured)
            budget = set_targets(ctx.engine, budget, targets, now)
            names = target_names(ctx.engine, budget.targets)
            return budget, f"alerts now go to {targets_text(budget.targets, names)}"
        raise usage_error(
            f"I can't set '{what[:30]}'; set amount, thresholds, forecast or targets."
        )

    # -- delete (confirmed by a button) ------------------------------------------------------------

    def delete(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        if len(cmd.args) != 1:
            raise usage_error("`budget delete` takes one budget name.")
        budget = find_budget(ctx.engine, cmd.args[0])
        require_change(ctx, budget, "delete")
        value = f"{budget.id}:{name_key(budget.name)}"
        return Reply(delete_question_card(budget, value), visibility=Visibility.PRIVATE)

    def delete_confirm(self, value: str, ctx: CommandContext) -> Reply:
        """Delete the budget named on the confirmation card (permissions are checked again)."""
        budget_id, key = _parse_delete_value(value)
        with ctx.engine.connect() as conn:
            budget = get_budget(conn, budget_id)
        if budget is None or name_key(budget.name) != key:
            return Reply(already_deleted_card(), replace_original=True)
        require_change(ctx, budget, "delete")
        deleted = delete_budget(ctx.engine, budget_id, key)
        view = deleted_card(deleted or budget.name, ctx.requester.display_name, ctx.clock.now())
        return Reply(view, visibility=Visibility.PRIVATE, replace_original=True)

    def delete_cancel(self, value: str, ctx: CommandContext) -> Reply:
        """Keep the budget; the confirmation card says so (only those who may delete it may
        answer the question: the card is theirs)."""
        budget_id, key = _parse_delete_value(value)
        with ctx.engine.connect() as conn:
            budget = get_budget(conn, budget_id)
        if budget is not None:
            require_change(ctx, budget, "keep or delete")
        name = budget.name if budget is not None else key
        return Reply(kept_card(name), replace_original=True)

    # -- alerts and acknowledgements ---------------------------------------------------------------

    def alerts(self, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
        """Recent budget alerts, newest first, or those of one budget."""
        if len(cmd.args) > 1:
            raise UserInputError(
                "`alerts` takes at most one budget name.", hint=f"Usage: {ALERTS_USAGE}"
            )
        budget = find_budget(ctx.engine, cmd.args[0]) if cmd.args else None
        return Reply(self._alerts_view(ctx, budget), visibility=_visibility(cmd))

    def _alerts_view(self, ctx: CommandContext, budget: BudgetRecord | None) -> Card:
        views = recent_alerts(ctx.engine, budget.id if budget else None)
        title = f"Alerts of budget {budget.name}" if budget else "Recent budget alerts"
        return alerts_card(title, views, budget.name if budget else "")

    def alert_ack_in_list(self, value: str, ctx: CommandContext) -> Reply:
        """Acknowledge an alert from the `alerts` list, and show the list again."""
        key_text, _, of_budget = value.partition("|")
        key = parse_alert_key(key_text)
        who = ctx.requester
        ack = acknowledge(ctx.engine, key, who.principal, who.display_name, ctx.clock.now())
        budget = find_budget(ctx.engine, of_budget) if of_budget else None
        extra = {} if ack.first else {"note": f"Already acknowledged by {ack.name}."}
        return Reply(
            self._alerts_view(ctx, budget),
            visibility=Visibility.PUBLIC,
            replace_original=True,
            extra=extra,
        )

    def alert_ack(self, value: str, ctx: CommandContext) -> Reply:
        """Acknowledge an alert: records who and when, and updates the card for everyone."""
        key = parse_alert_key(value)
        who = ctx.requester
        ack = acknowledge(ctx.engine, key, who.principal, who.display_name, ctx.clock.now())
        if ack.card is not None:
            sent = card_from_dict(ack.card)
        else:
            title = f"Budget alert: {key.threshold}% {key.kind}"
            sent = card(title, title + ".", Header(title))
        view = acknowledged_card(sent, ack.name, ack.at)
        extra = {} if ack.first else {"note": f"Already acknowledged by {ack.name}."}
        return Reply(view, visibility=Visibility.PUBLIC, replace_original=True, extra=extra)


def target_names(engine: Engine, targets: Sequence[Target]) -> dict[str, str]:
    """Teams conversation id → its name, for the Teams targets among `targets`."""
    teams = [t.address for t in targets if t.kind is TargetKind.TEAMS]
    return conversation_names(engine, str(TargetKind.TEAMS), teams) if teams else {}


def _resolve_currency(token: str | None, ctx: CommandContext, cost_type: CostType) -> str:
    billed = billing_currencies(ctx.engine, cost_type)
    if token is not None:
        code = parse_currency(token)
        if billed and code not in billed:
            raise UserInputError(
                f"Your cost data is billed in {' and '.join(billed)}, not {code}; a budget "
                "must use the currency of the costs it counts.",
                hint=f"Use {billed[0]}, e.g. `budget create <name> 5000 {billed[0]}`.",
            )
        return code
    if len(billed) == 1:
        return billed[0]
    if billed:
        raise UserInputError(
            f"Your cost data is billed in {' and '.join(billed)}; say which currency the budget "
            "is in.",
            hint=f"e.g. `budget create <name> 5000 {billed[0]}`.",
        )
    raise UserInputError(
        "There is no cost data yet, so I cannot tell which currency you are billed in.",
        hint="Give it after the amount, e.g. `budget create web 5000 EUR`, or ingest costs first.",
    )


def _check_scope_ingested(scope: BudgetScope, ctx: CommandContext) -> None:
    if not scope.scope_path:
        return
    known = ingested_scopes(ctx.engine)
    if scope.scope_path not in known:
        listing = ", ".join(sorted(known)[:5]) or "none yet"
        raise UserInputError(
            f"{scope.scope_path} is not an ingested scope, so it has no cost data.",
            hint=f"Ingested scopes: {listing}. Add it to CLOUDOPTIMA_SCOPES and ingest first.",
        )


def _new_targets(budget: BudgetRecord, values: list[str], ctx: CommandContext) -> list[Target]:
    if not values:
        raise UserInputError(
            f"Give the targets: `budget set {budget.name} targets here,email:ops@example.com`.",
            accepted=ACCEPTED_TARGETS,
        )
    mode = values[0].lower()
    if mode in ("add", "remove") and len(values) < 2:
        raise UserInputError(f"`targets {mode}` needs targets after it.", accepted=ACCEPTED_TARGETS)
    if mode == "add":
        targets = list(budget.targets)
        for target in parse_new_targets(values[1:], ctx):
            if target not in targets:
                targets.append(target)
    elif mode == "remove":
        removing = parse_targets(values[1:], ctx.requester, policy=None)
        missing = [t for t in removing if t not in budget.targets]
        if missing:
            raise UserInputError(
                f"Budget {budget.name} does not notify {describe_target(missing[0])}.",
                hint=f"It notifies: {targets_text(budget.targets)}.",
            )
        targets = [t for t in budget.targets if t not in removing]
    elif mode in ("none", "nobody", "off"):
        targets = []
    else:
        targets = parse_targets(values, ctx.requester, _policy(ctx))
        require_may_add(ctx, [t for t in targets if t not in budget.targets])
    if len(targets) > MAX_TARGETS:
        raise UserInputError(f"A budget notifies at most {MAX_TARGETS} targets.")
    return targets


def _policy(ctx: CommandContext) -> WebhookPolicy:
    return WebhookPolicy(ctx.config.webhook_allowed_hosts)


def _parse_delete_value(value: str) -> tuple[int, str]:
    budget_id, _, key = value.partition(":")
    if not (budget_id.isascii() and budget_id.isdigit() and key and len(budget_id) < 20):
        raise UserInputError("That button does not carry a budget I can recognize.")
    return int(budget_id), key


def register(router: Router, config: BudgetsConfig) -> None:
    commands = BudgetCommands(config)
    viewer = Role.VIEWER
    router.add_command(
        CommandSpec(
            name="budget",
            usage="budget create|list|show|set|delete …",
            summary="Budgets that alert once per threshold per period, on actual or forecast spend",
            help=BUDGET_HELP,
            role=viewer,
            purpose="see budgets",
            aliases=("budgets",),
            subcommands=(
                Subcommand(
                    "create",
                    commands.create,
                    viewer,
                    "create budgets",
                    ("new", "add"),
                    usage=CREATE_USAGE,
                    summary="A budget on actual or forecast spend; this channel is notified",
                ),
                Subcommand(
                    "list",
                    commands.listing,
                    viewer,
                    "see budgets",
                    ("ls",),
                    usage="budget list",
                    summary="Every budget with spend to date and forecast",
                ),
                Subcommand(
                    "show",
                    commands.show,
                    viewer,
                    "see budgets",
                    ("status", "get"),
                    usage="budget show <name>",
                    summary="One budget: spend, forecast, thresholds, burn chart",
                ),
                # Owners and admins only: `require_change` checks the budget in hand.
                Subcommand(
                    "set",
                    commands.change,
                    viewer,
                    "change budgets",
                    ("update", "change"),
                    usage="budget set <name> amount|thresholds|forecast|targets …",
                    summary="Change a budget (its owner or an admin)",
                ),
                Subcommand(
                    "delete",
                    commands.delete,
                    viewer,
                    "delete budgets",
                    ("remove", "rm"),
                    usage="budget delete <name>",
                    summary="Delete a budget, after a confirmation button",
                ),
            ),
            default_subcommand="list",
            syntax=USAGE,
        )
    )
    router.add_command(
        CommandSpec(
            name="alerts",
            usage=ALERTS_USAGE,
            summary="Recent budget alerts, their delivery state and acknowledgements",
            help=ALERTS_HELP,
            role=viewer,
            purpose="see budget alerts",
            handler=commands.alerts,
            aliases=("alert",),
        )
    )
    router.add_action(
        ActionSpec(BudgetsAction.DELETE_CONFIRM, commands.delete_confirm, viewer, "delete budgets")
    )
    router.add_action(
        ActionSpec(BudgetsAction.DELETE_CANCEL, commands.delete_cancel, viewer, "see budgets")
    )
    router.add_action(
        ActionSpec(BudgetsAction.ALERT_ACK, commands.alert_ack, viewer, "acknowledge budget alerts")
    )
    router.add_action(
        ActionSpec(
            BudgetsAction.ALERT_ACK_IN_LIST,
            commands.alert_ack_in_list,
            viewer,
            "acknowledge budget alerts",
        )
    )
