"""The costs feature's vocabulary as types: cost types, where forecasts come from, ingestion run
states, and the dimensions and filters a breakdown is asked for."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CostType(StrEnum):
    """Azure's cost views: invoiced charges, or purchases spread over their term."""

    ACTUAL = "ActualCost"
    AMORTIZED = "AmortizedCost"


class ForecastProvider(StrEnum):
    """Where budget forecasts come from (`CLOUDOPTIMA_FORECAST_SOURCE`)."""

    #: The documented run rate computed from the stored daily costs (`core.costs.forecasting`).
    DATA = "data"
    #: Azure Cost Management's Forecast API, for budgets over exactly one ingested scope.
    AZURE = "azure"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: A run whose process died (no heartbeat); its committed days stay, the next run resumes.
    ABANDONED = "abandoned"


class DimensionKind(StrEnum):
    SERVICE = "service"
    RESOURCE_GROUP = "resource-group"
    RESOURCE = "resource"
    LOCATION = "location"
    SUBSCRIPTION = "subscription"
    METER = "meter"
    CHARGE_TYPE = "charge-type"
    TAG = "tag"


#: How each dimension's values are counted in words ("… 12 more resources").
_PLURALS = {
    DimensionKind.SERVICE: "services",
    DimensionKind.RESOURCE_GROUP: "resource groups",
    DimensionKind.RESOURCE: "resources",
    DimensionKind.LOCATION: "locations",
    DimensionKind.SUBSCRIPTION: "subscriptions",
    DimensionKind.METER: "meters",
    DimensionKind.CHARGE_TYPE: "charge types",
}


@dataclass(frozen=True, slots=True)
class Dimension:
    kind: DimensionKind
    tag_key: str | None = None

    @property
    def label(self) -> str:
        return f"tag {self.tag_key}" if self.kind is DimensionKind.TAG else str(self.kind)

    @property
    def token(self) -> str:
        return f"tag:{self.tag_key}" if self.kind is DimensionKind.TAG else str(self.kind)

    @property
    def plural(self) -> str:
        """What its values are called when counted: `resources`, `team tag values`."""
        if self.kind is DimensionKind.TAG:
            return f"{self.tag_key} tag values"
        return _PLURALS[self.kind]

    @property
    def title(self) -> str:
        """Its column heading: `Resource group`, `Tag team`."""
        return self.label.replace("-", " ").capitalize()


class FilterKind(StrEnum):
    SUBSCRIPTION = "sub"
    RESOURCE_GROUP = "rg"
    SERVICE = "service"
    LOCATION = "location"
    METER = "meter"
    CHARGE_TYPE = "charge"
    TAG = "tag"


@dataclass(frozen=True, slots=True)
class CostFilter:
    kind: FilterKind
    value: str
    tag_key: str | None = None

    def describe(self) -> str:
        if self.kind is FilterKind.TAG:
            return f"tag {self.tag_key}={self.value}"
        return f"{self.kind}:{self.value}"


#: The charge type of up-front purchases (reservations, savings plans, Marketplace) in
#: ActualCost; AmortizedCost spreads them over their term instead.
PURCHASE = "Purchase"


@dataclass(frozen=True, slots=True)
class CostsConfig:
    """The settings the costs feature reads (the bot's Settings object builds it)."""

    default_cost_type: CostType = CostType.ACTUAL
    #: Rows a breakdown shows unless asked for `top N`.
    top_n: int = 10
    #: Where forecasts come from: the deployment's one method, the same as budgets use.
    forecast_provider: ForecastProvider = ForecastProvider.DATA
