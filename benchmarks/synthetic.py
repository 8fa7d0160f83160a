"""A synthetic Azure tenant for the benchmarks: realistic cost rows, generated day by day.

Shape (documented in the benchmark's output too): 4 subscriptions, 6 resource groups each, a fixed
catalog of resources spread over 14 services and 6 regions; each resource yields one row per meter
category it bills (1-3, like a VM's compute, disk and bandwidth) every day, with 0-4 tags (env,
team, cost centre, app; ~10% untagged). Costs follow a per-meter base amount with weekday
seasonality, slow growth and noise, at Azure's 8-decimal precision, in EUR with a USD figure and a
quantity. The number of resources is chosen so that `rows_per_day × days` gives the requested row
count: 1M rows over 365 days is ~2,740 rows a day (~1,100 resources), the size of a mid-sized
enterprise subscription set grouped by resource and meter.

Everything is deterministic (seeded), so a re-run yields the same rows, and a restatement changes
exactly the rows `is_restated` picks (5%).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from core.costs.model import CostType
from core.costs.ports import CostDay, CostRow
from core.kernel.scopes import Scope, parse_scope

SUBSCRIPTIONS = (
    ("8f1c2b9e-4d3a-4e6b-9a7c-2f5d1e0b3c4a", "Production"),
    ("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "Staging"),
    ("9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", "Development"),
    ("4c3b2a19-0f8e-4d7c-9b6a-5f4e3d2c1b0a", "Shared Services"),
)
RESOURCE_GROUPS = ("web", "api", "data", "batch", "network", "monitoring")
LOCATIONS = ("westeurope", "northeurope", "swedencentral", "uksouth", "eastus", "eastus2")
#: service → (ARM provider/type, meter categories it bills, typical daily cost in EUR)
SERVICES: tuple[tuple[str, str, tuple[str, ...], float], ...] = (
    (
        "Virtual Machines",
        "microsoft.compute/virtualmachines",
        ("Virtual Machines", "Bandwidth"),
        40,
    ),
    ("Storage", "microsoft.storage/storageaccounts", ("Storage", "Bandwidth"), 6),
    (
        "Azure Kubernetes Service",
        "microsoft.containerservice/managedclusters",
        ("Virtual Machines", "Storage", "Bandwidth"),
        90,
    ),
    ("SQL Database", "microsoft.sql/servers/databases", ("SQL Database", "Storage"), 25),
    (
        "Azure Database for PostgreSQL",
        "microsoft.dbforpostgresql/flexibleservers",
        ("Azure Database for PostgreSQL", "Storage"),
        18,
    ),
    ("Azure App Service", "microsoft.web/serverfarms", ("Azure App Service",), 12),
    ("Functions", "microsoft.web/sites", ("Functions", "Storage"), 1.5),
    (
        "Azure Cosmos DB",
        "microsoft.documentdb/databaseaccounts",
        ("Azure Cosmos DB", "Bandwidth"),
        30,
    ),
    ("Log Analytics", "microsoft.operationalinsights/workspaces", ("Log Analytics",), 8),
    ("Key Vault", "microsoft.keyvault/vaults", ("Key Vault",), 0.3),
    ("Virtual Network", "microsoft.network/virtualnetworks", ("Virtual Network", "Bandwidth"), 2),
    ("Load Balancer", "microsoft.network/loadbalancers", ("Load Balancer",), 1.2),
    ("Azure Cache for Redis", "microsoft.cache/redis", ("Redis Cache",), 7),
    (
        "Container Registry",
        "microsoft.containerregistry/registries",
        ("Container Registry", "Bandwidth"),
        0.6,
    ),
)
TAG_VALUES = {
    "env": ("prod", "staging", "dev", "shared"),
    "team": ("payments", "search", "platform", "data", "mobile", "identity"),
    "costcenter": ("cc-1001", "cc-1002", "cc-2001", "cc-3005"),
    "app": ("checkout", "catalog", "ingest", "portal", "reports"),
}
SCOPE = parse_scope("/providers/Microsoft.Billing/billingAccounts/12345678")
DEFAULT_DAYS = 365
RESTATED_SHARE = 20  # one row in 20 = 5%


@dataclass(frozen=True, slots=True)
class Meter:
    """One billed (resource, meter category): a row every day."""

    subscription_id: str
    subscription_name: str
    resource_group: str
    resource_id: str
    service_name: str
    meter_category: str
    location: str
    charge_type: str
    tags: dict[str, str]
    base_units: int  # daily cost in 1e-8 EUR
    quantity_units: int


def build_catalog(rows_per_day: int, seed: int = 42) -> list[Meter]:
    """Exactly `rows_per_day` meters (resource × meter category), deterministic for a seed."""
    rng = random.Random(seed)
    meters: list[Meter] = []
    n = 0
    while len(meters) < rows_per_day:
        sub_id, sub_name = SUBSCRIPTIONS[rng.randrange(len(SUBSCRIPTIONS))]
        group = f"rg-{sub_name.lower().replace(' ', '')}-{rng.choice(RESOURCE_GROUPS)}"
        service, provider, categories, typical = SERVICES[rng.randrange(len(SERVICES))]
        name = f"{provider.rsplit('/', 1)[-1][:-1]}-{n:05d}"
        resource_id = f"/subscriptions/{sub_id}/resourcegroups/{group}/providers/{provider}/{name}"
        location = rng.choice(LOCATIONS)
        tags: dict[str, str] = {}
        if rng.random() > 0.1:
            for key, values in TAG_VALUES.items():
                if key == "env" or rng.random() < 0.6:
                    tags[key] = rng.choice(values)
        for category in categories:
            if len(meters) == rows_per_day:
                break
            scale = 1.0 if category in (service, categories[0]) else 0.08
            amount = typical * scale * rng.lognormvariate(0, 0.8)
            meters.append(
                Meter(
                    subscription_id=sub_id,
                    subscription_name=sub_name,
                    resource_group=group,
                    resource_id=resource_id,
                    service_name=service,
                    meter_category=category,
                    location=location,
                    charge_type="Purchase" if rng.random() < 0.01 else "Usage",
                    tags=tags,
                    base_units=max(1, int(amount * 1e8)),
                    quantity_units=int(rng.uniform(1, 720) * 1e8),
                )
            )
        n += 1
    return meters


@dataclass(frozen=True, slots=True)
class Shape:
    """How many rows: `rows_per_day` every day for `days` days ending on `end`."""

    rows_per_day: int
    days: int
    end: date

    @classmethod
    def for_rows(cls, rows: int, days: int = DEFAULT_DAYS, end: date | None = None) -> Shape:
        days = max(1, min(days, rows))
        return cls(max(1, round(rows / days)), days, end or date(2026, 11, 26))

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days - 1)

    @property
    def total_rows(self) -> int:
        return self.rows_per_day * self.days

    def describe(self) -> dict[str, Any]:
        catalog = build_catalog(self.rows_per_day)
        return {
            "rows": self.total_rows,
            "days": self.days,
            "rows_per_day": self.rows_per_day,
            "resources": len({m.resource_id for m in catalog}),
            "subscriptions": len({m.subscription_id for m in catalog}),
            "services": len({m.service_name for m in catalog}),
            "window": [self.start.isoformat(), self.end.isoformat()],
        }


def is_restated(day: date, index: int) -> bool:
    """Whether row `index` of `day` is restated in the second pull (5%, spread over all days)."""
    return (index * 7 + day.toordinal()) % RESTATED_SHARE == 0


class SyntheticCostSource:
    """A `CostSource` over the synthetic tenant; `restated=True` is the second, restated pull."""

    def __init__(self, shape: Shape, *, restated: bool = False) -> None:
        self.shape = shape
        self.restated = restated
        self.catalog = build_catalog(shape.rows_per_day)

    def rows_for(self, day: date) -> list[CostRow]:
        ordinal = day.toordinal()
        weekday_factor = 0.82 if day.weekday() >= 5 else 1.0
        growth = 1.0 + (day - self.shape.start).days * 0.0005
        rng = random.Random(ordinal)
        rows: list[CostRow] = []
        for index, m in enumerate(self.catalog):
            units = int(m.base_units * weekday_factor * growth * (0.9 + 0.2 * rng.random()))
            if self.restated and is_restated(day, index):
                units += units // 50 + 1  # Azure rerated it: +2%
            cost = Decimal(units).scaleb(-8)
            rows.append(
                CostRow(
                    usage_date=day,
                    subscription_id=m.subscription_id,
                    subscription_name=m.subscription_name,
                    resource_group=m.resource_group,
                    resource_id=m.resource_id,
                    service_name=m.service_name,
                    meter_category=m.meter_category,
                    location=m.location,
                    charge_type=m.charge_type,
                    currency="EUR",
                    cost=cost,
                    cost_usd=Decimal(units * 108 // 100).scaleb(-8),
                    quantity=Decimal(m.quantity_units).scaleb(-8),
                    tags=m.tags,
                )
            )
        return rows

    def iter_days(self, start: date, end: date) -> Iterator[CostDay]:
        day = start
        while day <= end:
            yield CostDay(day, self.rows_for(day))
            day += timedelta(days=1)

    async def days(
        self, scope: Scope, cost_type: CostType, start: date, end: date
    ) -> AsyncIterator[CostDay]:
        for day in self.iter_days(start, end):
            yield day
