"""A refresh: read every source, compute, then write everything in one transaction.

Inventory (Resource Graph) → metrics of the running VMs (Monitor) → Advisor's cost items →
savings plan recommendations and reservations → the last 30 days of effective cost (the cost
store) → the SKU and price catalog (cached for a week, or fetched, or the bundled snapshot) →
the rules → Advisor merged in → exclusions → the store (`apply_findings`). Any source failing
fails the refresh before anything is written; the failure itself is recorded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from datetime import time as day_time

from sqlalchemy import Engine

from core.kernel.clock import Clock
from core.kernel.db.engine import write_transaction
from core.kernel.errors import CloudOptimaError
from core.recommendations.catalog import PriceTable, bundled_catalog
from core.recommendations.effective import EffectiveCosts, read_effective_costs
from core.recommendations.merge import (
    advisor_recommendation,
    collapse_reservations,
    excluded,
    merge,
)
from core.recommendations.model import Recommendation, RecommendationsConfig
from core.recommendations.ports import (
    AdvisorItem,
    AdvisorSource,
    BenefitSource,
    Catalog,
    Inventory,
    InventorySource,
    ManagedDisk,
    MetricsSource,
    PriceSource,
    ReservationSource,
    ReservationUsage,
    Resource,
    SavingsPlanOffer,
    VirtualMachine,
    VmMetrics,
)
from core.recommendations.rules import RuleRegistry, default_registry
from core.recommendations.rules.base import Facts
from core.recommendations.rules.orphans import ASR_TAGS, UNATTACHED_DISK
from core.recommendations.store import (
    RefreshCounts,
    apply_findings,
    cached_catalog,
    record_refresh,
    save_catalog,
)
from core.recommendations.utilization import Utilization, summarize

CATALOG_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Sources:
    """Where a refresh reads from. Without `prices` the bundled snapshot is used."""

    inventory: InventorySource
    metrics: MetricsSource
    advisor: AdvisorSource
    benefits: BenefitSource | None = None
    reservations: ReservationSource | None = None
    prices: PriceSource | None = None
    #: How many Azure calls were made so far (recorded with the refresh).
    calls: Callable[[], int] = field(default=lambda: 0)


@dataclass(frozen=True, slots=True)
class Fetched:
    """What the sources answered."""

    inventory: Inventory
    #: Running VM id → its utilization (summarised as each chunk of metrics arrived).
    utilization: dict[str, Utilization]
    advisor: list[AdvisorItem]
    savings_plans: list[SavingsPlanOffer]
    reservations: list[ReservationUsage]
    costs: EffectiveCosts
    catalog: Catalog
    #: Regions to store the catalog for (None: it came from the cache or the snapshot).
    fetched_regions: tuple[str, ...] | None
    #: Of the fetch, the time spent turning hourly series into percentiles.
    summary_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class RefreshResult:
    counts: RefreshCounts
    found: int
    by_rule: dict[str, int]
    azure_calls: int
    seconds: dict[str, float]
    catalog_source: str

    def describe(self) -> str:
        return (
            f"{self.found} recommendation(s): {self.counts.describe()}; "
            f"{self.azure_calls} Azure call(s); prices from {self.catalog_source}"
        )


def look_back_name(days: int) -> str:
    """Cost Management's look-back period for benefit recommendations."""
    return "Last7Days" if days <= 7 else "Last30Days" if days <= 30 else "Last60Days"


class RecommendationRefresher:
    """Runs refreshes over one database with the feature's settings and a rule registry."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        config: RecommendationsConfig,
        registry: RuleRegistry | None = None,
        *,
        catalog_max_age: timedelta = CATALOG_MAX_AGE,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.config = config
        self.registry = registry or default_registry()
        self.catalog_max_age = catalog_max_age

    async def run(self, sources: Sources, subscription_ids: Sequence[str]) -> RefreshResult:
        """One refresh of the subscriptions; raises the sources' `CloudOptimaError` (recorded)."""
        started = self.clock.now()
        seconds: dict[str, float] = {}
        began = time.perf_counter()
        try:
            fetched = await self.fetch(sources, subscription_ids)
        except CloudOptimaError as exc:
            await asyncio.to_thread(self._record_failure, started, sources.calls(), exc)
            raise
        seconds["fetch"] = time.perf_counter() - began
        began = time.perf_counter()
        # CPU work off the event loop: the scheduler shares it with the chat front doors.
        kept, excluded_keys = await asyncio.to_thread(self.evaluate, fetched)
        seconds["rules"] = time.perf_counter() - began
        began = time.perf_counter()
        counts = await asyncio.to_thread(
            self.write, fetched, kept, excluded_keys, started, sources.calls()
        )
        seconds["write"] = time.perf_counter() - began
        by_rule: dict[str, int] = {}
        for rec in kept:
            by_rule[rec.rule] = by_rule.get(rec.rule, 0) + 1
        return RefreshResult(
            counts, len(kept), by_rule, sources.calls(), seconds, fetched.catalog.source
        )

    # -- reading ---------------------------------------------------------------------------------

    def window(self) -> tuple[datetime, datetime]:
        """The metrics window: whole days, the look-back up to today 00:00 UTC."""
        today = self.clock.now().date()
        end = datetime.combine(today, day_time(0), tzinfo=UTC)
        return end - timedelta(days=self.config.look_back_days), end

    async def fetch(self, sources: Sources, subscription_ids: Sequence[str]) -> Fetched:
        inventory = await sources.inventory.inventory(subscription_ids)
        advisor: list[AdvisorItem] = []
        for subscription_id in subscription_ids:
            advisor.extend(await sources.advisor.cost_recommendations(subscription_id))
        plans: list[SavingsPlanOffer] = []
        if sources.benefits is not None:
            look_back = look_back_name(self.config.look_back_days)
            for subscription_id in subscription_ids:
                plans.extend(
                    await sources.benefits.savings_plans(
                        f"/subscriptions/{subscription_id}", self.config.term, look_back
                    )
                )
        reservations = (
            await sources.reservations.reservations() if sources.reservations is not None else []
        )
        costs = await asyncio.to_thread(read_effective_costs, self.engine, self.clock.now().date())
        located = [vm.location for vm in inventory.vms] + [r.location for r in reservations]
        regions = sorted({location.lower() for location in located if location})
        catalog, fetched_regions = await self._catalog(sources, regions, costs)
        utilization, summary_seconds = await self._utilization(sources, inventory, catalog)
        return Fetched(
            inventory,
            utilization,
            advisor,
            plans,
            reservations,
            costs,
            catalog,
            fetched_regions,
            summary_seconds,
        )

    async def _utilization(
        self, sources: Sources, inventory: Inventory, catalog: Catalog
    ) -> tuple[dict[str, Utilization], float]:
        """Metrics of the running VMs, chunk by chunk, each summarised as it arrives (the
        hourly series of thousands of VMs are never all in memory)."""
        prices = PriceTable(catalog)
        start, end = self.window()
        hours = self.config.look_back_days * 24
        found: dict[str, Utilization] = {}
        spent = 0.0

        def summarize_chunk(chunk: list[VirtualMachine], series: dict[str, VmMetrics]) -> None:
            for vm in chunk:
                spec = prices.sku(vm.size)
                memory = spec.memory_gb if spec is not None else None
                found[vm.resource_id] = summarize(series.get(vm.resource_id), memory, hours)

        running = [vm for vm in inventory.vms if vm.state == "running"]
        for chunk in metric_chunks(running):
            series = await sources.metrics.vm_metrics(chunk, start, end)
            began = time.perf_counter()
            await asyncio.to_thread(summarize_chunk, chunk, series)
            spent += time.perf_counter() - began
        return found, spent

    async def _catalog(
        self, sources: Sources, regions: list[str], costs: EffectiveCosts
    ) -> tuple[Catalog, tuple[str, ...] | None]:
        if sources.prices is None:
            return bundled_catalog(), None
        currency = costs.billing_currency or "USD"
        now = self.clock.now()
        cached = await asyncio.to_thread(
            cached_catalog, self.engine, regions, currency, max_age=self.catalog_max_age, now=now
        )
        if cached is not None:
            return cached, None
        fetched = await sources.prices.catalog(regions, currency)
        return fetched, tuple(regions)

    # -- computing -------------------------------------------------------------------------------

    def evaluate(self, fetched: Fetched) -> tuple[list[Recommendation], list[str]]:
        """(recommendations to keep, keys excluded by configuration): pure over `fetched`."""
        prices = PriceTable(fetched.catalog)
        facts = Facts(
            today=self.clock.now().date(),
            inventory=fetched.inventory,
            utilization=fetched.utilization,
            costs=fetched.costs,
            prices=prices,
            config=self.config,
            reservations=tuple(fetched.reservations),
            savings_plans=tuple(fetched.savings_plans),
        )
        ours = self.registry.evaluate(facts)
        resources = {r.resource_id: r for r in fetched.inventory.all()}
        items = collapse_reservations(fetched.advisor, self.config.term, self.config.look_back_days)
        theirs = [
            rec
            for i in items
            if _advisor_applies(
                rec := _with_inventory(
                    advisor_recommendation(i, self.config, fetched.costs.billing_currency),
                    resources,
                ),
                resources,
            )
        ]
        kept: list[Recommendation] = []
        excluded_keys: list[str] = []
        for rec in merge(ours, theirs):
            if excluded(rec, self.config):
                excluded_keys.append(rec.key)
            else:
                kept.append(rec)
        return kept, excluded_keys

    # -- writing ---------------------------------------------------------------------------------

    def write(
        self,
        fetched: Fetched,
        kept: list[Recommendation],
        excluded_keys: list[str],
        started: datetime,
        calls: int,
    ) -> RefreshCounts:
        now = self.clock.now()
        with write_transaction(self.engine) as conn:
            if fetched.fetched_regions is not None:
                save_catalog(conn, fetched.catalog, fetched.fetched_regions, now)
            counts = apply_findings(conn, kept, now, excluded_keys=excluded_keys)
            record_refresh(
                conn, started_at=started, finished_at=now, counts=counts, azure_calls=calls
            )
        return counts

    def _record_failure(self, started: datetime, calls: int, error: CloudOptimaError) -> None:
        with write_transaction(self.engine) as conn:
            record_refresh(
                conn,
                started_at=started,
                finished_at=self.clock.now(),
                counts=None,
                azure_calls=calls,
                error=error.user_message(),
            )


#: VMs per metrics call (the batch API's limit) and batches per chunk a refresh holds at once.
METRICS_BATCH = 50
BATCHES_PER_CHUNK = 10


def metric_chunks(vms: Sequence[VirtualMachine]) -> list[list[VirtualMachine]]:
    """The running VMs in chunks of whole batches: each subscription × region group is cut in
    batches of 50 (the last one shorter), and batches are packed 10 to a chunk, so chunking
    never adds a call to the fewest the batch limit allows."""
    groups: dict[tuple[str, str], list[VirtualMachine]] = {}
    for vm in vms:
        groups.setdefault((vm.subscription_id, vm.location), []).append(vm)
    batches = [
        members[i : i + METRICS_BATCH]
        for _key, members in sorted(groups.items())
        for i in range(0, len(members), METRICS_BATCH)
    ]
    return [
        [vm for batch in batches[i : i + BATCHES_PER_CHUNK] for vm in batch]
        for i in range(0, len(batches), BATCHES_PER_CHUNK)
    ]


def _advisor_applies(rec: Recommendation, resources: dict[str, Resource]) -> bool:
    """Advisor's item stands unless the inventory (fresher than Advisor's daily cache) says
    otherwise: a disk attached since, or a Site Recovery replica (unattached by design)."""
    if rec.rule != UNATTACHED_DISK:
        return True
    found = resources.get(rec.resource_id)
    if isinstance(found, ManagedDisk) and found.managed_by:
        return False
    return not ASR_TAGS & {key.lower() for key in rec.tags}


def _with_inventory(rec: Recommendation, resources: dict[str, Resource]) -> Recommendation:
    """An Advisor item with what the inventory knows of its resource (tags for exclusions)."""
    found = resources.get(rec.resource_id)
    if found is None:
        return rec
    return replace(
        rec,
        resource_name=found.name,
        resource_group=found.resource_group,
        subscription_id=found.subscription_id,
        location=found.location,
        tags=found.tags,
    )


__all__ = ["RecommendationRefresher", "RefreshResult", "Sources"]
