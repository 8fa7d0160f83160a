"""The anomalies feature's button action ids (Slack `action_id`, Teams `verb`). Value: the
incident id. (Investigate is the costs feature's drill-down, carrying a `costs` command.)"""

from enum import StrEnum


class AnomaliesAction(StrEnum):
    EXPECTED = "anomaly.expected"
    TOO_SMALL = "anomaly.too_small"
    ACKNOWLEDGE = "anomaly.ack"
