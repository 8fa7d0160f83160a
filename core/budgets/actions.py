"""The budgets feature's button action ids (Slack `action_id`, Teams `verb`)."""

from enum import StrEnum


class BudgetsAction(StrEnum):
    #: Delete a budget after its confirmation card. Value: `<budget id>:<name key>`.
    DELETE_CONFIRM = "budget.delete.confirm"
    #: Keep the budget; the confirmation card says so. Value: `<budget id>:<name key>`.
    DELETE_CANCEL = "budget.delete.cancel"
    #: Acknowledge a budget alert. Value: `<budget id>:<period start>:<threshold>:<kind>`.
    ALERT_ACK = "alert.ack"
