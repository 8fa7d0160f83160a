"""Cards for anomalies: the incident (expected range, actual, impact, a 60-day chart with the
band, drivers and the feedback buttons), the incident list, and the answers to buttons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from core.anomalies.actions import AnomaliesAction
from core.anomalies.detect import Direction
from core.anomalies.model import Status
from core.anomalies.store import Incident, Route
from core.costs.actions import CostsAction
from core.delivery.targets import describe_target
from core.kernel.cards import (
    Actions,
    Align,
    Block,
    Button,
    Card,
    Chart,
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
from core.kernel.money import format_money

STATUS_TEXT = {
    Status.OPEN: "open",
    Status.CLOSED: "closed (back to normal)",
    Status.EXPECTED: "closed: expected / new normal",
    Status.TOO_SMALL: "closed: too small",
    Status.WITHDRAWN: "withdrawn (Azure restated the days)",
}


@dataclass(frozen=True, slots=True)
class Driver:
    """A resource and meter whose change explains part of the incident."""

    resource: str
    meter: str
    change: Decimal
    #: Percent of the incident's impact.
    share: Decimal


def signed(amount: Decimal, currency: str) -> str:
    text = format_money(abs(amount), currency)
    return f"+{text}" if amount >= 0 else f"−{text}"


def days_text(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()} – {last.isoformat()}"


def investigate_command(incident: Incident) -> str:
    """The `costs` command that opens the series for the incident's days, by resource."""
    parts = [
        "costs",
        f"{incident.first_day.isoformat()}..{incident.last_day.isoformat()}",
        "by",
        "resource",
        f"sub:{incident.subscription_id}",
    ]
    for name, value in (("rg", incident.resource_group), ("service", incident.service_name)):
        if value:
            parts.append(f'{name}:"{value}"' if " " in value else f"{name}:{value}")
    if incident.cost_type == "AmortizedCost":
        parts.append("amortized")
    return " ".join(parts)


def incident_card(
    incident: Incident, chart: Chart | None, drivers: Sequence[Driver], note: str = ""
) -> Card:
    """The incident as posted, and as each later day updates it."""
    c = incident.currency
    kind = "spike" if incident.direction is Direction.SPIKE else "drop"
    title = f"Cost {kind}: {incident.describe()}"
    days = days_text(incident.first_day, incident.last_day)
    summary = (
        f"{incident.describe()} cost {format_money(incident.actual, c)} on "
        f"{incident.last_day.isoformat()}, expected {format_money(incident.expected, c)} "
        f"({format_money(incident.low, c)} – {format_money(incident.high, c)}); impact "
        f"{signed(incident.impact, c)} over {incident.days} day(s)."
    )
    blocks: list[Block] = [
        Header(title),
        Text(summary),
        Facts(
            (
                Fact("Anomaly", f"#{incident.id}"),
                Fact("Days", f"{days} ({incident.days} day(s))"),
                Fact("Actual", format_money(incident.actual, c)),
                Fact("Expected", format_money(incident.expected, c)),
                Fact(
                    "Expected range",
                    f"{format_money(incident.low, c)} – {format_money(incident.high, c)}",
                ),
                Fact("Impact", signed(incident.impact, c)),
                Fact("Status", STATUS_TEXT[incident.status]),
            )
        ),
    ]
    if chart is not None:
        blocks.append(chart)
    if drivers:
        blocks.append(
            Table(
                (
                    Column("Resource"),
                    Column("Meter"),
                    Column("Change", Align.RIGHT),
                    Column("Share", Align.RIGHT),
                ),
                tuple(
                    (d.resource, d.meter, signed(d.change, c), f"{d.share:.0f}%") for d in drivers
                ),
            )
        )
    context = (
        f"{incident.cost_type} · expected from the same weekday of the last 4 weeks or the "
        "last 28 days, whichever fitted better · days are scored once final"
    )
    blocks.append(Context(context))
    if incident.acknowledged_at is not None:
        blocks.append(
            Context(
                f"Acknowledged by {incident.acknowledged_name} at "
                f"{incident.acknowledged_at:%Y-%m-%d %H:%M} UTC: no more updates here."
            )
        )
    if note:
        blocks.append(Context(note))
    blocks.append(Actions(buttons(incident)))
    severity = Severity.WARNING if incident.status is Status.OPEN else Severity.INFO
    return card(title, summary, *blocks, severity=severity)


def buttons(incident: Incident) -> tuple[Button, ...]:
    value = str(incident.id)
    investigate = Button("Investigate", CostsAction.DRILLDOWN, investigate_command(incident))
    if incident.status in (Status.EXPECTED, Status.TOO_SMALL):
        return (investigate,)
    out = [
        Button("Expected / new normal", AnomaliesAction.EXPECTED, value),
        Button("Too small", AnomaliesAction.TOO_SMALL, value),
    ]
    if incident.acknowledged_at is None:
        out.append(Button("Acknowledge", AnomaliesAction.ACKNOWLEDGE, value, style="primary"))
    out.append(investigate)
    return tuple(out)


def feedback_note(what: str, name: str, at: datetime, first: bool) -> str:
    if first:
        return f"{what} by {name} at {at:%Y-%m-%d %H:%M} UTC."
    return f"Already {what.lower()} by {name} at {at:%Y-%m-%d %H:%M} UTC."


def incidents_card(title: str, incidents: Sequence[Incident], period: str) -> Card:
    if not incidents:
        text = f"No cost anomalies {period}."
        return card(title, text, Header(title), Text(text))
    rows = tuple(
        (
            f"#{i.id}",
            days_text(i.first_day, i.last_day),
            i.describe(),
            "spike" if i.direction is Direction.SPIKE else "drop",
            signed(i.impact, i.currency),
            STATUS_TEXT[i.status].split(" ")[0].rstrip(":"),
        )
        for i in incidents
    )
    summary = f"{len(incidents)} cost anomal{'y' if len(incidents) == 1 else 'ies'} {period}."
    return card(
        title,
        summary,
        Header(title),
        Text(summary),
        Table(
            (
                Column("#"),
                Column("Days"),
                Column("Where"),
                Column("Kind"),
                Column("Impact", Align.RIGHT),
                Column("Status"),
            ),
            rows,
        ),
        Context("`anomaly <id>` shows one, with its chart, drivers and buttons."),
    )


def routes_card(routes: Sequence[Route], changed: str) -> Card:
    title = "Anomaly notifications"
    lines = tuple(
        (
            describe_target(r.target),
            r.describe_filters(),
            "any" if r.min_impact is None else f"≥ {r.min_impact:,.2f}",
        )
        for r in routes
    )
    blocks: list[Block] = [Header(title), Text(changed)]
    if lines:
        blocks.append(
            Table((Column("Where"), Column("Series"), Column("Impact", Align.RIGHT)), lines)
        )
    return card(title, changed, *blocks, severity=Severity.SUCCESS)
