"""The digests feature's types: a schedule in a channel's time zone, a subscription, the
feature's settings and the port through which realized savings reach a digest."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Engine

from core.costs.model import CostFilter, CostType, ForecastProvider
from core.delivery.targets import Target

#: The outbox `source` of digest messages.
DIGEST_SOURCE = "digest"


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a digest runs, in local time: every day (or Monday to Friday), or one weekday."""

    frequency: Frequency
    at: time
    #: IANA time zone name (`Europe/Berlin`), validated when parsed.
    timezone: str
    #: Monday = 0 … Sunday = 6; weekly digests only.
    weekday: int | None = None
    #: Daily digests only: skip Saturdays and Sundays.
    weekdays_only: bool = False

    def describe(self) -> str:
        at = f"{self.at:%H:%M} {self.timezone}"
        if self.frequency is Frequency.WEEKLY:
            return f"weekly on {WEEKDAY_NAMES[self.weekday or 0]} at {at}"
        return f"daily{' on weekdays' if self.weekdays_only else ''} at {at}"


WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Subscription:
    """A stored digest subscription: where, when, over what, and its next slot."""

    id: int
    target: Target
    schedule: Schedule
    #: Scope filters as typed (`rg:rg-web`, `sub:…`), re-parsed by the costs grammar.
    filters: tuple[str, ...]
    #: No digest before this local date (`digest pause until …`); None: not paused.
    paused_until: date | None
    #: The local date of the next slot (the claim key with the id) and when it is due (UTC).
    next_slot: date
    next_run_at: datetime
    #: Slots skipped (missed beyond the grace while no replica ran), told in the next digest.
    missed_note: str | None
    created_by: str
    created_at: datetime

    def describe_scope(self) -> str:
        return " ".join(self.filters) or "all ingested costs"


@dataclass(frozen=True, slots=True)
class RealizedSaving:
    """Savings realized to date in one currency (approved recommendations carried out)."""

    currency: str
    amount: Decimal
    #: How many decisions it adds up (shown beside the figure).
    count: int = 0


#: Realized savings to date within a digest's scope filters; the approvals feature provides it
#: and the composition root wires it in (None: the section is left out).
RealizedSavingsReader = Callable[[Engine, Sequence[CostFilter]], Sequence[RealizedSaving]]


@dataclass(frozen=True, slots=True)
class RecDecision:
    """Where the decision on one recommendation stands (the approvals feature's)."""

    #: What the decision buttons carry (`<rec id>:<version>`): a press on a stale card is told
    #: apart by it.
    version: int
    #: Still waiting for a decision (False: approved, dismissed or snoozed: left out).
    open: bool = True


#: The decisions on these recommendations (ids without a decision may be left out: open at
#: version 0); the approvals feature provides it, the composition root wires it in.
RecDecisionsReader = Callable[[Engine, Sequence[int]], Mapping[int, RecDecision]]


@dataclass(frozen=True, slots=True)
class DigestsConfig:
    """The settings the digests feature reads (the bot's Settings object builds it)."""

    cost_type: CostType = CostType.ACTUAL
    forecast_provider: ForecastProvider = ForecastProvider.DATA
    #: A slot missed while no replica ran is delivered late up to this long after its time.
    grace: timedelta = timedelta(hours=6)
    #: How long a replica holds a due subscription while it builds the digest.
    lease: timedelta = timedelta(seconds=120)
    #: Subscriptions one tick leases at a time, and how many it records per transaction.
    batch_size: int = 500
    commit_size: int = 50
    movers: int = 3
    resources_per_mover: int = 2
    recommendations: int = 3
    #: The default time and time zone of `digest daily` without them.
    default_at: time = time(9, 0)
    default_timezone: str = "UTC"
    realized_savings: RealizedSavingsReader | None = field(default=None, compare=False)
    #: None: every open recommendation is undecided, at version 0.
    rec_decisions: RecDecisionsReader | None = field(default=None, compare=False)
