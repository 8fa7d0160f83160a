"""What the recommendations feature needs from outside, as plain data and protocols.

Adapters implement the sources (Azure Advisor, Resource Graph, Monitor metrics, Cost Management
benefit recommendations, the Reservations API, Resource SKUs and Retail Prices; the simulated
tenant; tests). Errors are `core.kernel.errors.CloudOptimaError`s; a source answers completely or
raises, so a refresh writes everything or nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from core.kernel.cards import Reply
from core.kernel.context import CommandContext
from core.recommendations.model import DecisionView

# -- inventory (Azure Resource Graph) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resource:
    """What every inventoried resource has. Ids are lower-cased (costs use that spelling)."""

    resource_id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VirtualMachine(Resource):
    size: str = ""
    #: `PowerState/running`, `PowerState/stopped`, `PowerState/deallocated` … ('' unknown).
    power_state: str = ""
    os_type: str = "Linux"
    data_disks: int | None = None
    network_interfaces: int | None = None

    @property
    def state(self) -> str:
        return self.power_state.lower().removeprefix("powerstate/")


@dataclass(frozen=True, slots=True)
class ManagedDisk(Resource):
    sku: str = ""
    size_gb: int | None = None
    #: `Attached`, `Unattached`, `Reserved`, `ActiveSAS` …
    disk_state: str = ""
    #: The owning VM's id, lower-cased ('' when none).
    managed_by: str = ""


@dataclass(frozen=True, slots=True)
class PublicIp(Resource):
    sku: str = ""
    #: The IP configuration (NIC, load balancer, gateway) it is associated with ('' none).
    ip_configuration: str = ""
    nat_gateway: str = ""


@dataclass(frozen=True, slots=True)
class AppServicePlan(Resource):
    sku: str = ""
    sites: int = 0


@dataclass(frozen=True, slots=True)
class Inventory:
    vms: tuple[VirtualMachine, ...] = ()
    disks: tuple[ManagedDisk, ...] = ()
    public_ips: tuple[PublicIp, ...] = ()
    plans: tuple[AppServicePlan, ...] = ()

    def all(self) -> tuple[Resource, ...]:
        return (*self.vms, *self.disks, *self.public_ips, *self.plans)


class InventorySource(Protocol):
    async def inventory(self, subscription_ids: Sequence[str]) -> Inventory:
        """Every VM, managed disk, public IP and App Service plan of the subscriptions."""
        ...


# -- metrics (Azure Monitor) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VmMetrics:
    """One VM's hourly platform metrics over the look-back (None: no value that hour).

    `cpu_max`: Percentage CPU, maximum per interval; `memory_available_min`: Available Memory
    Bytes, minimum per interval (empty when the metric does not exist); `network_out`: Network
    Out Total, bytes per interval.
    """

    resource_id: str
    start: datetime
    interval_hours: int
    cpu_max: tuple[float | None, ...] = ()
    memory_available_min: tuple[float | None, ...] = ()
    network_out: tuple[float | None, ...] = ()


class MetricsSource(Protocol):
    async def vm_metrics(
        self, vms: Sequence[VirtualMachine], start: datetime, end: datetime
    ) -> dict[str, VmMetrics]:
        """Metrics per VM id (lower-cased); VMs without any data may be missing."""
        ...


# -- Azure Advisor --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdvisorItem:
    """One Advisor cost recommendation, amounts parsed from Advisor's strings."""

    recommendation_id: str
    type_id: str
    resource_id: str  # lower-cased
    impacted_field: str
    impacted_value: str
    problem: str
    solution: str
    link: str | None
    #: `extendedProperties`, as Advisor sent them (all strings).
    properties: Mapping[str, str]
    #: Monthly saving (`savingsAmount`) in `currency`.
    amount: Decimal | None
    currency: str | None
    last_updated: datetime | None = None


class AdvisorSource(Protocol):
    async def cost_recommendations(self, subscription_id: str) -> list[AdvisorItem]:
        """Advisor's cost recommendations of a subscription, suppressed ones left out."""
        ...


# -- commitments (savings plans, reservations) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class SavingsPlanOffer:
    """A savings plan recommendation (Cost Management benefit recommendations).

    Amounts cover the look-back window, `total_hours` long (not a month, not a year).
    """

    scope: str  # the billing scope asked, lower-cased
    benefit_scope: str  # "Shared" | "Single"
    term: str
    look_back: str
    total_hours: int
    currency: str
    commitment_per_hour: Decimal
    savings_amount: Decimal
    cost_without_benefit: Decimal
    total_cost_with_benefit: Decimal
    savings_percentage: Decimal | None
    coverage_percentage: Decimal | None


class BenefitSource(Protocol):
    async def savings_plans(
        self, scope: str, term: str, look_back: str
    ) -> list[SavingsPlanOffer]: ...


@dataclass(frozen=True, slots=True)
class ReservationUsage:
    """One reservation with its utilization aggregates (grain in days → percent)."""

    reservation_id: str  # lower-cased
    name: str
    sku: str
    location: str
    quantity: Decimal
    term: str
    applied_scope_type: str
    utilization: Mapping[int, Decimal]
    trend: str = ""
    expiry: date | None = None


class ReservationSource(Protocol):
    async def reservations(self) -> list[ReservationUsage]: ...


# -- the SKU and price catalog --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SkuSpec:
    """A VM size's capabilities (Resource SKUs API)."""

    name: str
    family: str
    vcpus: int
    memory_gb: Decimal
    max_data_disks: int | None = None
    max_nics: int | None = None
    architecture: str = "x64"


@dataclass(frozen=True, slots=True)
class SkuPrice:
    """Hourly pay-as-you-go price of a size in a region for an OS, and its reservation term
    prices (whole-term totals, as the Retail Prices API lists them)."""

    sku: str
    region: str
    os: str  # "Linux" | "Windows"
    currency: str
    hourly: Decimal
    reservation_1y_total: Decimal | None = None
    reservation_3y_total: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Catalog:
    """SKUs and prices fetched for some regions, and when."""

    skus: tuple[SkuSpec, ...] = ()
    prices: tuple[SkuPrice, ...] = ()
    fetched_at: datetime | None = None
    source: str = ""


class PriceSource(Protocol):
    async def catalog(self, regions: Sequence[str], currency: str) -> Catalog:
        """VM SKUs and their prices in `regions`, in `currency`."""
        ...


# -- decisions (the approvals feature implements this; core.app wires it) -----------------------


class DecisionPort(Protocol):
    def views(self, ctx: CommandContext, rec_ids: Sequence[int]) -> Mapping[int, DecisionView]:
        """The decision of each recommendation (snoozes that ended re-opened first)."""
        ...

    def command(self, rec_id: int, args: tuple[str, ...], ctx: CommandContext) -> Reply:
        """`rec <id> approve|dismiss|snooze|reopen|request-approval …`."""
        ...
