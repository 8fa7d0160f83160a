"""Cards for budgets: the alert (with its Acknowledge button), `budget show`, the burn chart."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from babel.numbers import get_currency_precision

from core.actions import ActionId
from core.budgets.parsing import describe_target
from core.models import CostType, ForecastProvider, ThresholdKind
from core.money import format_money, format_percent, from_storage_units
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
    Severity,
    Table,
    Text,
    card,
)

if TYPE_CHECKING:
    from core.budgets.evaluate import Assessment

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
    """Cumulative spend from the window start to today: a point per month while the spend is
    kept per month, then per day (sampled down to `MAX_CHART_POINTS`)."""
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
    budget = money(a.budget.amount, a.budget.currency)
    return Chart(
        title=f"Cumulative {cost_type_label(a.budget.cost_type)} spend vs budget {budget}",
        points=tuple(points),
        unit=a.budget.currency,
    )


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
                f"Forecast to {a.window.end:%b %d}",
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
        Actions((Button("Acknowledge", ActionId.ALERT_ACK, ack_value, style="primary"),)),
    ]
    return card(title, summary + ".", *blocks, severity=severity)


def acknowledged_card(sent: Card, who: str, when: datetime) -> Card:
    """The sent card with its buttons replaced by who acknowledged it and when."""
    blocks = tuple(b for b in sent.blocks if not isinstance(b, Actions))
    note = Context(f"Acknowledged by {who} on {when:%Y-%m-%d %H:%M} UTC")
    return Card(
        title=sent.title,
        summary=sent.summary,
        blocks=(*blocks, note),
        severity=Severity.INFO if sent.severity is not Severity.ERROR else sent.severity,
    )


def threshold_states(a: Assessment, alerted: dict[tuple[int, str], date]) -> list[tuple[str, str]]:
    """(threshold, state) rows for `budget show`: when it fired, or how far away it is."""
    rows: list[tuple[str, str]] = []
    for t in a.budget.thresholds:
        when = alerted.get((t.percent, str(t.kind)))
        name = f"{t.percent}% {t.kind}"
        if when is not None:
            rows.append((name, f"alerted {when:%Y-%m-%d}"))
        else:
            rows.append((name, "not reached"))
    return rows


def show_card(a: Assessment, alerted: dict[tuple[int, str], date], today: date) -> Card:
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
    facts.append(
        Fact("Notifies", ", ".join(describe_target(t) for t in b.targets) or "nobody (no targets)")
    )
    facts.append(Fact("Owner", b.owner_name or b.owner_principal))
    states = threshold_states(a, alerted)
    severity = Severity.INFO
    if a.percent_spent >= 100:
        severity = Severity.ERROR
    elif any(state.startswith("alerted") for _, state in states):
        severity = Severity.WARNING
    blocks: list[Block] = [
        Header(title),
        Facts(tuple(facts)),
        Table(columns=(Column("Threshold"), Column("State")), rows=tuple(states)),
        burn_chart(a),
        Context(
            f"Data through {a.last_complete:%Y-%m-%d} · forecast: {a.forecast.method} · "
            f"as of {today:%Y-%m-%d}"
        ),
    ]
    return card(title, summary, *blocks, severity=severity)
