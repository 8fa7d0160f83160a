"""Button action ids: one vocabulary for every channel (Slack `action_id`, Teams `verb`)."""

from enum import StrEnum


class ActionId(StrEnum):
    #: Re-run a costs query grouped by another dimension. Value: the command text.
    COSTS_DRILLDOWN = "costs.drilldown"
    #: Delete a budget after its confirmation card. Value: `<budget id>:<name key>`.
    BUDGET_DELETE_CONFIRM = "budget.delete.confirm"
    #: Keep the budget; the confirmation card says so. Value: `<budget id>:<name key>`.
    BUDGET_DELETE_CANCEL = "budget.delete.cancel"
    #: Acknowledge a budget alert. Value: `<budget id>:<period start>:<threshold>:<kind>`.
    ALERT_ACK = "alert.ack"
