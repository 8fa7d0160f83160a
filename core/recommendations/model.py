"""The recommendations feature's types: what a recommendation is, what it saves and why, and the
feature's settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from core.kernel.cards import Button

#: Hours in a month, as Azure prices them (8,760 h a year / 12).
HOURS_PER_MONTH = Decimal(730)


class Category(StrEnum):
    COMPUTE = "compute"
    STORAGE = "storage"
    NETWORK = "network"
    WEB = "web"
    COMMITMENTS = "commitments"
    OTHER = "other"


class Action(StrEnum):
    """What a person would do. Same resource and same action: one recommendation."""

    DEALLOCATE = "deallocate"
    RIGHTSIZE = "rightsize"
    DELETE = "delete"
    BUY_RESERVATION = "buy-reservation"
    BUY_SAVINGS_PLAN = "buy-savings-plan"
    REVIEW_RESERVATION = "review-reservation"
    REVIEW = "review"


class Source(StrEnum):
    """Where a recommendation comes from (both are shown when merged)."""

    CLOUDOPTIMA = "cloudoptima"
    ADVISOR = "advisor"


class Status(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Resolution(StrEnum):
    #: A refresh no longer found a reason for it (the VM got busy, the disk was deleted …).
    BY_ITSELF = "resolved by itself"
    #: It now matches an exclusion (tag or resource group).
    EXCLUDED = "excluded by configuration"


@dataclass(frozen=True, slots=True)
class Saving:
    """A monthly saving, in one currency, and the arithmetic that produced it."""

    amount: Decimal
    currency: str
    #: Shown on the card, e.g. "€140.16/mo effective × (1 − 0.096 ÷ 0.192) = €70.08/mo".
    formula: str
    #: True when a fallback (the vCPU ratio) stood in for a price.
    estimate: bool = False


@dataclass(frozen=True, slots=True)
class AdvisorNote:
    """What Azure Advisor said about the same action."""

    recommendation_id: str
    problem: str
    solution: str
    link: str | None
    #: Advisor's own monthly figure, in Advisor's currency (retail rates).
    amount: Decimal | None
    currency: str | None
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why: measured facts, a daily metric series, prices compared, Advisor's text."""

    facts: tuple[tuple[str, str], ...] = ()
    #: (day, value) of the metric that decided, e.g. the daily maximum CPU %.
    series: tuple[tuple[date, Decimal], ...] = ()
    series_title: str = ""
    series_unit: str = "%"
    #: (SKU, vCPUs, memory GB, hourly price) rows compared, current first.
    prices: tuple[tuple[str, str, str, str], ...] = ()
    advisor: AdvisorNote | None = None


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One action on one resource (or one commitment to buy), with what it saves and why."""

    rule: str
    category: Category
    action: Action
    #: The ARM id, lower-cased (a commitment's: its billing scope plus what to buy).
    resource_id: str
    resource_name: str
    title: str
    saving: Saving | None
    evidence: Evidence
    sources: tuple[Source, ...] = (Source.CLOUDOPTIMA,)
    subscription_id: str = ""
    resource_group: str = ""
    location: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    #: 0–5 (rightsizing), in the manner of Azure Optimization Engine; None where it means nothing.
    fit_score: Decimal | None = None

    @property
    def key(self) -> str:
        """Stable across refreshes: the rule and the resource."""
        return f"{self.rule}|{self.resource_id}"


@dataclass(frozen=True, slots=True)
class StoredRecommendation:
    """A recommendation as stored, with its lifecycle."""

    id: int
    recommendation: Recommendation
    status: Status
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    resolution: str | None


@dataclass(frozen=True, slots=True)
class DecisionView:
    """What a card shows of a recommendation's decision (the approvals feature supplies it)."""

    state: str
    #: What a decision button carries (`"<rec id>:<version>"`): a stale card is told apart.
    version: int
    #: "Approved by Ann on 2026-11-27 09:30 UTC: …"; "" while open and nobody asked.
    summary: str
    #: Dismissed and snoozed items leave `recs` until they re-open.
    hidden: bool
    #: The buttons the card offers in this state (Approve / Dismiss / Snooze, Re-open).
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class RecommendationsConfig:
    """The settings the recommendations feature reads (the bot's Settings object builds it)."""

    #: Reservation and savings plan term (`P1Y` or `P3Y`).
    term: str = "P1Y"
    #: Days of history: Advisor/benefit look-back and the metrics window (14–30 days).
    look_back_days: int = 30
    #: Reservations used less than this (percent, over 30 days) are flagged.
    utilization_threshold: Decimal = Decimal(80)
    #: Tags that exclude a resource: a key (`cloudoptima:ignore`) or `key=value`.
    exclude_tags: tuple[str, ...] = ("cloudoptima:ignore",)
    #: Resource groups (any case) whose resources are never recommended on.
    exclude_resource_groups: tuple[str, ...] = ()
    #: Stated exchange rates (from, to) → rate, for Advisor figures in another currency.
    rates: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    #: Rows `recs` shows unless asked for `top N`.
    top_n: int = 10
