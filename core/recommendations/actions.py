"""The recommendations feature's button action ids (Slack `action_id`, Teams `verb`).

Approve, Dismiss and Snooze (with their audit trail) come with the approvals feature. Their ids
are fixed here so that every card showing a recommendation (its own card, digests) offers the same
buttons. Their value is "<rec id>:<version>", so a press on a stale card can be told apart.
"""

from enum import StrEnum


class RecsAction(StrEnum):
    #: Open one recommendation's card. Value: its id.
    SHOW = "rec.show"
    #: Decide on one recommendation. Value: "<rec id>:<version>".
    APPROVE = "rec.approve"
    DISMISS = "rec.dismiss"
    SNOOZE = "rec.snooze"
