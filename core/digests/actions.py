"""The digests feature's button action ids (Slack `action_id`, Teams `verb`).

A digest's recommendations carry the recommendations feature's own decision buttons
(`core.recommendations.actions.RecsAction`: Approve, Dismiss, Snooze); digests only place them.
"""

from enum import StrEnum


class DigestAction(StrEnum):
    #: Resume a paused digest. Value: the subscription id.
    RESUME = "digest.resume"
