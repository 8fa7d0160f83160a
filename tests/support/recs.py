"""Builders for recommendation tests: VMs and other resources, hourly metric series of a shape
(idle, borderline, busy, missing), effective costs, a price table, and facts for the rules."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from core.costs.model import CostType
from core.recommendations.catalog import PriceTable, bundled_catalog
from core.recommendations.effective import EffectiveCosts, ResourceCost
from core.recommendations.model import RecommendationsConfig
from core.recommendations.ports import (
    AppServicePlan,
    Catalog,
    Inventory,
    ManagedDisk,
    PublicIp,
    ReservationUsage,
    SavingsPlanOffer,
    SkuPrice,
    SkuSpec,
    VirtualMachine,
    VmMetrics,
)
from core.recommendations.rules.base import Facts
from core.recommendations.utilization import summarize

TODAY = date(2026, 11, 27)
SUB = "8f1c2b9e-4d3a-4e6b-9a7c-2f5d1e0b3c4a"
START = datetime(2026, 10, 28, tzinfo=UTC)
HOURS = 30 * 24
GIB = 1024**3


def rid(kind: str, name: str, rg: str = "rg-web") -> str:
    return f"/subscriptions/{SUB}/resourcegroups/{rg}/providers/{kind}/{name}".lower()


def vm(name: str, size: str = "Standard_D8s_v5", *, state: str = "PowerState/running",
       os_type: str = "Linux", rg: str = "rg-web", location: str = "westeurope",
       tags: dict[str, str] | None = None, data_disks: int | None = 2,
       nics: int | None = 1) -> VirtualMachine:  # fmt: skip
    return VirtualMachine(
        resource_id=rid("microsoft.compute/virtualmachines", name, rg),
        name=name,
        subscription_id=SUB,
        resource_group=rg,
        location=location,
        tags=tags or {},
        size=size,
        power_state=state,
        os_type=os_type,
        data_disks=data_disks,
        network_interfaces=nics,
    )


def disk(name: str, *, owner: str = "", state: str = "Unattached",
         tags: dict[str, str] | None = None, rg: str = "rg-web") -> ManagedDisk:  # fmt: skip
    return ManagedDisk(
        resource_id=rid("microsoft.compute/disks", name, rg),
        name=name,
        subscription_id=SUB,
        resource_group=rg,
        location="westeurope",
        tags=tags or {},
        sku="Premium_LRS",
        size_gb=512,
        disk_state=state,
        managed_by=owner,
    )


def public_ip(name: str, *, ip_configuration: str = "") -> PublicIp:
    return PublicIp(
        resource_id=rid("microsoft.network/publicipaddresses", name),
        name=name,
        subscription_id=SUB,
        resource_group="rg-web",
        location="westeurope",
        sku="Standard",
        ip_configuration=ip_configuration,
    )


def plan(name: str, sites: int) -> AppServicePlan:
    return AppServicePlan(
        resource_id=rid("microsoft.web/serverfarms", name),
        name=name,
        subscription_id=SUB,
        resource_group="rg-web",
        location="westeurope",
        sku="P1v3",
        sites=sites,
    )


def series(low: float, high: float, hours: int = HOURS, seed: int = 1) -> tuple[float, ...]:
    """`hours` values spread evenly between `low` and `high` (shuffled): percentiles are known."""
    values = [low + (high - low) * i / (hours - 1) for i in range(hours)]
    random.Random(seed).shuffle(values)
    return tuple(values)


def metrics(
    machine: VirtualMachine,
    *,
    cpu: tuple[float, float] | None,
    memory_used: tuple[float, float] | None = (20, 30),
    network_mbps: tuple[float, float] | None = (0.01, 0.05),
    memory_gb: float = 32,
    hours: int = HOURS,
) -> VmMetrics:
    """A VM's hourly series: CPU max %, memory used % (as available bytes), network Mbit/s."""
    total = memory_gb * GIB
    available = (
        tuple(total * (1 - u / 100) for u in series(*memory_used, hours=hours, seed=2))
        if memory_used
        else ()
    )
    network = (
        tuple(m * 1e6 * 3600 / 8 for m in series(*network_mbps, hours=hours, seed=3))
        if network_mbps
        else ()
    )
    return VmMetrics(
        resource_id=machine.resource_id,
        start=START,
        interval_hours=1,
        cpu_max=series(*cpu, hours=hours) if cpu else (),
        memory_available_min=available,
        network_out=network,
    )


def costs(amounts: dict[str, str], *, currency: str = "EUR", first_day: date | None = None,
          cost_type: CostType = CostType.AMORTIZED) -> EffectiveCosts:  # fmt: skip
    end = TODAY - timedelta(days=1)
    start = end - timedelta(days=29)
    return EffectiveCosts(
        {k: ResourceCost(Decimal(v), currency) for k, v in amounts.items()},
        cost_type,
        start,
        end,
        first_day=first_day or start - timedelta(days=60),
        billing_currency=currency,
    )


def price_table(extra: Sequence[SkuPrice] = (), *, drop: Sequence[str] = ()) -> PriceTable:
    """The bundled snapshot's table, optionally without some sizes' prices, plus `extra`."""
    catalog = bundled_catalog()
    prices = tuple(p for p in catalog.prices if p.sku not in drop) + tuple(extra)
    return PriceTable(Catalog(catalog.skus, prices, catalog.fetched_at, catalog.source))


def sample_catalog() -> PriceTable:
    """Two sizes with round prices (the issue's example: D4s_v5 0.192, D2s_v5 0.096)."""
    skus = (
        SkuSpec("Standard_D2s_v5", "standardDSv5Family", 2, Decimal(8), 4, 2),
        SkuSpec("Standard_D4s_v5", "standardDSv5Family", 4, Decimal(16), 8, 2),
    )
    prices = (
        SkuPrice("Standard_D2s_v5", "westeurope", "Linux", "EUR", Decimal("0.096")),
        SkuPrice("Standard_D4s_v5", "westeurope", "Linux", "EUR", Decimal("0.192")),
    )
    return PriceTable(Catalog(skus, prices))


def facts(
    *,
    vms: Sequence[VirtualMachine] = (),
    measured: Sequence[VmMetrics] = (),
    disks: Sequence[ManagedDisk] = (),
    ips: Sequence[PublicIp] = (),
    plans: Sequence[AppServicePlan] = (),
    effective: EffectiveCosts | None = None,
    prices: PriceTable | None = None,
    config: RecommendationsConfig | None = None,
    reservations: Sequence[ReservationUsage] = (),
    savings_plans: Sequence[SavingsPlanOffer] = (),
) -> Facts:
    prices = prices or price_table()
    by_id = {m.resource_id: m for m in measured}
    utilization = {}
    for machine in vms:
        if machine.state == "running":
            spec = prices.sku(machine.size)
            memory = spec.memory_gb if spec else None
            utilization[machine.resource_id] = summarize(
                by_id.get(machine.resource_id), memory, HOURS
            )
    return Facts(
        today=TODAY,
        inventory=Inventory(tuple(vms), tuple(disks), tuple(ips), tuple(plans)),
        utilization=utilization,
        costs=effective or costs({}),
        prices=prices,
        config=config or RecommendationsConfig(),
        reservations=tuple(reservations),
        savings_plans=tuple(savings_plans),
    )


class ScopeRecordingCredential:
    """An async token credential that records the scopes it was asked for (sovereign clouds)."""

    def __init__(self, token: str = "simulated-token") -> None:
        self.token = token
        self.scopes: list[str] = []

    async def get_token(self, *scopes: str, **kwargs: object):
        from azure.core.credentials import AccessToken

        self.scopes.extend(scopes)
        return AccessToken(self.token, 4_102_444_800)

    async def close(self) -> None:
        pass
