"""`budget create|list|show|set|delete …` and `alerts [budget]`, plus their buttons.

Who may do what: anyone allowed to see costs (Role.VIEWER) may list and show budgets, read alerts,
acknowledge an alert and create a budget (becoming its owner); changing or deleting a budget needs
Role.ADMIN or being its owner.
"""

from __future__ import annotations

from decimal import Decimal

from core.actions import ActionId
from core.budgets.alerts import (
    AlertView,
    acknowledge,
    alerted_thresholds,
    parse_alert_key,
    recent_alerts,
)
from core.budgets.cards import acknowledged_card, cost_type_label, show_card
from core.budgets.evaluate import Assessment, assess
from core.budgets.parsing import (
    ACCEPTED_SCOPES,
    ACCEPTED_TARGETS,
    DEFAULT_FORECAST_THRESHOLDS,
    DEFAULT_THRESHOLDS,
    BudgetScope,
    describe_target,
    here_target,
    is_scope_token,
    looks_like_currency,
    looks_like_threshold_list,
    name_key,
    parse_amount,
    parse_currency,
    parse_name,
    parse_period_word,
    parse_scope_tokens,
    parse_start,
    parse_targets,
    parse_thresholds,
)
from core.budgets.periods import default_start
from core.budgets.store import (
    BudgetRecord,
    NewBudget,
    Threshold,
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
from core.commands.context import CommandContext
from core.commands.parser import ParsedCommand
from core.commands.registry import registry
from core.errors import PermissionDeniedError, UserInputError
from core.models import BudgetPeriod, CostType, ThresholdKind
from core.money import format_money, format_percent
from core.notify import Target
from core.permissions import Role, has_role, require
from core.views import (
    Actions,
    Align,
    Block,
    Button,
    Column,
    Context,
    Fact,
    Facts,
    Header,
    Reply,
    Severity,
    Table,
    Text,
    Visibility,
    card,
)
from core.views_codec import card_from_dict

USAGE = (
    "budget create <name> <amount> [currency] [monthly|quarterly|yearly] [start YYYY-MM] "
    "[scope filters] [thresholds 50,80,100] [forecast [100]] [actual|amortized] "
    "[notify <targets>] · budget list · budget show <name> · "
    "budget set <name> amount|thresholds|forecast|targets … · budget delete <name>"
)
ALERTS_USAGE = "alerts [budget]"
_LIST_LIMIT = 50
_COST_TYPES = {"actual": CostType.ACTUAL, "amortized": CostType.AMORTIZED}


def _usage_error(message: str) -> UserInputError:
    return UserInputError(message, hint=f"Usage: {USAGE}")


def _visibility(cmd: ParsedCommand) -> Visibility:
    return Visibility.PUBLIC if cmd.public else Visibility.PRIVATE


def may_change(ctx: CommandContext, budget: BudgetRecord) -> bool:
    """Admins may change every budget; others only the budgets they created."""
    return has_role(ctx, Role.ADMIN) or ctx.requester.principal == budget.owner_principal


def require_change(ctx: CommandContext, budget: BudgetRecord, what: str) -> None:
    if not may_change(ctx, budget):
        owner = budget.owner_name or budget.owner_principal
        raise PermissionDeniedError(
            f"You are not allowed to {what} budget '{budget.name}': only its owner ({owner}) "
            "and CloudOptima admins may.",
            hint="Ask the owner or an admin to make the change.",
        )


@registry.command(
    "budget",
    usage="budget create|list|show|set|delete …",
    summary="Budgets that alert once per threshold per period, on actual or forecast spend",
    aliases=("budgets",),
)
def budget_command(cmd: ParsedCommand, ctx: CommandContext) -> Reply:
    """Create and manage budgets; their alerts arrive once per threshold per period.

    budget create <name> <amount> [currency] [monthly|quarterly|yearly] [start YYYY-MM]
        [scope filters] [thresholds 50,80,100] [forecast [100]] [actual|amortized]
        [notify <targets>]
      The channel you create it in is notified. Amounts: 5000, 12,500 or 12,500.50, in the
      currency your costs are billed in. Scope filters (combine them): sub:<name or id>,
      rg:<resource group>, service:<name>, location:<region>, meter:<category>,
      tag:<key>=<value>, mg:<management group id>, scope:<ingested ARM scope>.
      `forecast` adds forecast thresholds (100% unless listed).
    budget list · budget show <name>
    budget set <name> amount <amount> | thresholds <list> | forecast <list>|off |
      targets [add|remove] <targets>   (targets: here, slack:<channel id>, teams:<id>,
      webhook:https://…, email:<address>)
    budget delete <name>   (asks for confirmation with a button)

    Example: `budget create web-prod 5,000 monthly sub:Production rg:web thresholds 50,80,100
    forecast`.
    """
    if not cmd.args:
        return _list(cmd, ctx)
    action, rest = cmd.args[0].lower(), list(cmd.args[1:])
    if action in ("create", "new", "add"):
        return _create(rest, cmd, ctx)
    if action in ("list", "ls"):
        return _list(cmd, ctx)
    if action in ("show", "status", "get"):
        if len(rest) != 1:
            raise _usage_error("`budget show` takes one budget name.")
        return _show(rest[0], cmd, ctx)
    if action in ("set", "update", "change"):
        return _set(rest, cmd, ctx)
    if action in ("delete", "remove", "rm"):
        if len(rest) != 1:
            raise _usage_error("`budget delete` takes one budget name.")
        return _delete(rest[0], ctx)
    raise _usage_error(f"I don't know `budget {action[:30]}`.")


# -- create --------------------------------------------------------------------------------------


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


def _create(args: list[str], cmd: ParsedCommand, ctx: CommandContext) -> Reply:
    require(ctx, Role.VIEWER, "create budgets")
    if len(args) < 2:
        raise _usage_error("`budget create` needs a name and an amount: `budget create web 5000`.")
    name = parse_name(args[0])
    amount_token = args[1]
    currency_token: str | None = None
    period: BudgetPeriod | None = None
    start_token: str | None = None
    scope_tokens: list[str] = []
    actual: tuple[int, ...] | None = None
    forecast: tuple[int, ...] | None = None
    cost_type: CostType | None = None
    target_tokens: list[str] = []
    words = args[2:]
    i = 0

    def once(value: object, what: str, word: str) -> None:
        if value is not None:
            raise _usage_error(f"The {what} is given twice ('{word[:30]}').")

    while i < len(words):
        word = words[i]
        lowered = word.lower()
        following = words[i + 1] if i + 1 < len(words) else None
        if parse_period_word(lowered) is not None:
            once(period, "period", word)
            period = parse_period_word(lowered)
        elif lowered in _COST_TYPES:
            once(cost_type, "cost type", word)
            cost_type = _COST_TYPES[lowered]
        elif lowered in ("start", "from", "starting"):
            once(start_token, "start date", word)
            if following is None:
                raise _usage_error("`start` needs a month after it: start 2026-01.")
            start_token = following
            i += 1
        elif lowered in ("thresholds", "threshold", "at", "alert"):
            once(actual, "threshold list", word)
            if following is None:
                raise _usage_error("`thresholds` needs a list after it: thresholds 50,80,100.")
            actual = parse_thresholds(following)
            i += 1
        elif lowered == "forecast":
            once(forecast, "forecast list", word)
            if following is not None and looks_like_threshold_list(following):
                forecast = parse_thresholds(following)
                i += 1
            else:
                forecast = DEFAULT_FORECAST_THRESHOLDS
        elif lowered in ("notify", "targets", "to"):
            if following is None:
                raise _usage_error("`notify` needs targets after it.")
            target_tokens.extend(words[i + 1 :])
            break
        elif is_scope_token(word):
            scope_tokens.append(word)
        elif looks_like_currency(word):
            once(currency_token, "currency", word)
            currency_token = word
        else:
            raise UserInputError(
                f"I don't understand '{word[:40]}' in `budget create`.",
                hint=f"Usage: {USAGE}\nScope filters: {', '.join(ACCEPTED_SCOPES)}",
            )
        i += 1

    cost_type = cost_type or ctx.config.default_cost_type
    period = period or BudgetPeriod.MONTHLY
    currency = _resolve_currency(currency_token, ctx, cost_type)
    amount = parse_amount(amount_token, currency)
    start = parse_start(start_token) if start_token else default_start(period, ctx.today())
    scope = parse_scope_tokens(scope_tokens)
    _check_scope_ingested(scope, ctx)
    targets: list[Target] = []
    here = here_target(ctx.requester)
    if here is not None:
        targets.append(here)
    for target in parse_targets(target_tokens, ctx.requester):
        if target not in targets:
            targets.append(target)
    thresholds = tuple(Threshold(p, ThresholdKind.ACTUAL) for p in actual or DEFAULT_THRESHOLDS)
    thresholds += tuple(Threshold(p, ThresholdKind.FORECAST) for p in forecast or ())
    who = ctx.requester
    budget = create_budget(
        ctx.engine,
        NewBudget(
            name=name,
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
    assessment = _assess_one(budget, ctx)
    facts = [
        Fact("Amount", f"{format_money(amount, currency)} {period}"),
        Fact("From", f"{start:%Y-%m-%d}"),
        Fact("Scope", scope.describe()),
        Fact("Cost type", cost_type_label(cost_type)),
        Fact("Thresholds", _thresholds_text(budget)),
        Fact("Notifies", _targets_text(budget.targets)),
    ]
    if assessment is not None:
        facts.append(
            Fact(
                "Spent so far",
                f"{format_money(assessment.spent, currency)} "
                f"({format_percent(assessment.percent_spent)})",
            )
        )
    notes = [Context(f"`budget show {name}` for the figures and the burn chart.")]
    if not budget.targets:
        notes.insert(
            0,
            Context(
                "Nobody will be notified yet: add targets with "
                f"`budget set {name} targets here` in a Slack channel or Teams conversation."
            ),
        )
    view = card(
        f"Budget {name} created",
        f"Budget {name}: {format_money(amount, currency)} {period}, {scope.describe()}.",
        Header(f"Budget {name} created"),
        Facts(tuple(facts)),
        *notes,
        severity=Severity.SUCCESS,
    )
    return Reply(view, visibility=_visibility(cmd))


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


def _thresholds_text(budget: BudgetRecord) -> str:
    actual = budget.thresholds_of(ThresholdKind.ACTUAL)
    forecast = budget.thresholds_of(ThresholdKind.FORECAST)
    parts = []
    if actual:
        parts.append(", ".join(f"{p}%" for p in actual) + " of actual spend")
    if forecast:
        parts.append(", ".join(f"{p}%" for p in forecast) + " of forecast spend")
    return "; ".join(parts) or "none"


def _targets_text(targets: tuple[Target, ...]) -> str:
    return ", ".join(describe_target(t) for t in targets) or "nobody"


def _assess_one(budget: BudgetRecord, ctx: CommandContext) -> Assessment | None:
    assessments, _snapshot = assess(ctx.engine, ctx.today(), [budget], ctx.config.forecast_provider)
    current = [a for a in assessments if a.current]
    return current[0] if current else None


# -- list and show -------------------------------------------------------------------------------


def _list(cmd: ParsedCommand, ctx: CommandContext) -> Reply:
    require(ctx, Role.VIEWER, "see budgets")
    budgets = list_budgets(ctx.engine)
    if not budgets:
        view = card(
            "No budgets yet",
            "No budgets yet.",
            Header("No budgets yet"),
            Text("Create one with `budget create <name> <amount>`, e.g. `budget create web 5000`."),
        )
        return Reply(view, visibility=_visibility(cmd))
    shown = budgets[:_LIST_LIMIT]
    assessments, _snapshot = assess(ctx.engine, ctx.today(), shown, ctx.config.forecast_provider)
    by_id = {a.budget.id: a for a in assessments if a.current}
    rows = []
    for b in shown:
        a = by_id.get(b.id)
        amount = f"{format_money(b.amount, b.currency)} {b.period}"
        if a is None:
            rows.append(
                (b.name, amount, f"starts {b.start_date:%Y-%m-%d}", "—", b.scope.describe())
            )
            continue
        spent = f"{format_money(a.spent, b.currency)} ({format_percent(a.percent_spent)})"
        forecast = (
            f"{format_money(a.forecast.total, b.currency)} ({format_percent(a.percent_forecast)})"
            if a.forecast.total is not None
            else "n/a"
        )
        rows.append((b.name, amount, spent, forecast, b.scope.describe()))
    footer = f"… {len(budgets) - len(shown)} more" if len(budgets) > len(shown) else None
    view = card(
        "Budgets",
        f"{len(budgets)} budget(s).",
        Header("Budgets"),
        Table(
            columns=(
                Column("Budget"),
                Column("Amount", Align.RIGHT),
                Column("Spent", Align.RIGHT),
                Column("Forecast", Align.RIGHT),
                Column("Scope"),
            ),
            rows=tuple(rows),
            footer=footer,
        ),
        Context("`budget show <name>` for one budget's details and burn chart."),
    )
    return Reply(view, visibility=_visibility(cmd))


def _show(name: str, cmd: ParsedCommand, ctx: CommandContext) -> Reply:
    require(ctx, Role.VIEWER, "see budgets")
    budget = find_budget(ctx.engine, name)
    assessment = _assess_one(budget, ctx)
    if assessment is None:
        view = card(
            f"Budget {budget.name}",
            f"Budget {budget.name} starts on {budget.start_date:%Y-%m-%d}.",
            Header(f"Budget {budget.name}"),
            Facts(
                (
                    Fact(
                        "Amount", f"{format_money(budget.amount, budget.currency)} {budget.period}"
                    ),
                    Fact("Starts", f"{budget.start_date:%Y-%m-%d}"),
                    Fact("Scope", budget.scope.describe()),
                    Fact("Thresholds", _thresholds_text(budget)),
                    Fact("Notifies", _targets_text(budget.targets)),
                )
            ),
        )
        return Reply(view, visibility=_visibility(cmd))
    alerted = alerted_thresholds(ctx.engine, budget.id, assessment.window.start)
    return Reply(show_card(assessment, alerted, ctx.today()), visibility=_visibility(cmd))


# -- set -----------------------------------------------------------------------------------------


def _set(args: list[str], cmd: ParsedCommand, ctx: CommandContext) -> Reply:
    if len(args) < 2:
        raise _usage_error(
            "`budget set` needs a name and what to change: amount, thresholds, forecast or targets."
        )
    budget = find_budget(ctx.engine, args[0])
    what, values = args[1].lower(), args[2:]
    require_change(ctx, budget, "change")
    now = ctx.clock.now()
    if what == "amount":
        if not values or len(values) > 2:
            raise _usage_error(f"Give the new amount: `budget set {budget.name} amount 6000`.")
        if len(values) == 2 and parse_currency(values[1]) != budget.currency:
            raise UserInputError(
                f"Budget {budget.name} is in {budget.currency}; its currency cannot change.",
                hint="Create a new budget for another currency.",
            )
        amount = parse_amount(values[0], budget.currency)
        budget = set_amount(ctx.engine, budget, amount, now)
        change = f"amount is now {format_money(amount, budget.currency)} {budget.period}"
    elif what in ("thresholds", "threshold"):
        if len(values) != 1:
            raise _usage_error(
                f"Give one comma-separated list: `budget set {budget.name} thresholds 50,80,100`."
            )
        percents = parse_thresholds(values[0])
        budget = set_thresholds(ctx.engine, budget, ThresholdKind.ACTUAL, percents, now)
        change = f"thresholds are now {_thresholds_text(budget)}"
    elif what == "forecast":
        if len(values) != 1:
            raise _usage_error(f"Give a list or `off`: `budget set {budget.name} forecast 90,100`.")
        percents = () if values[0].lower() in ("off", "none") else parse_thresholds(values[0])
        budget = set_thresholds(ctx.engine, budget, ThresholdKind.FORECAST, percents, now)
        change = f"thresholds are now {_thresholds_text(budget)}"
    elif what in ("targets", "target", "notify"):
        budget = set_targets(ctx.engine, budget, _new_targets(budget, values, ctx), now)
        change = f"alerts now go to {_targets_text(budget.targets)}"
    else:
        raise _usage_error(
            f"I can't set '{what[:30]}'; set amount, thresholds, forecast or targets."
        )
    view = card(
        f"Budget {budget.name} updated",
        f"Budget {budget.name}: {change}.",
        Header(f"Budget {budget.name} updated"),
        Text(f"The {change}."),
        Context(
            f"Changed by {ctx.requester.display_name}. Thresholds already alerted this period "
            "stay alerted."
        ),
        severity=Severity.SUCCESS,
    )
    return Reply(view, visibility=_visibility(cmd))


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
        for target in parse_targets(values[1:], ctx.requester):
            if target not in targets:
                targets.append(target)
    elif mode == "remove":
        removing = parse_targets(values[1:], ctx.requester)
        missing = [t for t in removing if t not in budget.targets]
        if missing:
            raise UserInputError(
                f"Budget {budget.name} does not notify {describe_target(missing[0])}.",
                hint=f"It notifies: {_targets_text(budget.targets)}.",
            )
        targets = [t for t in budget.targets if t not in removing]
    elif mode in ("none", "nobody", "off"):
        targets = []
    else:
        targets = parse_targets(values, ctx.requester)
    if len(targets) > 10:
        raise UserInputError("A budget notifies at most 10 targets.")
    return targets


# -- delete (confirmed by a button) ---------------------------------------------------------------


def _delete(name: str, ctx: CommandContext) -> Reply:
    budget = find_budget(ctx.engine, name)
    require_change(ctx, budget, "delete")
    value = f"{budget.id}:{name_key(budget.name)}"
    question = f"Delete budget {budget.name}?"
    view = card(
        question,
        f"{question} Its alert history goes with it.",
        Header(question),
        Text(
            f"{format_money(budget.amount, budget.currency)} {budget.period}, "
            f"{budget.scope.describe()}. Its alert history is deleted too; messages already "
            "queued are still delivered."
        ),
        Actions(
            (
                Button("Delete", ActionId.BUDGET_DELETE_CONFIRM, value, style="danger"),
                Button("Keep it", ActionId.BUDGET_DELETE_CANCEL, value),
            )
        ),
        severity=Severity.WARNING,
    )
    return Reply(view, visibility=Visibility.PRIVATE)


def _parse_delete_value(value: str) -> tuple[int, str]:
    budget_id, _, key = value.partition(":")
    if not (budget_id.isascii() and budget_id.isdigit() and key and len(budget_id) < 20):
        raise UserInputError("That button does not carry a budget I can recognize.")
    return int(budget_id), key


@registry.action(ActionId.BUDGET_DELETE_CONFIRM)
def budget_delete_confirm(value: str, ctx: CommandContext) -> Reply:
    """Delete the budget named on the confirmation card (permissions are checked again)."""
    budget_id, key = _parse_delete_value(value)
    with ctx.engine.connect() as conn:
        budget = get_budget(conn, budget_id)
    if budget is None or name_key(budget.name) != key:
        view = card(
            "Already deleted",
            "That budget no longer exists.",
            Header("Already deleted"),
            Text("That budget no longer exists; nothing was changed."),
        )
        return Reply(view, replace_original=True)
    require_change(ctx, budget, "delete")
    deleted = delete_budget(ctx.engine, budget_id, key)
    who = ctx.requester.display_name
    title = f"Budget {deleted or budget.name} deleted"
    view = card(
        title,
        f"{title} by {who}.",
        Header(title),
        Context(f"Deleted by {who} on {ctx.clock.now():%Y-%m-%d %H:%M} UTC."),
        severity=Severity.SUCCESS,
    )
    return Reply(view, visibility=Visibility.PRIVATE, replace_original=True)


@registry.action(ActionId.BUDGET_DELETE_CANCEL)
def budget_delete_cancel(value: str, ctx: CommandContext) -> Reply:
    """Keep the budget; the confirmation card says so."""
    budget_id, key = _parse_delete_value(value)
    with ctx.engine.connect() as conn:
        budget = get_budget(conn, budget_id)
    name = budget.name if budget is not None else key
    view = card(
        f"Budget {name} kept",
        f"Budget {name} was not deleted.",
        Header(f"Budget {name} kept"),
        Context("Nothing was deleted."),
    )
    return Reply(view, replace_original=True)


# -- alerts and acknowledgements -----------------------------------------------------------------


def _delivery_text(view: AlertView, threshold_note: str) -> str:
    if not view.notified:
        return threshold_note
    if not view.deliveries:
        return "no targets"
    labels = {"sent": "sent", "pending": "queued", "sending": "sending", "dead": "FAILED"}
    parts = []
    for d in view.deliveries:
        state = labels.get(d.status, d.status)
        if d.status == "pending" and d.attempts:
            state = f"retrying ({d.attempts})"
        parts.append(f"{d.target_kind} {state}")
    return ", ".join(parts)


@registry.command(
    "alerts",
    usage=ALERTS_USAGE,
    summary="Recent budget alerts, their delivery state and acknowledgements",
    aliases=("alert",),
)
def alerts_command(cmd: ParsedCommand, ctx: CommandContext) -> Reply:
    """Recent budget alerts, newest first: threshold, spend, delivery per target (sent, queued,
    retrying, FAILED when it gave up) and who acknowledged. `alerts <budget>` for one budget."""
    require(ctx, Role.VIEWER, "see budget alerts")
    if len(cmd.args) > 1:
        raise UserInputError(
            "`alerts` takes at most one budget name.", hint=f"Usage: {ALERTS_USAGE}"
        )
    budget = find_budget(ctx.engine, cmd.args[0]) if cmd.args else None
    views = recent_alerts(ctx.engine, budget.id if budget else None)
    title = f"Alerts of budget {budget.name}" if budget else "Recent budget alerts"
    if not views:
        view = card(title, "No alerts yet.", Header(title), Text("No budget alerts yet."))
        return Reply(view, visibility=_visibility(cmd))
    rows = []
    for v in views:
        percent = v.spent / v.amount * 100 if v.amount else Decimal(0)
        threshold = f"{v.threshold}% {v.kind}"
        rows.append(
            (
                f"{v.created_at:%Y-%m-%d %H:%M}",
                v.budget_name,
                threshold,
                f"{format_money(v.spent, v.currency)} ({format_percent(percent)})",
                _delivery_text(v, "sent with a higher threshold"),
                f"{v.acknowledged_by} {v.acknowledged_at:%m-%d %H:%M}"
                if v.acknowledged_by and v.acknowledged_at
                else "—",
            )
        )
    dead = [(v, d) for v in views for d in v.deliveries if d.status == "dead"]
    blocks: list[Block] = [
        Header(title),
        Table(
            columns=(
                Column("When (UTC)"),
                Column("Budget"),
                Column("Threshold"),
                Column("Spent", Align.RIGHT),
                Column("Delivery"),
                Column("Acknowledged"),
            ),
            rows=tuple(rows),
        ),
    ]
    for v, d in dead[:5]:
        error = (d.last_error or "no error recorded")[:160]
        blocks.append(
            Context(
                f"Gave up delivering the {v.budget_name} {v.threshold}% alert to {d.target_kind} "
                f"after {d.attempts} attempt(s): {error}"
            )
        )
    summary = f"{len(views)} recent alert(s)" + (f", {len(dead)} undeliverable" if dead else "")
    severity = Severity.WARNING if dead else Severity.INFO
    return Reply(
        card(title, summary + ".", *blocks, severity=severity), visibility=_visibility(cmd)
    )


@registry.action(ActionId.ALERT_ACK)
def alert_ack(value: str, ctx: CommandContext) -> Reply:
    """Acknowledge an alert: records who and when, and updates the card for everyone."""
    require(ctx, Role.VIEWER, "acknowledge budget alerts")
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
