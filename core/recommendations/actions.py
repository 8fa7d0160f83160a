"""The recommendations feature's button action ids (Slack `action_id`, Teams `verb`), and the
decision buttons every card showing a recommendation offers (its own card, digests).

Approve, Dismiss and Snooze are handled by the approvals feature (registered in the router, so a
press from any card works). Their value is "<rec id>:<version>", so a press on a stale card can
be told apart; Dismiss asks for a reason, Snooze for a duration (7–90 days) and a reason.
"""

from enum import StrEnum

from core.kernel.cards import Ask, Button, Choice


class RecsAction(StrEnum):
    #: Open one recommendation's card. Value: its id.
    SHOW = "rec.show"
    #: Decide on one recommendation. Value: "<rec id>:<version>".
    APPROVE = "rec.approve"
    DISMISS = "rec.dismiss"
    SNOOZE = "rec.snooze"


#: The durations the Snooze button offers (days); `rec <id> snooze <N>d` takes any of 7–90.
SNOOZE_DAYS = (7, 14, 30, 60, 90)
DEFAULT_SNOOZE_DAYS = 30
REASON_LABEL = "Why? (kept in the audit trail)"


def decision_value(rec_id: int, version: int) -> str:
    return f"{rec_id}:{version}"


def decision_buttons(rec_id: int, version: int) -> tuple[Button, ...]:
    """Approve / Dismiss / Snooze for the recommendation as drawn at `version`."""
    value = decision_value(rec_id, version)
    return (
        Button("Approve", RecsAction.APPROVE, value, style="primary"),
        Button(
            "Dismiss",
            RecsAction.DISMISS,
            value,
            ask=Ask(
                title=f"Dismiss #{rec_id}",
                submit="Dismiss",
                text_label=REASON_LABEL,
                text_required=True,
            ),
        ),
        Button(
            "Snooze",
            RecsAction.SNOOZE,
            value,
            ask=Ask(
                title=f"Snooze #{rec_id}",
                submit="Snooze",
                text_label=REASON_LABEL,
                text_required=True,
                choice_label="For how long",
                choices=tuple(Choice(f"{d} days", str(d)) for d in SNOOZE_DAYS),
                default_choice=str(DEFAULT_SNOOZE_DAYS),
            ),
        ),
    )
