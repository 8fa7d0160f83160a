"""Cards for budgets: the alert (with its Acknowledge button), `budget show`, the burn chart,
and the answers of every budget command."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_precision

from core.budgets.actions import BudgetsAction
from core.budgets.alerts import AlertView
from core.budgets.assessment import Assessment
from core.budgets.model import BudgetRecord, NewBudget, ThresholdKind
from core.costs.model import CostType, ForecastProvider
from core.delivery.targets import Target, describe_target
from core.kernel.cards import (
    Actions,
    Align,
    Block,
    Button,
    Card,
    Chart,
    ChartLine,
    ChartPoint,
    ChartSeries,
    Column,
    Context,
    Fact,
    Facts,
    Header,
    Severity,
    Table,
    Text,
    card,
)
from core.kernel.money import format_money, format_percent, from_storage_units

#: Burn charts keep at most this many points (a yearly budget samples every few days).
MAX_CHART_POINTS = 62
_SAMPLE = Decimal("1234567.5")


@functools.cache
def _money_pattern(currency: str) -> tuple[str, str, int] | None:
    """(prefix, suffix, decimals) around the number in `format_money`'s output for `currency`."""
    digits = int(get_currency_precision(currency))
    sample = format_money(_SAMPLE, currency)
    number = f"{_SAMPLE:,.{digits}f}"
    at = sample.find(number)
    if at < 0:
        return None
    return sample[:at], sample[at + len(number) :], digits


def money(amount: Decimal, currency: str) -> str:
    """`format_money`, fast: alert passes format thousands of amounts (babel is ~20 µs each)."""
    pattern = _money_pattern(currency)
    if pattern is None or amount < 0:
        return format_money(amount, currency)
    prefix, suffix, digits = pattern
    return f"{prefix}{amount:,.{digits}f}{suffix}"


@dataclass(frozen=True, slots=True)
class Contributors:
    """The largest resource groups and services behind a budget's spend in its window."""

    resource_groups: tuple[tuple[str, Decimal], ...] = ()
    services: tuple[tuple[str, Decimal], ...] = ()


def cost_type_label(cost_type: CostType) -> str:
    return "amortized" if cost_type is CostType.AMORTIZED else "actual"


def burn_chart(a: Assessment) -> Chart:
    """Cumulative spend from the window start to today (a point per month while the spend is
    kept per month, then per day, sampled down to `MAX_CHART_POINTS`), the budget as a line,
    and the forecast from today to the period end; the time axis runs to the period end."""
    end = min(a.today, a.window.end)
    daily = a.daily
    cumulative: list[tuple[date, int]] = []
    total = 0
    day = a.window.start
    while day <= end:
        if day < a.boundary:  # a month bucket, keyed by its first day: plot it at its end
            following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
            total += daily.get(day, 0)
            cumulative.append((min(following - timedelta(days=1), end), total))
            day = following
            continue
        total += daily.get(day, 0)
        cumulative.append((day, total))
        day += timedelta(days=1)
    step = max(1, -(-len(cumulative) // MAX_CHART_POINTS))
    points = [
        ChartPoint(when, from_storage_units(units))
        for index, (when, units) in enumerate(cumulative)
        if index % step == step - 1 or index == len(cumulative) - 1
    ]
    b = a.budget
    budget = money(b.amount, b.currency)
    return Chart(
        title=f"Cumulative {cost_type_label(b.cost_type)} spend vs budget {budget}",
        points=tuple(points),
        unit=b.currency,
        name="spent",
        series=_forecast_series(a, points[-1] if points else None),
        lines=(ChartLine("budget", b.amount),),
        until=a.window.end,
    )


def _forecast_series(a: Assessment, last: ChartPoint | None) -> tuple[ChartSeries, ...]:
    """The forecast as the straight line it is: from the last point of spend to the forecast
    at the period end (two points; every alert card stores it, so no more)."""
    total = a.forecast.total
    if last is None or total is None or last.day >= a.window.end:
        return ()
    end = a.window.end
    points = (last, ChartPoint(end, total))
    summary = f"dashed: forecast {money(total, a.budget.currency)} by {end:%b} {end.day}"
    return (ChartSeries("forecast", points, dashed=True, summary=summary),)


def _contributor_tables(c: Contributors | None, spent: Decimal, currency: str) -> list[Block]:
    if c is None or not (c.resource_groups or c.services):
        return []
    blocks: list[Block] = []
    for title, rows in (("Resource group", c.resource_groups), ("Service", c.services)):
        if not rows:
            continue
        blocks.append(
            Table(
                columns=(Column(title), Column("Spent", Align.RIGHT), Column("Share", Align.RIGHT)),
                rows=tuple(
                    (
                        label,
                        money(cost, currency),
                        format_percent(cost / spent * 100 if spent else Decimal(0)),
                    )
                    for label, cost in rows
                ),
            )
        )
    return blocks


def _figures(a: Assessment) -> list[Fact]:
    currency = a.budget.currency

    def fmt(amount: Decimal) -> str:
        return money(amount, currency)

    facts = [
        Fact("Spent", f"{fmt(a.spent)} ({format_percent(a.percent_spent)})"),
    ]
    if a.forecast.total is not None:
        facts.append(
            Fact(
                f"Forecast to {a.window.end:%b} {a.window.end.day}",
                f"{fmt(a.forecast.total)} ({format_percent(a.percent_forecast)})",
            )
        )
    else:
        facts.append(Fact("Forecast", a.forecast.method))
    facts.append(Fact("Budget", f"{fmt(a.budget.amount)} {a.budget.period}"))
    facts.append(Fact("Period", f"{a.window.start:%Y-%m-%d} – {a.window.end:%Y-%m-%d}"))
    facts.append(Fact("Scope", a.budget.scope.describe()))
    return facts


def alert_card(
    a: Assessment,
    threshold: int,
    kind: ThresholdKind,
    contributors: Contributors | None,
    ack_value: str,
) -> Card:
    """The message a crossed threshold sends: figures, contributors, burn chart, Acknowledge."""
    b = a.budget
    label = a.window.label(b.period)
    amount = money(b.amount, b.currency)
    if kind is ThresholdKind.ACTUAL:
        title = f"Budget {b.name}: {threshold}% of {amount} spent ({label})"
        reason = (
            f"Spend reached {format_percent(a.percent_spent)} of the budget, crossing the "
            f"{threshold}% threshold."
        )
        if not a.current:
            reason += " Late cost data crossed it after the period closed."
        severity = Severity.ERROR if threshold >= 100 else Severity.WARNING
    else:
        title = f"Budget {b.name}: forecast to reach {threshold}% of {amount} ({label})"
        outlook = (
            "Azure Cost Management forecasts that spend will reach"
            if a.forecast.provider is ForecastProvider.AZURE
            else "At the current run rate spend will reach"
        )
        reason = (
            f"{outlook} {format_percent(a.percent_forecast)} of the budget by "
            f"{a.window.end:%b %d}, crossing the {threshold}% forecast threshold."
        )
        severity = Severity.WARNING
    summary = (
        f"{b.name}: {money(a.spent, b.currency)} of {amount} spent "
        f"({format_percent(a.percent_spent)}) in {label}"
    )
    if a.forecast.total is not None:
        summary += f"; forecast {money(a.forecast.total, b.currency)}"
    blocks: list[Block] = [
        Header(title),
        Text(reason),
        Facts(tuple(_figures(a))),
        *_contributor_tables(contributors, a.spent, b.currency),
        burn_chart(a),
        Context(
            f"{cost_type_label(b.cost_type).capitalize()} cost · data through "
            f"{a.last_complete:%Y-%m-%d} · forecast: {a.forecast.method} · owner "
            f"{b.owner_name or b.owner_principal}"
        ),
        Actions((Button("Acknowledge", BudgetsAction.ALERT_ACK, ack_value, style="primary"),)),
    ]
    data = alert_data(a, threshold, kind, contributors)
    return card(title, summary + ".", *blocks, severity=severity, data=data)


def decimal_text(amount: Decimal) -> str:
    """An amount as a plain decimal string (never an exponent): `1234.5` → `"1234.50000000"`."""
    return f"{amount:f}"


def alert_data(
    a: Assessment, threshold: int, kind: ThresholdKind, contributors: Contributors | None
) -> dict[str, Any]:
    """The alert as machine-readable fields (webhook payloads carry them beside the card;
    `adapters/notify/webhook_payload.schema.json` documents them). Amounts are decimal strings
    in the budget's currency, exact to 1e-8."""
    b = a.budget
    c = contributors or Contributors()
    return {
        "type": "budget.alert",
        "budget": {"id": b.id, "name": b.name},
        "period": {
            "start": a.window.start.isoformat(),
            "end": a.window.end.isoformat(),
            "label": a.window.label(b.period),
        },
        "threshold": {"percent": threshold, "kind": str(kind)},
        "amount": decimal_text(b.amount),
        "spent": decimal_text(a.spent),
        "forecast": None if a.forecast.total is None else decimal_text(a.forecast.total),
        "forecast_method": a.forecast.method,
        "currency": b.currency,
        "cost_type": str(b.cost_type),
        "scope": b.scope.describe(),
        "data_through": a.last_complete.isoformat(),
        "top_contributors": {
            "resource_groups": [{"name": n, "cost": decimal_text(v)} for n, v in c.resource_groups],
            "services": [{"name": n, "cost": decimal_text(v)} for n, v in c.services],
        },
    }


def acknowledged_card(sent: Card, who: str, when: datetime) -> Card:
    """The sent card with its buttons replaced by who acknowledged it and when."""
    blocks = tuple(b for b in sent.blocks if not isinstance(b, Actions))
    note = Context(f"Acknowledged by {who} on {when:%Y-%m-%d %H:%M} UTC")
    return Card(
        title=sent.title,
        summary=sent.summary,
        blocks=(*blocks, note),
        severity=Severity.INFO if sent.severity is not Severity.ERROR else sent.severity,
        data=sent.data,
    )


def _alert_state(view: AlertView, views: dict[tuple[int, str], AlertView]) -> str:
    """What became of a claimed alert: queued, sent, failed, nobody to notify, or folded into
    the higher threshold's alert it was crossed with."""
    if not view.notified:
        higher = [v for (p, k), v in views.items() if k == str(view.kind) and p > view.threshold]
        sent_with = next((v for v in sorted(higher, key=lambda v: v.threshold) if v.notified), None)
        if sent_with is None:
            return "crossed — sent with a higher threshold"
        return f"crossed — with the {sent_with.threshold}% alert: {delivery_text(sent_with)}"
    return f"crossed {view.created_at:%Y-%m-%d} — {delivery_text(view)}"


def delivery_text(view: AlertView) -> str:
    """An alert's delivery in words: "alert queued", "alert sent", "nobody to notify" …"""
    if not view.deliveries:
        return "nobody to notify (no targets)"
    states = {d.status for d in view.deliveries}
    if "dead" in states:
        return "alert FAILED for " + ", ".join(
            d.target_kind for d in view.deliveries if d.status == "dead"
        )
    if states <= {"sent"}:
        return "alert sent"
    return "alert queued"


def threshold_states(
    a: Assessment, views: dict[tuple[int, str], AlertView]
) -> list[tuple[str, str]]:
    """(threshold, state) rows: crossed (and what became of its alert), or how far away."""
    rows: list[tuple[str, str]] = []
    crossed = set(a.crossed())
    for t in a.budget.thresholds:
        name = f"{t.percent}% {t.kind}"
        view = views.get((t.percent, str(t.kind)))
        if view is not None:
            rows.append((name, _alert_state(view, views)))
        elif (t.percent, t.kind) in crossed:
            rows.append((name, "crossed — alert due at the next check"))
        elif t.kind is ThresholdKind.FORECAST and a.forecast.total is None:
            rows.append((name, f"waiting: {a.forecast.method}"))
        else:
            at = a.percent_forecast if t.kind is ThresholdKind.FORECAST else a.percent_spent
            rows.append((name, f"not reached (at {format_percent(at)})"))
    return rows


def show_card(
    a: Assessment,
    views: dict[tuple[int, str], AlertView],
    today: date,
    names: Mapping[str, str] | None = None,
    warnings: Sequence[str] = (),
) -> Card:
    """`budget show`: figures, thresholds and their state, targets, burn chart."""
    b = a.budget
    amount = money(b.amount, b.currency)
    remaining = b.amount - a.spent
    title = f"Budget {b.name} — {a.window.label(b.period)}"
    summary = (
        f"{b.name}: {money(a.spent, b.currency)} of {amount} spent "
        f"({format_percent(a.percent_spent)})."
    )
    facts = _figures(a)
    facts.insert(
        2,
        Fact(
            "Remaining" if remaining >= 0 else "Over budget by",
            money(abs(remaining), b.currency),
        ),
    )
    facts.append(Fact("Cost type", cost_type_label(b.cost_type)))
    facts.append(Fact("Notifies", targets_text(b.targets, names) if b.targets else NOBODY))
    facts.append(Fact("Owner", b.owner_name or b.owner_principal))
    states = threshold_states(a, views)
    severity = Severity.INFO
    if a.percent_spent >= 100:
        severity = Severity.ERROR
    elif any(state.startswith("crossed") for _, state in states):
        severity = Severity.WARNING
    blocks: list[Block] = [
        Header(title),
        Facts(tuple(facts)),
        Table(columns=(Column("Threshold"), Column("State")), rows=tuple(states)),
        burn_chart(a),
        *(Context(w) for w in warnings),
        Context(
            f"Data through {a.last_complete:%Y-%m-%d} · forecast: {a.forecast.method} · "
            f"as of {today:%Y-%m-%d}"
        ),
    ]
    return card(title, summary, *blocks, severity=severity)


# -- answers of the budget commands --------------------------------------------------------------


def thresholds_text(budget: NewBudget) -> str:
    actual = budget.thresholds_of(ThresholdKind.ACTUAL)
    forecast = budget.thresholds_of(ThresholdKind.FORECAST)
    parts = []
    if actual:
        parts.append(", ".join(f"{p}%" for p in actual) + " of actual spend")
    if forecast:
        parts.append(", ".join(f"{p}%" for p in forecast) + " of forecast spend")
    return "; ".join(parts) or "none"


#: What a budget without targets says (its alerts are claimed and not sent).
NOBODY = "nobody (no targets): alerts are recorded, not sent"


def targets_text(targets: tuple[Target, ...], names: Mapping[str, str] | None = None) -> str:
    """The targets for display; `names`: Teams conversation id → its name."""
    known = names or {}
    return ", ".join(describe_target(t, known.get(t.address)) for t in targets) or "nobody"


def _amount(budget: NewBudget) -> str:
    return f"{format_money(budget.amount, budget.currency)} {budget.period}"


@dataclass(frozen=True, slots=True)
class Checked:
    """A budget as just assessed (at once, after a create or a change): its assessment in the
    current period, its thresholds' states, its targets' names, and what may keep it silent."""

    assessment: Assessment | None = None
    states: tuple[tuple[str, str], ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def _check_blocks(budget: BudgetRecord, checked: Checked) -> list[Block]:
    blocks: list[Block] = []
    if checked.states:
        blocks.append(Table(columns=(Column("Threshold"), Column("State")), rows=checked.states))
    blocks += [Context(w) for w in checked.warnings]
    if not budget.targets:
        blocks.append(
            Context(
                "Nobody will be notified: add targets with "
                f"`budget set {budget.name} targets here` in a Slack channel or Teams "
                "conversation."
            )
        )
    return blocks


def created_card(budget: BudgetRecord, checked: Checked) -> Card:
    name, currency = budget.name, budget.currency
    facts = [
        Fact("Amount", _amount(budget)),
        Fact("From", f"{budget.start_date:%Y-%m-%d}"),
        Fact("Scope", budget.scope.describe()),
        Fact("Cost type", cost_type_label(budget.cost_type)),
        Fact("Thresholds", thresholds_text(budget)),
        Fact("Notifies", targets_text(budget.targets, checked.names)),
    ]
    assessment = checked.assessment
    if assessment is not None:
        facts.append(
            Fact(
                "Spent so far",
                f"{format_money(assessment.spent, currency)} "
                f"({format_percent(assessment.percent_spent)})",
            )
        )
    severity = Severity.WARNING if checked.warnings else Severity.SUCCESS
    return card(
        f"Budget {name} created",
        f"Budget {name}: {format_money(budget.amount, currency)} {budget.period}, "
        f"{budget.scope.describe()}.",
        Header(f"Budget {name} created"),
        Facts(tuple(facts)),
        *_check_blocks(budget, checked),
        Context(f"`budget show {name}` for the figures and the burn chart."),
        severity=severity,
    )


def no_budgets_card() -> Card:
    return card(
        "No budgets yet",
        "No budgets yet.",
        Header("No budgets yet"),
        Text("Create one with `budget create <name> <amount>`, e.g. `budget create web 5000`."),
    )


def list_card(
    budgets: list[BudgetRecord], shown: list[BudgetRecord], current: dict[int, Assessment]
) -> Card:
    """The budgets table: `shown` of `budgets`, with the `current` assessment of each by id."""
    rows = []
    for b in shown:
        a = current.get(b.id)
        if a is None:
            rows.append(
                (b.name, _amount(b), f"starts {b.start_date:%Y-%m-%d}", "—", b.scope.describe())
            )
            continue
        spent = f"{format_money(a.spent, b.currency)} ({format_percent(a.percent_spent)})"
        forecast = (
            f"{format_money(a.forecast.total, b.currency)} ({format_percent(a.percent_forecast)})"
            if a.forecast.total is not None
            else "n/a"
        )
        rows.append((b.name, _amount(b), spent, forecast, b.scope.describe()))
    more = len(budgets) - len(shown)
    footer = f"… {more} more budgets (`budget show <name>` opens any)" if more > 0 else None
    return card(
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


def not_started_card(budget: BudgetRecord) -> Card:
    return card(
        f"Budget {budget.name}",
        f"Budget {budget.name} starts on {budget.start_date:%Y-%m-%d}.",
        Header(f"Budget {budget.name}"),
        Facts(
            (
                Fact("Amount", _amount(budget)),
                Fact("Starts", f"{budget.start_date:%Y-%m-%d}"),
                Fact("Scope", budget.scope.describe()),
                Fact("Thresholds", thresholds_text(budget)),
                Fact("Notifies", targets_text(budget.targets)),
            )
        ),
    )


def updated_card(budget: BudgetRecord, change: str, who: str, checked: Checked) -> Card:
    return card(
        f"Budget {budget.name} updated",
        f"Budget {budget.name}: {change}.",
        Header(f"Budget {budget.name} updated"),
        Text(f"The {change}."),
        *_check_blocks(budget, checked),
        Context(f"Changed by {who}. Thresholds already alerted this period stay alerted."),
        severity=Severity.WARNING if checked.warnings else Severity.SUCCESS,
    )


def delete_question_card(budget: BudgetRecord, value: str) -> Card:
    question = f"Delete budget {budget.name}?"
    return card(
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
                Button("Delete", BudgetsAction.DELETE_CONFIRM, value, style="danger"),
                Button("Keep it", BudgetsAction.DELETE_CANCEL, value),
            )
        ),
        severity=Severity.WARNING,
    )


def already_deleted_card() -> Card:
    return card(
        "Already deleted",
        "That budget no longer exists.",
        Header("Already deleted"),
        Text("That budget no longer exists; nothing was changed."),
    )


def deleted_card(name: str, who: str, when: datetime) -> Card:
    title = f"Budget {name} deleted"
    return card(
        title,
        f"{title} by {who}.",
        Header(title),
        Context(f"Deleted by {who} on {when:%Y-%m-%d %H:%M} UTC."),
        severity=Severity.SUCCESS,
    )


def kept_card(name: str) -> Card:
    return card(
        f"Budget {name} kept",
        f"Budget {name} was not deleted.",
        Header(f"Budget {name} kept"),
        Context("Nothing was deleted."),
    )


_DELIVERY_LABELS = {"sent": "sent", "pending": "queued", "sending": "sending", "dead": "FAILED"}


def _deliveries_text(view: AlertView) -> str:
    if not view.deliveries:
        return "not sent: no targets"
    parts = []
    for d in view.deliveries:
        state = _DELIVERY_LABELS.get(d.status, d.status)
        if d.status == "pending" and d.attempts:
            state = f"retrying ({d.attempts})"
        parts.append(f"{d.target_kind} {state}")
    return ", ".join(parts)


def _delivery_text(view: AlertView, views: Sequence[AlertView]) -> str:
    """How the alert went out: per target, "not sent: no targets", or — a lower threshold
    crossed together with a higher one — with that one's message."""
    if view.notified:
        return _deliveries_text(view)
    sent_with = next(
        (
            v
            for v in sorted(views, key=lambda v: v.threshold)
            if v.notified
            and v.budget_name == view.budget_name
            and v.period_start == view.period_start
            and v.kind == view.kind
            and v.threshold > view.threshold
        ),
        None,
    )
    if sent_with is None:
        return "with a higher threshold's alert"
    return f"with the {sent_with.threshold}% alert: {_deliveries_text(sent_with)}"


def _measured(v: AlertView) -> str:
    """What crossed the threshold: the spend, or for a forecast alert the forecast."""
    spent = f"{format_money(v.spent, v.currency)} ({format_percent(_share(v.spent, v.amount))})"
    if v.kind is ThresholdKind.FORECAST and v.forecast is not None:
        forecast = format_money(v.forecast, v.currency)
        return (
            f"forecast {forecast} ({format_percent(_share(v.forecast, v.amount))}), spent {spent}"
        )
    return spent


def _share(part: Decimal, whole: Decimal) -> Decimal:
    return part / whole * 100 if whole else Decimal(0)


def alerts_card(title: str, views: list[AlertView], of_budget: str = "") -> Card:
    """Recent alerts, newest first, with their delivery state and who acknowledged them; the
    ones not yet acknowledged can be acknowledged from their row."""
    if not views:
        return card(title, "No alerts yet.", Header(title), Text("No budget alerts yet."))
    rows = []
    acks: list[Button | None] = []
    for v in views:
        rows.append(
            (
                f"{v.created_at:%m-%d %H:%M}",
                v.budget_name,
                f"{v.threshold}% {v.kind}",
                _measured(v),
                _delivery_text(v, views),
                f"{v.acknowledged_by} {v.acknowledged_at:%m-%d %H:%M}"
                if v.acknowledged_by and v.acknowledged_at
                else "no",
            )
        )
        acks.append(_ack_button(v, of_budget))
    dead = [(v, d) for v in views for d in v.deliveries if d.status == "dead"]
    blocks: list[Block] = [
        Header(title),
        Table(
            columns=(
                Column("When (UTC)"),
                Column("Budget"),
                Column("Threshold"),
                Column("Spent / forecast", Align.RIGHT),
                Column("Delivery"),
                Column("Acked"),
            ),
            rows=tuple(rows),
            row_actions=tuple(acks),
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
    return card(title, summary + ".", *blocks, severity=severity)


def _ack_button(v: AlertView, of_budget: str) -> Button | None:
    """Acknowledge from the list (any channel, the terminal too): notified alerts not yet
    acknowledged."""
    if not v.notified or v.acknowledged_by:
        return None
    value = f"{v.budget_id}:{v.period_start.isoformat()}:{v.threshold}:{v.kind}|{of_budget}"
    label = f"Acknowledge {v.budget_name} {v.threshold}% {v.kind}"
    return Button(label, BudgetsAction.ALERT_ACK_IN_LIST, value, style="primary")
