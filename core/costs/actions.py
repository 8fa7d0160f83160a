"""The costs feature's button action ids (Slack `action_id`, Teams `verb`)."""

from enum import StrEnum


class CostsAction(StrEnum):
    #: Re-run a costs query grouped by another dimension. Value: the command text.
    DRILLDOWN = "costs.drilldown"
