"""The budgets feature's types: periods, threshold kinds, what a budget counts, and the budget
itself as its creator describes it and as stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from core.costs.model import CostType, ForecastProvider
from core.delivery.targets import Target, TargetKind

#: The outbox `source` of budget alert messages.
OUTBOX_SOURCE = "budget_alert"


class BudgetPeriod(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"

    @property
    def months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "yearly": 12}[self.value]


class ThresholdKind(StrEnum):
    #: Spend to date reached the percentage.
    ACTUAL = "actual"
    #: Spend forecast to the period end reaches the percentage.
    FORECAST = "forecast"


@dataclass(frozen=True, slots=True)
class BudgetScope:
    """What a budget counts: every used filter must match (AND); '' means not filtered.

    Values are stored lower-cased (matching is case-insensitive) except tag values (exact).
    """

    scope_path: str = ""
    subscription: str = ""
    resource_group: str = ""
    service: str = ""
    location: str = ""
    meter: str = ""
    tags: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        parts = [
            f"{label}:{value}"
            for label, value in (
                ("scope", self.scope_path),
                ("sub", self.subscription),
                ("rg", self.resource_group),
                ("service", self.service),
                ("location", self.location),
                ("meter", self.meter),
            )
            if value
        ]
        parts.extend(f"tag {k}={v}" for k, v in self.tags)
        return ", ".join(parts) or "all ingested costs"


@dataclass(frozen=True, slots=True)
class Threshold:
    percent: int
    kind: ThresholdKind

    def describe(self) -> str:
        return f"{self.percent}%" if self.kind is ThresholdKind.ACTUAL else f"{self.percent}% fc"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewBudget:
    """A budget as its creator describes it."""

    name: str
    amount: Decimal
    currency: str
    period: BudgetPeriod
    start_date: date
    cost_type: CostType
    scope: BudgetScope
    thresholds: tuple[Threshold, ...]
    targets: tuple[Target, ...]
    owner_principal: str
    owner_name: str

    def thresholds_of(self, kind: ThresholdKind) -> tuple[int, ...]:
        return tuple(t.percent for t in self.thresholds if t.kind is kind)


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetRecord(NewBudget):
    """A stored budget."""

    id: int


@dataclass(frozen=True, slots=True)
class BudgetsConfig:
    """The settings the budgets feature reads (the bot's Settings object builds it)."""

    #: A budget's cost type unless `budget create` names one.
    default_cost_type: CostType = CostType.ACTUAL
    #: Where forecasts come from (`CLOUDOPTIMA_FORECAST_SOURCE`); one method per deployment.
    forecast_provider: ForecastProvider = ForecastProvider.DATA
    #: Target kinds this deployment cannot deliver to, each with what to set to enable it
    #: (the bot's settings fill it in); empty: every kind can be delivered.
    unconfigured_targets: Mapping[TargetKind, str] = field(default_factory=dict)
