"""Every Azure client a recommendations refresh reads from, built for one cloud and closed
together: Resource Graph, Monitor metrics, Advisor, Cost Management (savings plans),
Reservations, Resource SKUs and Retail Prices. Each has the shared retry policy, counts its
requests, and takes its endpoints from the configured cloud."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.azure.advisor import AzureAdvisorSource
from adapters.azure.benefits import AzureBenefitSource
from adapters.azure.cloud import PUBLIC, AzureCloud, CallCounter
from adapters.azure.metrics import AzureMetricsSource
from adapters.azure.prices import AzurePriceSource, retail_client
from adapters.azure.reservations import AzureReservationSource
from adapters.azure.resource_graph import AzureInventorySource
from adapters.azure.retry import CostManagementRetryPolicy
from core.recommendations.refresh import Sources


@dataclass
class AzureRecommendationSources:
    """The refresh's `Sources` and what closes them."""

    sources: Sources
    counter: CallCounter
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def aclose(self) -> None:
        closers, self._closers = self._closers, []
        for close in closers:
            await close()

    async def __aenter__(self) -> AzureRecommendationSources:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def build_recommendation_sources(
    *,
    credential: Any,
    subscription_ids: Sequence[str],
    cloud: AzureCloud = PUBLIC,
    transport: Any = None,
    max_retries: int = 5,
    max_retry_wait_seconds: float = 300.0,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    prices: bool = True,
    close_credential: bool = True,
) -> AzureRecommendationSources:
    """Sources over the real SDK clients. `transport` replaces the HTTP layer (the simulated
    tenant, tests); `prices=False` (or a cloud without the Retail Prices API) uses the bundled
    price snapshot."""
    from azure.mgmt.compute.aio import ComputeManagementClient
    from azure.mgmt.costmanagement.aio import CostManagementClient
    from azure.mgmt.reservations.aio import ReservationsMgmtClient
    from azure.mgmt.resourcegraph.aio import ResourceGraphClient

    counter = CallCounter()

    def common() -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "retry_policy": CostManagementRetryPolicy(
                max_retries=max_retries, max_wait_seconds=max_retry_wait_seconds
            ),
            **counter.hook(),
        }
        if transport is not None:
            kwargs["transport"] = transport
        return kwargs

    arm = cloud.arm_client_kwargs()
    inventory = AzureInventorySource(
        ResourceGraphClient(credential, **arm, **common()),
        sleep=sleep or asyncio.sleep,
        max_wait_seconds=max_retry_wait_seconds,
    )
    metrics = AzureMetricsSource(credential, cloud, **common())
    advisor = AzureAdvisorSource(credential, **arm, **common())
    benefits = AzureBenefitSource(CostManagementClient(credential, **arm, **common()))
    reservations = AzureReservationSource(ReservationsMgmtClient(credential, **arm, **common()))
    closers: list[Callable[[], Awaitable[None]]] = [
        inventory.aclose,
        metrics.aclose,
        advisor.aclose,
        benefits.aclose,
        reservations.aclose,
    ]
    price_source = None
    if prices and cloud.prices_endpoint and subscription_ids:
        retail_kwargs = common()
        retail = retail_client(
            cloud.prices_endpoint,
            retry_policy=retail_kwargs.pop("retry_policy"),
            **retail_kwargs,
        )
        compute = ComputeManagementClient(credential, subscription_ids[0], **arm, **common())
        price_source = AzurePriceSource(compute, retail, cloud.prices_endpoint)
        closers.append(price_source.aclose)
    if close_credential and hasattr(credential, "close"):
        closers.append(credential.close)
    sources = Sources(
        inventory=inventory,
        metrics=metrics,
        advisor=advisor,
        benefits=benefits,
        reservations=reservations,
        prices=price_source,
        calls=lambda: counter.count,
    )
    return AzureRecommendationSources(sources, counter, closers)
