"""The budgets feature's button action ids (Slack `action_id`, Teams `verb`)."""

from enum import StrEnum


class BudgetsAction(StrEnum):
    #: Delete a budget after its confirmation card. Value: `<budget id>:<name key>`.
    DELETE_CONFIRM = "budget.delete.confirm"
    #: Keep the budget; the confirmation card says so. Value: `<budget id>:<name key>`.
    DELETE_CANCEL = "budget.delete.cancel"
    #: Acknowledge a budget alert. Value: `<budget id>:<period start>:<threshold>:<kind>`.
    ALERT_ACK = "alert.ack"
    #: Acknowledge an alert from the `alerts` list, which is shown again. Value: the alert's
    #: key as above, then `|` and the budget the list is of ('' for every budget).
    ALERT_ACK_IN_LIST = "alert.ack.list"
