"""The recommendations feature's button action ids (Slack `action_id`, Teams `verb`).

Approve, Dismiss and Snooze (with their audit trail) come with the approvals feature; their
place on the card is marked by a context line until then.
"""

from enum import StrEnum


class RecsAction(StrEnum):
    #: Open one recommendation's card. Value: its id.
    SHOW = "rec.show"
