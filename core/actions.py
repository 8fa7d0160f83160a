"""Button action ids: one vocabulary for every channel (Slack `action_id`, Teams `verb`)."""

from enum import StrEnum


class ActionId(StrEnum):
    #: Re-run a costs query grouped by another dimension. Value: the command text.
    COSTS_DRILLDOWN = "costs.drilldown"
