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

    #: The documented run rate computed from the stored daily costs (`core.budgets.forecast`).
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
    TAG = "tag"


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


class FilterKind(StrEnum):
    SUBSCRIPTION = "sub"
    RESOURCE_GROUP = "rg"
    SERVICE = "service"
    LOCATION = "location"
    METER = "meter"
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


@dataclass(frozen=True, slots=True)
class CostsConfig:
    """The settings the costs feature reads (the bot's Settings object builds it)."""

    default_cost_type: CostType = CostType.ACTUAL
    #: Rows a breakdown shows unless asked for `top N`.
    top_n: int = 10
