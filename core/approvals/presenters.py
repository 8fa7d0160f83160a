"""What cards show of decisions: the decision line, the buttons a state offers, the answers to
a lost race, a stale card and a press that needs a reason, and the `savings` card."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from core.approvals.actions import ApprovalsAction
from core.approvals.model import HIDDEN, SOURCE_PORTAL, Decision, DecisionState
from core.kernel.cards import (
    Actions,
    Block,
    Button,
    Card,
    Context,
    Fact,
    Facts,
    Header,
    Severity,
    Text,
    card,
)
from core.kernel.money import format_money, round_to_currency
from core.recommendations.actions import decision_buttons, decision_value
from core.recommendations.model import DecisionView, Status, StoredRecommendation


def when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def money(amount: Decimal | None, currency: str | None) -> str:
    if amount is None or not currency:
        return "—"
    return format_money(round_to_currency(amount, currency), currency)


def _by(d: Decision) -> str:
    return d.decided_by_name or d.decided_by or "someone"


def summary(d: Decision) -> str:
    """The decision, who made it and when (and why)."""
    reason = f": {d.reason}" if d.reason else ""
    at = when(d.decided_at) if d.decided_at else ""
    match d.state:
        case DecisionState.OPEN:
            text = "Open"
            if d.decided_at and d.version > 1:
                text += f" — re-opened by {_by(d)} on {at}{reason}"
            if d.requested_by:
                asked = when(d.requested_at) if d.requested_at else ""
                text += (
                    f" — approval requested by {d.requested_by_name or d.requested_by} on {asked}"
                )
            return text
        case DecisionState.APPROVED:
            return f"Approved by {_by(d)} on {at}{reason}"
        case DecisionState.DISMISSED:
            if d.source == SOURCE_PORTAL:
                return f"Dismissed in the Azure portal (Advisor suppression), seen {at}"
            return f"Dismissed by {_by(d)} on {at}{reason}"
        case DecisionState.SNOOZED:
            until = f" until {d.snoozed_until:%Y-%m-%d}" if d.snoozed_until else ""
            if d.source == SOURCE_PORTAL:
                return f"Snoozed in the Azure portal (Advisor suppression){until}"
            return f"Snoozed by {_by(d)} on {at}{until}{reason}"
        case DecisionState.IMPLEMENTED:
            how = f" ({d.implemented_how})" if d.implemented_how else ""
            done = f"{d.implemented_at:%Y-%m-%d}" if d.implemented_at else "?"
            approved = f"{d.approved_at:%Y-%m-%d}" if d.approved_at else "?"
            realized = (
                f"; realized {money(d.realized_monthly, d.currency)}/mo"
                if d.realized_monthly is not None
                else ""
            )
            return f"Implemented{how} on {done}, approved by {_by(d)} on {approved}{realized}"
    return str(d.state)


def buttons(d: Decision) -> tuple[Button, ...]:
    if d.state is DecisionState.OPEN:
        return decision_buttons(d.rec_id, d.version)
    if d.state is DecisionState.IMPLEMENTED:
        return ()
    return (Button("Re-open", ApprovalsAction.REOPEN, decision_value(d.rec_id, d.version)),)


def view(d: Decision) -> DecisionView:
    return DecisionView(
        state=str(d.state),
        version=d.version,
        summary=summary(d),
        hidden=d.state in HIDDEN,
        buttons=buttons(d),
    )


def lost_card(rec_id: int, current: Decision) -> Card:
    text = (
        f"Recommendation #{rec_id} was already {current.state} by {_by(current)}"
        + (f" on {when(current.decided_at)}" if current.decided_at else "")
        + ". Your click changed nothing."
    )
    return card(
        f"#{rec_id} already decided",
        text,
        Header(f"#{rec_id} already decided"),
        Text(text),
        severity=Severity.WARNING,
    )


STALE_NOTE = (
    "This card was out of date: the recommendation changed since it was drawn, so nothing was "
    "decided. Here is the current one; press again if you still mean it."
)


def with_note(view_card: Card, note: str, severity: Severity = Severity.WARNING) -> Card:
    return card(
        view_card.title,
        f"{note} {view_card.summary}",
        view_card.blocks[0],
        Context(note),
        *view_card.blocks[1:],
        severity=severity,
        data=view_card.data,
    )


def form_card(button: Button) -> Card:
    ask = button.ask
    title = ask.title if ask else button.label
    text = "Tell me why (and for how long) to go on; nothing was decided yet."
    return card(title, text, Header(title), Text(text), Actions((button,)))


def compact_card(rec: StoredRecommendation, decision: DecisionView) -> Card:
    """A recommendation with its decision, when no detail renderer was handed in."""
    r = rec.recommendation
    saving = r.saving
    figure = money(saving.amount, saving.currency) + "/mo" if saving else "—"
    blocks: list[Block] = [
        Header(f"#{rec.id} {r.title}"),
        Facts(
            (Fact("Monthly saving", figure), Fact("Decision", decision.summary or decision.state))
        ),
    ]
    if decision.buttons and rec.status is Status.OPEN:
        blocks.append(Actions(decision.buttons))
    return card(f"Recommendation #{rec.id}", f"#{rec.id} {r.title}: {decision.summary}", *blocks)
