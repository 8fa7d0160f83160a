"""The anomalies feature's types: its settings, incident states, feedback kinds, and when a day's
cost data is final."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from core.anomalies.detect import DetectorConfig
from core.costs.model import CostType

#: The outbox `source` of incident messages.
OUTBOX_SOURCE = "anomaly"
#: Days of history in an incident card's chart.
CHART_DAYS = 60


class Status(StrEnum):
    #: Its last day is the latest final day, and still anomalous.
    OPEN = "open"
    #: The series came back within its band.
    CLOSED = "closed"
    #: Someone said "Expected / new normal": closed, the series re-baselined from its start.
    EXPECTED = "expected"
    #: Someone said "Too small": closed, the series' floor raised above it.
    TOO_SMALL = "too_small"
    #: Azure restated its days and they are no longer anomalous.
    WITHDRAWN = "withdrawn"


#: States in which the incident's message is no longer updated.
SETTLED = frozenset({Status.EXPECTED, Status.TOO_SMALL, Status.WITHDRAWN})


class FeedbackKind(StrEnum):
    EXPECTED = "expected"
    TOO_SMALL = "too_small"
    ACKNOWLEDGE = "acknowledge"


@dataclass(frozen=True, slots=True)
class AnomaliesConfig:
    """The settings the anomalies feature reads (the bot's Settings object builds it)."""

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    #: Amortized by default: a reservation purchase is spread over its term, not a spike.
    cost_type: CostType = CostType.AMORTIZED
    #: A day is final this long after it ended (Azure's own detector waits 36 h) …
    finality_hours: int = 36
    #: … and this long for the days around a month end (invoicing restates them).
    month_end_finality_hours: int = 72
    #: Final days re-scored by every pass (a restated day is scored again).
    lookback_days: int = 14

    def __post_init__(self) -> None:
        if not 0 <= self.finality_hours <= self.month_end_finality_hours <= 24 * 14:
            raise ValueError("finality: 0 ≤ finality_hours ≤ month_end_finality_hours ≤ 336")
        if not 1 <= self.lookback_days <= 90:
            raise ValueError("lookback_days must be between 1 and 90")


def near_month_end(day: date) -> bool:
    """The last two days of a month and the first of the next."""
    return day.day == 1 or (day + timedelta(days=2)).month != day.month


def is_final(day: date, now: datetime, config: AnomaliesConfig) -> bool:
    """Whether `day`'s costs are final at `now` (`finality_hours` after the day ended)."""
    hours = config.month_end_finality_hours if near_month_end(day) else config.finality_hours
    ended = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
    return now >= ended + timedelta(hours=hours)


def last_final_day(now: datetime, config: AnomaliesConfig) -> date:
    """The newest day that is final at `now` (older days near a month end may wait longer, so
    the newest final day is searched back from today)."""
    day = now.astimezone(UTC).date()
    while not is_final(day, now, config):
        day -= timedelta(days=1)
    return day
