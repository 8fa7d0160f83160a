"""A deterministic fictional Azure tenant: subscriptions, resources and their daily costs.

Same seed and "today" in, same tenant out. The story it tells (for the demo and the tests):
four subscriptions (Production, Staging, Data Platform, Sandbox), ~14 resource groups, ~250
resources across services and regions, and `days` of daily costs up to today (today partial):
weekday seasonality (non-production compute is shut down at weekends, batch jobs run on
weekdays), gentle growth with AKS growing faster, one runaway Databricks job (`tenant.spike`),
a one-year reservation bought in Production (a purchase in ActualCost, spread in AmortizedCost),
tags env / team / CostCenter on most resources. Billing currency EUR, with CostUSD. Each
service bills on its own meter category, as Azure's do (Virtual Machines on "Dsv5 Series",
Storage on "Premium SSD Managed Disks" or "General Block Blob v2", egress on "Standard Data
Transfer Out" …), so `by meter` is not `by service` again. Names are strings only: no random
draw depends on them, so the tenant's draws keep their one fixed order.

`restate()` moves the tenant to its next data generation: the last `RESTATED_DAYS` days get
slightly different values for some rows and one row vanishes, as Azure restates recent days.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from adapters.azure.simulated import advisor as advisor_api
from adapters.azure.simulated import benefits as benefits_api
from adapters.azure.simulated import metrics as metrics_api
from adapters.azure.simulated import prices as prices_api
from adapters.azure.simulated import reservations as reservations_api
from adapters.azure.simulated import resource_graph as resource_graph_api
from adapters.azure.simulated import skus as skus_api
from adapters.azure.simulated.cost_query import ROUTE_NAME as COST_QUERY_ROUTE
from adapters.azure.simulated.cost_query import CostQueryEndpoint, throttled
from adapters.azure.simulated.estate import Estate, reservation_of
from adapters.azure.simulated.forecast import ROUTE_NAME as FORECAST_ROUTE
from adapters.azure.simulated.forecast import ForecastEndpoint
from adapters.azure.simulated.model import Line, SimRow, Spike, Subscription
from adapters.azure.simulated.storage import GET_ROUTE as STORAGE_GET_ROUTE
from adapters.azure.simulated.storage import StorageAccounts, export_run
from adapters.azure.simulated.transport import (
    Fault,
    Router,
    SimulatedTransport,
    StaticTokenCredential,
    arm_error,
)
from core.costs.model import CostType
from core.costs.ports import CostRow

RESTATED_DAYS = 3
TODAY_PARTIAL = 0.45  # share of a full day's cost already reported for "today"
_EMPTY_TAGS: Mapping[str, str] = MappingProxyType({})


# -- the catalog: services and the tenant's layout ------------------------------------------


@dataclass(frozen=True, slots=True)
class _Kind:
    service: str
    meter: str  # the meter category it bills on (Azure's MeterCategory, as reported)
    provider: str  # ARM type; "{name}" in it is replaced (nested types such as SQL databases)
    prefix: str
    cost: tuple[float, float]  # EUR per full weekday
    profile: str  # weekday profile, see _WEEKEND
    unit_price: float  # EUR per unit of quantity (0: hours, cost / 24)
    bandwidth: bool = False  # also bills egress under its resource id


_KINDS: dict[str, _Kind] = {
    "vm": _Kind(
        "Virtual Machines",
        "Dsv5 Series",
        "Microsoft.Compute/virtualMachines",
        "vm",
        (6, 40),
        "compute",
        0,
        bandwidth=True,
    ),
    "vmss": _Kind(
        "Virtual Machines",
        "Dasv5 Series",
        "Microsoft.Compute/virtualMachineScaleSets",
        "vmss",
        (30, 90),
        "prod",
        0,
        bandwidth=True,
    ),
    "disk": _Kind(
        "Storage",
        "Premium SSD Managed Disks",
        "Microsoft.Compute/disks",
        "disk",
        (0.3, 5),
        "steady",
        0.0045,
    ),
    "storage": _Kind(
        "Storage",
        "General Block Blob v2",
        "Microsoft.Storage/storageAccounts",
        "st",
        (0.5, 30),
        "steady",
        0.0006,
    ),
    "sql": _Kind(
        "SQL Database",
        "vCore General Purpose",
        "Microsoft.Sql/servers/sql-{rg}/databases",
        "sqldb",
        (4, 45),
        "steady",
        0,
    ),
    "appservice": _Kind(
        "Azure App Service",
        "Premium v3 Plan",
        "Microsoft.Web/serverFarms",
        "plan",
        (3, 25),
        "steady",
        0,
    ),
    "aks": _Kind(
        "Azure Kubernetes Service",
        "Standard Uptime SLA",
        "Microsoft.ContainerService/managedClusters",
        "aks",
        (2.3, 2.5),
        "steady",
        0,
    ),
    "cosmos": _Kind(
        "Azure Cosmos DB",
        "Provisioned Throughput",
        "Microsoft.DocumentDB/databaseAccounts",
        "cosmos",
        (8, 60),
        "steady",
        0.0089,
    ),
    "log": _Kind(
        "Log Analytics",
        "Analytics Logs Data Ingestion",
        "Microsoft.OperationalInsights/workspaces",
        "log",
        (3, 25),
        "traffic",
        2.3,
    ),
    "kv": _Kind(
        "Key Vault",
        "Standard Operations",
        "Microsoft.KeyVault/vaults",
        "kv",
        (0.03, 0.5),
        "steady",
        0.0003,
    ),
    "pip": _Kind(
        "Virtual Network",
        "Standard IPv4 Static Public IP",
        "Microsoft.Network/publicIPAddresses",
        "pip",
        (0.08, 0.12),
        "steady",
        0,
    ),
    "lb": _Kind(
        "Load Balancer",
        "Standard Load Balancer Rules",
        "Microsoft.Network/loadBalancers",
        "lb",
        (0.5, 1),
        "steady",
        0,
    ),
    "appgw": _Kind(
        "Application Gateway",
        "Standard v2 Capacity Units",
        "Microsoft.Network/applicationGateways",
        "agw",
        (6, 12),
        "traffic",
        0,
    ),
    "adf": _Kind(
        "Azure Data Factory v2",
        "Cloud Orchestration Activity Runs",
        "Microsoft.DataFactory/factories",
        "adf",
        (4, 30),
        "batch",
        0.9,
    ),
    "dbw": _Kind(
        "Azure Databricks",
        "Premium All-Purpose Compute DBU",
        "Microsoft.Databricks/workspaces",
        "dbw",
        (25, 110),
        "batch",
        0.55,
    ),
    "redis": _Kind(
        "Redis Cache",
        "Premium Cache Instances",
        "Microsoft.Cache/Redis",
        "redis",
        (1.5, 9),
        "steady",
        0,
    ),
    "acr": _Kind(
        "Container Registry",
        "Premium Registry Units",
        "Microsoft.ContainerRegistry/registries",
        "acr",
        (0.15, 1.6),
        "steady",
        0,
    ),
    "func": _Kind(
        "Functions",
        "Premium Execution Time",
        "Microsoft.Web/sites",
        "func",
        (0.1, 3),
        "traffic",
        0.00016,
    ),
}

#: Cost share on Saturday/Sunday per weekday profile (by environment for plain compute).
_WEEKEND = {"steady": 0.98, "prod": 0.8, "traffic": 0.7, "batch": 0.2}
_COMPUTE_WEEKEND = {"prod": 0.85, "staging": 0.3, "dev": 0.0}
#: Egress: its own service, billed on a data-transfer meter.
_BANDWIDTH = ("Bandwidth", "Standard Data Transfer Out", 0.075)


@dataclass(frozen=True, slots=True)
class _Group:
    subscription: str
    name: str
    location: str
    env: str
    team: str
    cost_center: str
    kinds: tuple[tuple[str, int], ...]
    tagged: float = 0.92  # share of resources carrying tags


_LAYOUT: tuple[_Group, ...] = (
    _Group(
        "Production",
        "rg-prod-web",
        "westeurope",
        "prod",
        "web",
        "CC-1100",
        (
            ("vm", 10),
            ("disk", 10),
            ("appservice", 4),
            ("appgw", 1),
            ("pip", 3),
            ("func", 4),
            ("storage", 3),
        ),
    ),
    _Group(
        "Production",
        "rg-prod-api",
        "westeurope",
        "prod",
        "api",
        "CC-1200",
        (
            ("vm", 14),
            ("disk", 14),
            ("redis", 2),
            ("lb", 2),
            ("pip", 2),
            ("storage", 2),
            ("kv", 2),
            ("func", 3),
        ),
    ),
    _Group(
        "Production",
        "rg-prod-data",
        "westeurope",
        "prod",
        "data",
        "CC-1300",
        (("sql", 8), ("cosmos", 2), ("storage", 4), ("kv", 1)),
    ),
    _Group(
        "Production",
        "rg-prod-aks",
        "westeurope",
        "prod",
        "platform",
        "CC-1400",
        (("aks", 1), ("acr", 1), ("kv", 1), ("log", 1)),
    ),
    _Group(
        "Production",
        "mc_rg-prod-aks_aks-prod_westeurope",
        "westeurope",
        "prod",
        "platform",
        "CC-1400",
        (("vmss", 3), ("disk", 12), ("lb", 1), ("pip", 2)),
        tagged=0.3,
    ),
    _Group(
        "Production",
        "rg-shared-monitoring",
        "westeurope",
        "prod",
        "platform",
        "CC-1400",
        (("log", 3), ("storage", 2)),
    ),
    _Group(
        "Production",
        "rg-prod-dr",
        "northeurope",
        "prod",
        "api",
        "CC-1200",
        (("vm", 6), ("disk", 6), ("storage", 2), ("sql", 2)),
    ),
    _Group(
        "Staging",
        "rg-stg-web",
        "westeurope",
        "staging",
        "web",
        "CC-1100",
        (("vm", 6), ("disk", 6), ("appservice", 2), ("storage", 2), ("kv", 1)),
    ),
    _Group(
        "Staging",
        "rg-stg-api",
        "westeurope",
        "staging",
        "api",
        "CC-1200",
        (("vm", 8), ("disk", 8), ("sql", 3), ("redis", 1)),
    ),
    _Group(
        "Data Platform",
        "rg-data-lake",
        "swedencentral",
        "prod",
        "data",
        "CC-1300",
        (("storage", 8), ("adf", 2), ("kv", 1)),
    ),
    _Group(
        "Data Platform",
        "rg-data-analytics",
        "swedencentral",
        "prod",
        "data",
        "CC-1300",
        (("dbw", 2), ("sql", 3), ("cosmos", 2), ("vm", 4), ("disk", 4)),
    ),
    _Group(
        "Data Platform",
        "rg-data-ingest",
        "swedencentral",
        "prod",
        "data",
        "CC-1300",
        (("func", 6), ("adf", 2), ("storage", 3), ("log", 1)),
    ),
    _Group(
        "Sandbox",
        "rg-sandbox-ml",
        "eastus",
        "dev",
        "ml",
        "CC-1500",
        (("vm", 8), ("disk", 8), ("storage", 3)),
        tagged=0.6,
    ),
    _Group(
        "Sandbox",
        "rg-sandbox-dev",
        "eastus",
        "dev",
        "platform",
        "CC-1400",
        (("vm", 10), ("disk", 10), ("appservice", 2), ("sql", 2), ("storage", 4)),
        tagged=0.5,
    ),
)
_SUBSCRIPTIONS = ("Production", "Staging", "Data Platform", "Sandbox")

#: Daily growth rates: the whole tenant grows gently, some services faster.
_GROWTH = 0.001
_FAST_GROWTH = {"vmss": 0.004, "cosmos": 0.003}
SPIKE_RESOURCE = "dbw-data-analytics-01"
SPIKE_DAYS_AGO = 9
SPIKE_FACTOR = 10.0
RESERVATION_DAYS_AGO = 75
RESERVED_VMS = 3


@dataclass
class _Series:
    """The base (generation 0) cost of one line on every day; None: the line does not bill."""

    line: Line
    costs: list[float | None]
    #: AmortizedCost differs from ActualCost for reserved VMs and the purchase.
    amortized: list[float | None] | None = None


@dataclass(frozen=True)
class EndpointFaults:
    """One simulated endpoint's next answers, for tests: throttled, failed or corrupted."""

    router: Router
    route: str

    @property
    def calls(self) -> int:
        """Calls answered so far (retries included)."""
        return self.router.calls(self.route)

    def throttle(
        self, times: int = 1, *, after: int = 0, headers: Mapping[str, str] | None = None
    ) -> None:
        """Answer the next `times` calls (from `after` calls on) with Cost Management's 429.

        By default only its own `*-retry-after` headers are sent (longest: 58 s), no `Retry-After`.
        """
        fault = Fault(response=throttled(headers))
        self.router.inject(self.route, fault, times=times, after=after)

    def fail(
        self,
        status: int,
        code: str = "InternalServerError",
        message: str = "An internal error occurred.",
        *,
        times: int = 1,
        after: int = 0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next `times` calls with an ARM error (with `headers`, e.g. a 429's)."""
        fault = Fault(response=arm_error(status, code, message, headers))
        self.router.inject(self.route, fault, times=times, after=after)

    def corrupt(self, corrupt: Callable[[Any], None], *, after: int = 0) -> None:
        """Let `corrupt` edit the body of one answer, `after` calls from now."""
        self.router.inject(self.route, Fault(corrupt=corrupt), after=after)


@dataclass(kw_only=True, eq=False)
class SimulatedTenant:
    """The fictional tenant. Build it with a seed and the day that counts as today."""

    today: date
    seed: int = 42
    days: int = 120
    #: Rows per Query API page (Azure: up to 5,000; 1,000 on older api-versions).
    page_size: int = 1000
    generation: int = 0
    #: Subscription name → the first day Azure has costs for it (a subscription created
    #: recently): no costs before it, and no forecast until it has 28 days of history.
    onboarded: Mapping[str, date] = field(default_factory=dict)
    #: The estate the recommendation APIs answer from (default: derived from the billed lines).
    estate: Estate | None = None

    def __post_init__(self) -> None:
        if self.days < RESERVATION_DAYS_AGO + 5:
            raise ValueError(f"a simulated tenant needs at least {RESERVATION_DAYS_AGO + 5} days")
        self.first_day = self.today - timedelta(days=self.days - 1)
        rng = random.Random(self.seed)
        self.subscriptions: tuple[Subscription, ...] = tuple(
            Subscription(str(uuid.UUID(int=rng.getrandbits(128), version=4)), name)
            for name in _SUBSCRIPTIONS
        )
        self._subscription_by_name = {s.name: s for s in self.subscriptions}
        self._series: list[_Series] = []
        self.spike: Spike
        self._generate(rng)
        self._restated_from = self.days - RESTATED_DAYS
        self._day_cache: dict[tuple[int, bool, int], list[SimRow]] = {}
        self._cost_row_cache: dict[tuple[int, bool, int], list[CostRow]] = {}
        self.denied_scopes: set[str] = set()
        #: The simulated endpoints. New ones (Advisor, metrics, prices …) register here too.
        self.router = Router()
        self.cost_query = CostQueryEndpoint(self, page_size=self.page_size)
        self.cost_query.register(self.router)
        self.forecast = ForecastEndpoint(self)
        self.forecast.register(self.router)
        #: Fault injection and call counts per endpoint (tests).
        self.queries = EndpointFaults(self.router, COST_QUERY_ROUTE)
        self.forecasts = EndpointFaults(self.router, FORECAST_ROUTE)
        self._add_estate()
        #: A storage account with Cost Management export runs (`publish_export`).
        self.storage = StorageAccounts()
        self.storage.register(self.router)
        self.blob_reads = EndpointFaults(self.router, STORAGE_GET_ROUTE)
        self._totals_cache: dict[tuple[Any, ...], dict[date, Decimal]] = {}

    def _add_estate(self) -> None:
        """The recommendation APIs: Resource Graph, metrics, Advisor, benefits, reservations,
        Resource SKUs and Retail Prices, with fault injection per endpoint."""
        if self.estate is None:
            last_billed: dict[str, date | None] = {}
            for series in self._series:
                billed = [t for t, cost in enumerate(series.costs) if cost]
                day = self.first_day + timedelta(days=billed[-1]) if billed else None
                known = last_billed.get(series.line.resource_id)
                if known is None or (day is not None and day > known):
                    last_billed[series.line.resource_id] = day
            self.estate = Estate.from_lines(self.lines, self.today, self.seed, last_billed)
            production = self.subscription("Production").id
            self.estate.reservations = (
                reservation_of(f"{self.seed}/reservation", "westeurope", RESERVED_VMS),
            )
            self.estate.savings_plan_subscriptions = (production,)
        estate = self.estate
        self.resource_graph = resource_graph_api.ResourceGraphEndpoint(estate)
        self.metrics = metrics_api.MetricsEndpoint(estate)
        self.advisor_suppressions = advisor_api.SuppressionsEndpoint(
            estate, lambda: datetime.combine(self.today, time(9, 30), tzinfo=UTC)
        )
        endpoints: list[Any] = [
            self.advisor_suppressions,
            self.resource_graph,
            self.metrics,
            advisor_api.AdvisorEndpoint(estate),
            benefits_api.BenefitsEndpoint(estate),
            reservations_api.ReservationsEndpoint(estate),
            skus_api.SkusEndpoint(estate),
            prices_api.PricesEndpoint(estate),
        ]
        for endpoint in endpoints:
            endpoint.register(self.router)
        self.inventory_queries = EndpointFaults(self.router, resource_graph_api.ROUTE_NAME)
        self.metric_batches = EndpointFaults(self.router, metrics_api.ROUTE_NAME)
        self.advisor_lists = EndpointFaults(self.router, advisor_api.ROUTE_NAME)
        self.benefit_lists = EndpointFaults(self.router, benefits_api.ROUTE_NAME)
        self.reservation_lists = EndpointFaults(self.router, reservations_api.ROUTE_NAME)
        self.sku_lists = EndpointFaults(self.router, skus_api.ROUTE_NAME)
        self.price_pages = EndpointFaults(self.router, prices_api.ROUTE_NAME)

    # -- public facts ------------------------------------------------------------------------

    @property
    def scopes(self) -> tuple[str, ...]:
        """The subscription scopes to ingest (lower-case ARM paths)."""
        return tuple(s.scope for s in self.subscriptions)

    @property
    def lines(self) -> tuple[Line, ...]:
        return tuple(s.line for s in self._series)

    def subscription(self, name_or_id: str) -> Subscription:
        key = name_or_id.lower()
        for s in self.subscriptions:
            if key in (s.id, s.name.lower()):
                return s
        raise KeyError(name_or_id)

    @property
    def growth_rate(self) -> float:
        """The tenant's daily cost growth (some services grow faster)."""
        return _GROWTH

    def publish_export(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        run_id: str | None = None,
        submitted: datetime | None = None,
        partitions: int = 2,
    ) -> str:
        """Write a FOCUS export run of this generation's rows (month to date by default:
        the first of yesterday's month to yesterday) to the storage account; its manifest."""
        end = end or self.today - timedelta(days=1)
        start = start or end.replace(day=1)
        when = submitted or datetime.combine(self.today, time(5), tzinfo=UTC)
        return export_run(
            self,
            self.storage,
            export="daily-focus",
            run_id=run_id or f"run-{self.today:%Y%m%d}-g{self.generation}",
            start=start,
            end=end,
            submitted=when,
            partitions=partitions,
        )

    def restate(self) -> None:
        """Move to the next data generation: recent days change a little, one row vanishes."""
        self.generation += 1

    # -- serving it to the real SDK clients ---------------------------------------------------

    def transport(
        self, *, sleep: Callable[[float], Awaitable[None]] | None = None
    ) -> SimulatedTransport:
        """An azure-core async transport answering from this tenant (pass it as `transport=`).

        Retry waits are recorded in `transport.sleeps` and skipped unless `sleep` is given.
        """
        return SimulatedTransport(self.router, sleep=sleep)

    @staticmethod
    def credential() -> StaticTokenCredential:
        """The token credential the simulated endpoints accept."""
        return StaticTokenCredential()

    def deny(self, scope: str) -> None:
        """Answer 403 AuthorizationFailed to queries at `scope`."""
        self.denied_scopes.add(scope.rstrip("/").lower())

    # -- ground truth ------------------------------------------------------------------------

    def rows(
        self,
        cost_type: CostType | str = CostType.ACTUAL,
        start: date | None = None,
        end: date | None = None,
        *,
        subscription_id: str | None = None,
    ) -> Iterator[SimRow]:
        """Every cost row (current generation) from start to end, by day then line."""
        amortized = str(cost_type) == CostType.AMORTIZED
        first = max(0, (start - self.first_day).days) if start else 0
        last = min(self.days - 1, (end - self.first_day).days) if end else self.days - 1
        for t in range(first, last + 1):
            for row in self._day(t, amortized):
                if subscription_id is None or row.line.subscription.id == subscription_id:
                    yield row

    def _day(self, t: int, amortized: bool) -> list[SimRow]:
        """Day `t`'s rows in this generation, computed once (recent days again after restate)."""
        generation = self.generation if t >= self._restated_from else 0
        key = (t, amortized, generation)
        cached = self._day_cache.get(key)
        if cached is not None:
            return cached
        day = self.first_day + timedelta(days=t)
        restatement = self._restatement(t)
        fx = 1.08 + 0.012 * math.sin(t / 17)
        rows: list[SimRow] = []
        for series in self._series:
            values = series.amortized if amortized and series.amortized else series.costs
            cost = values[t]
            if cost is None:
                continue
            if restatement is not None:
                factor = restatement.get(series.line.index)
                if factor == 0.0:
                    continue  # the vanished row
                if factor is not None:
                    cost = round(cost * factor, 8)
            rows.append(_sim_row(day, series.line, cost, fx))
        self._day_cache[key] = rows
        return rows

    def daily_totals(
        self,
        cost_type: CostType | str = CostType.ACTUAL,
        *,
        subscription_id: str,
        resource_group: str | None = None,
    ) -> dict[date, Decimal]:
        """A subscription's (or resource group's) cost per day, days without rows left out."""
        key = (str(cost_type), subscription_id, resource_group, self.generation)
        found = self._totals_cache.get(key)
        if found is None:
            found = {}
            for row in self.rows(cost_type, subscription_id=subscription_id):
                if resource_group is None or row.line.resource_group == resource_group:
                    found[row.day] = found.get(row.day, Decimal(0)) + row.cost
            self._totals_cache[key] = found
        return found

    def cost_rows(
        self,
        cost_type: CostType | str = CostType.ACTUAL,
        start: date | None = None,
        end: date | None = None,
        *,
        subscription_id: str | None = None,
    ) -> Iterator[CostRow]:
        """Ground truth as `CostRow`s (tags as Azure spells them; ids lower-case)."""
        amortized = str(cost_type) == CostType.AMORTIZED
        first = max(0, (start - self.first_day).days) if start else 0
        last = min(self.days - 1, (end - self.first_day).days) if end else self.days - 1
        for t in range(first, last + 1):
            generation = self.generation if t >= self._restated_from else 0
            key = (t, amortized, generation)
            rows = self._cost_row_cache.get(key)
            if rows is None:
                rows = self._cost_row_cache[key] = [
                    r.to_cost_row() for r in self._day(t, amortized)
                ]
            for row in rows:
                if subscription_id is None or row.subscription_id == subscription_id:
                    yield row

    # -- generation --------------------------------------------------------------------------

    def _restatement(self, t: int) -> dict[int, float] | None:
        """Per-line factors for day index `t` in this generation (0.0 = row vanished)."""
        if self.generation == 0 or t < self._restated_from:
            return None
        rng = random.Random(f"{self.seed}/{self.generation}/{t}")
        factors: dict[int, float] = {}
        for series in self._series:
            if rng.random() < 0.35:
                change = rng.uniform(0.004, 0.04)
                factors[series.line.index] = 1 + (change if rng.random() < 0.7 else -change)
        if t == self.days - 2:
            factors[self._vanishing_line(t)] = 0.0
        return factors

    def _vanishing_line(self, t: int) -> int:
        """The line whose row disappears from yesterday in every restated generation."""
        for series in self._series:
            line = series.line
            cost = series.costs[t]
            if line.subscription.name == "Sandbox" and line.service_name == "Storage" and cost:
                return line.index
        raise AssertionError("the layout always has sandbox storage")

    def _generate(self, rng: random.Random) -> None:
        """Every resource's daily series (in one fixed order of random draws: same seed, same
        tenant), then the reservation, the onboarding dates and Azure's rounding."""
        weekend = [(self.first_day + timedelta(days=t)).weekday() >= 5 for t in range(self.days)]
        reserved: list[_Series] = []
        counters: dict[str, int] = {}
        for group in _LAYOUT:
            for kind_name, count in group.kinds:
                for _ in range(count):
                    series = self._generate_resource(rng, group, kind_name, counters, weekend)
                    if (
                        kind_name == "vm"
                        and group.name == "rg-prod-api"
                        and len(reserved) < RESERVED_VMS
                    ):
                        reserved.append(series)
        self._add_reservation(reserved, self.days - 1 - RESERVATION_DAYS_AGO)
        self._apply_onboarding()
        self._round_as_reported()

    def _generate_resource(
        self,
        rng: random.Random,
        group: _Group,
        kind_name: str,
        counters: dict[str, int],
        weekend: list[bool],
    ) -> _Series:
        """One resource of `kind_name` in `group`: its line, its daily costs, its egress."""
        kind = _KINDS[kind_name]
        sub = self._subscription_by_name[group.subscription]
        base_name = f"{kind.prefix}-{_short(group.name)}"
        counters[base_name] = counters.get(base_name, 0) + 1
        name = f"{base_name}-{counters[base_name]:02d}"
        provider = kind.provider.replace("{rg}", _short(group.name))
        resource_id = (
            f"/subscriptions/{sub.id}/resourcegroups/{group.name}/providers/{provider}/{name}"
        ).lower()
        tags: Mapping[str, str] = _EMPTY_TAGS
        if rng.random() < group.tagged:
            tags = MappingProxyType(
                {"env": group.env, "team": group.team, "CostCenter": group.cost_center}
            )
        base = rng.uniform(*kind.cost)
        weekend_share = (
            _COMPUTE_WEEKEND[group.env] if kind.profile == "compute" else _WEEKEND[kind.profile]
        )
        growth = _FAST_GROWTH.get(kind_name, _GROWTH)
        if kind_name == "cosmos" and group.subscription != "Data Platform":
            growth = _GROWTH
        born, gone = self._lifetime(rng, group)
        noise = [rng.uniform(0.94, 1.06) for _ in range(self.days)]
        unit = kind.unit_price or base / 24
        line = self._add_line(
            sub,
            group.name,
            resource_id,
            kind.provider,
            kind.service,
            kind.meter,
            group.location,
            "Usage",
            tags,
            unit,
        )
        costs: list[float | None] = [
            None
            if not born <= t < gone
            else base * (1 + growth) ** t * noise[t] * (weekend_share if weekend[t] else 1)
            for t in range(self.days)
        ]
        if name == SPIKE_RESOURCE:
            self._inject_spike(costs, resource_id, group.name, sub.id)
        series = _Series(line, costs)
        self._series.append(series)
        if kind.bandwidth:
            self._add_egress(rng, line, costs, weekend)
        return series

    def _lifetime(self, rng: random.Random, group: _Group) -> tuple[int, int]:
        """Days a resource exists: some sandbox resources come and go; a few are new elsewhere."""
        born, gone = 0, self.days
        roll = rng.random()
        if group.subscription == "Sandbox" and roll < 0.25:
            born = rng.randrange(0, self.days // 2)
            gone = rng.randrange(born + 14, self.days + 30)
        elif roll < 0.06:
            born = rng.randrange(self.days // 3, self.days - 10)
        return born, gone

    def _inject_spike(
        self, costs: list[float | None], resource_id: str, resource_group: str, sub_id: str
    ) -> None:
        spike_day = self.today - timedelta(days=SPIKE_DAYS_AGO)
        t_spike = (spike_day - self.first_day).days
        assert costs[t_spike] is not None
        costs[t_spike] = (costs[t_spike] or 0) * SPIKE_FACTOR
        self.spike = Spike(resource_id, resource_group, sub_id, spike_day, SPIKE_FACTOR)

    def _add_egress(
        self, rng: random.Random, line: Line, costs: list[float | None], weekend: list[bool]
    ) -> None:
        """The resource's outbound bandwidth: a small share of its cost, lower at weekends."""
        service, meter, price = _BANDWIDTH
        share = rng.uniform(0.02, 0.08)
        egress = self._add_line(
            line.subscription,
            line.resource_group,
            line.resource_id,
            line.resource_type,
            service,
            meter,
            line.location,
            "Usage",
            line.tags,
            price,
        )
        self._series.append(
            _Series(
                egress,
                [
                    None if c is None else c * share * (0.75 if weekend[t] else 1)
                    for t, c in enumerate(costs)
                ],
            )
        )

    def _apply_onboarding(self) -> None:
        """No costs before a subscription's onboarding day."""
        for series in self._series:
            onboarded = self.onboarded.get(series.line.subscription.name)
            if onboarded is None:
                continue
            before = max(0, (onboarded - self.first_day).days)
            for values in (series.costs, series.amortized):
                if values is not None:
                    values[:before] = [None] * min(before, len(values))

    def _round_as_reported(self) -> None:
        """Round everything the way Azure reports it; today is only partly reported."""
        for series in self._series:
            for values in (series.costs, series.amortized):
                if values is None:
                    continue
                for t, maybe in enumerate(values):
                    if maybe is not None:
                        partial = TODAY_PARTIAL if t == self.days - 1 else 1.0
                        values[t] = round(maybe * partial, 8)

    def _add_reservation(self, reserved: list[_Series], t0: int) -> None:
        """A one-year VM reservation bought on day `t0` for `reserved` (~38% below PAYG).

        ActualCost: a purchase row that day, covered VM usage at 0 from then on.
        AmortizedCost: no purchase; covered VMs cost the reservation's daily share.
        """
        yearly = sum(next(c for c in s.costs if c is not None) for s in reserved) * 365 * 0.62
        daily_share = yearly / 365 / len(reserved)
        for series in reserved:
            series.amortized = list(series.costs)
            for t in range(t0, self.days):
                if series.costs[t] is not None:
                    series.costs[t] = 0.0
                    series.amortized[t] = daily_share
        sub = reserved[0].line.subscription
        purchase = self._add_line(
            sub,
            "",
            "",
            "",
            "Virtual Machines",
            "Reservation-Base VM",
            "",
            "Purchase",
            _EMPTY_TAGS,
            round(yearly, 2),
        )
        costs: list[float | None] = [None] * self.days
        costs[t0] = round(yearly, 2)
        self._series.append(_Series(purchase, costs, amortized=[None] * self.days))

    def _add_line(
        self,
        sub: Subscription,
        resource_group: str,
        resource_id: str,
        resource_type: str,
        service: str,
        meter: str,
        location: str,
        charge_type: str,
        tags: Mapping[str, str],
        unit_price: float,
    ) -> Line:
        return Line(
            index=len(self._series),
            subscription=sub,
            resource_group=resource_group,
            resource_id=resource_id,
            resource_type=resource_type,
            service_name=service,
            meter_category=meter,
            location=location,
            charge_type=charge_type,
            tags=tags,
            unit_price=unit_price,
        )


def _short(group_name: str) -> str:
    """`rg-prod-web` → `prod-web`; AKS's node resource group → `aks-prod`."""
    if group_name.startswith("mc_"):
        return group_name.split("_")[2]
    return group_name.removeprefix("rg-")


def _sim_row(day: date, line: Line, cost: float, fx: float) -> SimRow:
    quantity = round(cost / line.unit_price, 6) if line.unit_price else 0.0
    return SimRow(
        day,
        line,
        Decimal(repr(cost)),
        Decimal(repr(round(cost * fx, 8))),
        Decimal(repr(quantity)),
    )
