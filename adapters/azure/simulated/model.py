"""The simulated tenant's data, as the endpoints read it: subscriptions, billed lines, rows.

Endpoints (`cost_query`, `forecast`) depend on this module and on `TenantView` only; the tenant
(`tenant.SimulatedTenant`) builds the endpoints. So nothing here imports the tenant.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from core.costs.model import CostType
from core.costs.ports import CostRow

CURRENCY = "EUR"


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    name: str

    @property
    def scope(self) -> str:
        return f"/subscriptions/{self.id}"


@dataclass(frozen=True, slots=True)
class Line:
    """One billed line: a resource's meter (or a purchase), the unit of a daily cost row.

    Dimension values are spelled as Cost Management returns them (ids lower-cased).
    """

    index: int
    subscription: Subscription
    resource_group: str
    resource_id: str
    resource_type: str
    service_name: str
    meter_category: str
    location: str
    charge_type: str
    tags: Mapping[str, str]
    unit_price: float


@dataclass(frozen=True, slots=True)
class Spike:
    """The injected anomaly: `resource_id` cost `factor` times its usual on `day`."""

    resource_id: str
    resource_group: str
    subscription_id: str
    day: date
    factor: float


@dataclass(frozen=True, slots=True)
class SimRow:
    """One ground-truth row: a line's cost on a day, in the tenant's current generation."""

    day: date
    line: Line
    cost: Decimal
    cost_usd: Decimal
    quantity: Decimal

    def to_cost_row(self) -> CostRow:
        line = self.line
        return CostRow(
            usage_date=self.day,
            subscription_id=line.subscription.id,
            subscription_name=line.subscription.name,
            resource_group=line.resource_group,
            resource_id=line.resource_id,
            service_name=line.service_name,
            meter_category=line.meter_category,
            location=line.location,
            charge_type=line.charge_type,
            currency=CURRENCY,
            cost=self.cost,
            cost_usd=self.cost_usd,
            quantity=self.quantity,
            tags=dict(line.tags),
        )


class TenantView(Protocol):
    """What the simulated endpoints read of a tenant."""

    today: date
    #: Bumped by every restatement (answers are cached per generation).
    generation: int
    #: Scopes (lower-cased paths) whose queries are refused with 403.
    denied_scopes: set[str]

    @property
    def subscriptions(self) -> tuple[Subscription, ...]: ...

    @property
    def lines(self) -> tuple[Line, ...]: ...

    @property
    def growth_rate(self) -> float: ...

    def rows(
        self,
        cost_type: CostType | str = CostType.ACTUAL,
        start: date | None = None,
        end: date | None = None,
        *,
        subscription_id: str | None = None,
    ) -> Iterator[SimRow]: ...

    def daily_totals(
        self,
        cost_type: CostType | str = CostType.ACTUAL,
        *,
        subscription_id: str,
        resource_group: str | None = None,
    ) -> dict[date, Decimal]: ...


# -- the estate the recommendation endpoints read -------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimVm:
    """A VM as Azure Resource Graph shows it, with the utilization pattern its metrics follow.

    Patterns: `idle`, `borderline` (just above the idle line), `busy`, `oversized` (low but not
    idle: a rightsizing candidate), `no-memory` (oversized, without the memory metric),
    `missing` (no metrics at all); stopped and deallocated VMs report nothing.
    """

    id: str  # ARM casing: /subscriptions/…/resourceGroups/…/providers/Microsoft.Compute/…
    name: str
    subscription_id: str
    resource_group: str
    location: str
    size: str
    power_state: str
    os_type: str
    tags: Mapping[str, str]
    pattern: str
    data_disks: int
    nics: int


@dataclass(frozen=True, slots=True)
class SimDisk:
    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    sku: str
    size_gb: int
    managed_by: str | None  # the owner VM's id
    tags: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SimPublicIp:
    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    sku: str
    ip_configuration: str | None
    tags: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SimPlan:
    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    sku: str
    sites: int
    tags: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SimReservation:
    order_id: str
    reservation_id: str
    sku: str
    location: str
    quantity: int
    term: str
    utilization: Mapping[int, float]  # grain days → percent
    trend: str


class EstateView(Protocol):
    """What the recommendation endpoints (Resource Graph, metrics, Advisor, benefits,
    reservations, SKUs, prices) read of a tenant's estate."""

    today: date

    @property
    def vms(self) -> tuple[SimVm, ...]: ...

    @property
    def disks(self) -> tuple[SimDisk, ...]: ...

    @property
    def public_ips(self) -> tuple[SimPublicIp, ...]: ...

    @property
    def plans(self) -> tuple[SimPlan, ...]: ...

    @property
    def reservations(self) -> tuple[SimReservation, ...]: ...

    @property
    def catalog_document(self) -> Mapping[str, object]: ...

    def advisor_items(self, subscription_id: str) -> list[dict[str, object]]: ...

    def savings_plan(self, scope: str, term: str, look_back: str) -> dict[str, object] | None: ...
