"""Deciding on recommendations: approve, dismiss, snooze from Slack, Teams and the terminal,
scoped roles, an optional two-person rule, and the savings that approved items realized."""
