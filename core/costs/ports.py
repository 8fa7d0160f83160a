"""What the costs feature needs from outside: where cost data and forecasts come from.

Adapters implement these (Azure Cost Management, the simulated tenant, tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol

from core.costs.model import CostType
from core.kernel.scopes import Scope


@dataclass(frozen=True, slots=True)
class CostRow:
    """One day of cost for one group of dimensions, normalized from the provider's format.

    Missing dimensions are '' (never None) so that they take part in the natural key.
    """

    usage_date: date
    subscription_id: str
    subscription_name: str
    resource_group: str
    resource_id: str
    service_name: str
    meter_category: str
    location: str
    charge_type: str
    currency: str
    cost: Decimal
    cost_usd: Decimal | None = None
    quantity: Decimal | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CostDay:
    """Every cost row of one scope, cost type and day: complete, so rows absent from it vanished."""

    usage_date: date
    rows: list[CostRow]


class CostSource(Protocol):
    """Where cost data comes from (Azure Cost Management, the simulated tenant, a test)."""

    def days(
        self, scope: Scope, cost_type: CostType, start: date, end: date
    ) -> AsyncIterator[CostDay]:
        """Yield each day from `start` to `end` (inclusive), in order, exactly once, complete.

        A day without any cost is yielded with no rows. Implementations bound their memory by a
        chunk of days, never by the whole window. Errors are `core.kernel.errors.CloudOptimaError`s.
        """
        ...


@dataclass(frozen=True, slots=True)
class ForecastFigure:
    """A provider's forecast of one scope's spend over a range of days."""

    #: Forecast spend summed over the days asked for.
    amount: Decimal
    currency: str
    #: How many days the forecast covers (every day asked for).
    days: int


class ForecastSource(Protocol):
    """Where forecasts of a scope's spend come from (Azure Cost Management, a test)."""

    async def forecast(
        self, scope: Scope, cost_type: CostType, start: date, end: date
    ) -> ForecastFigure | None:
        """The forecast spend of `scope` from `start` to `end` (inclusive; `start` after today).

        None when the provider has no forecast for it (e.g. too little history), which is not an
        error. Errors (throttled, refused, malformed answers) are `CloudOptimaError`s.
        """
        ...
