"""The approvals feature's own button action ids. The decision buttons themselves
(Approve / Dismiss / Snooze) are the recommendations feature's (`core.recommendations.actions`),
so every card that shows a recommendation offers the same ones."""

from enum import StrEnum


class ApprovalsAction(StrEnum):
    #: Re-open a dismissed, snoozed or approved item. Value: "<rec id>:<version>".
    REOPEN = "rec.reopen"
