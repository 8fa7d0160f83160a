"""Azure adapters: Cost Management behind the `CostSource` and `ForecastSource` ports, and a
simulated tenant.

The composition root calls the factories below; every client they build is closed by the
returned object's `aclose()` (or `async with`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from azure.core.credentials_async import AsyncTokenCredential

from adapters.azure.cloud import CLOUDS, PUBLIC, AzureCloud, resolve_cloud
from adapters.azure.cost_source import AzureCostSource
from adapters.azure.credentials import make_credential
from adapters.azure.forecast_source import AzureForecastSource
from adapters.azure.recommendation_sources import (
    AzureRecommendationSources,
    build_recommendation_sources,
)
from adapters.azure.retry import CostManagementRetryPolicy

if TYPE_CHECKING:
    from adapters.azure.simulated import SimulatedTenant

__all__ = [
    "CLOUDS",
    "PUBLIC",
    "AzureCloud",
    "AzureCostSource",
    "AzureForecastSource",
    "AzureRecommendationSources",
    "CostManagementRetryPolicy",
    "build_cost_source",
    "build_forecast_source",
    "build_recommendation_sources",
    "build_simulated_cost_source",
    "build_simulated_forecast_source",
    "make_credential",
    "resolve_cloud",
]


def build_cost_source(
    *,
    credential: AsyncTokenCredential,
    chunk_days: int = 7,
    max_retries: int = 5,
    max_retry_wait_seconds: float = 300.0,
    transport: Any = None,
    close_credential: bool = True,
    cloud: AzureCloud = PUBLIC,
    **client_kwargs: Any,
) -> AzureCostSource:
    """An `AzureCostSource` over the async `CostManagementClient`.

    `transport` replaces the HTTP layer (the simulated tenant, tests); by default aiohttp.
    `cloud` gives the ARM endpoint and token scope (public, US Government, China).
    With `close_credential` the source's `aclose()` also closes `credential`.
    """
    client_kwargs = {**cloud.arm_client_kwargs(), **client_kwargs}
    client = _client(credential, max_retries, max_retry_wait_seconds, transport, client_kwargs)
    close = credential.close if close_credential else None
    return AzureCostSource(client, chunk_days=chunk_days, on_close=close)


def build_forecast_source(
    *,
    credential: AsyncTokenCredential,
    max_retries: int = 5,
    max_retry_wait_seconds: float = 300.0,
    transport: Any = None,
    close_credential: bool = True,
    cloud: AzureCloud = PUBLIC,
    **client_kwargs: Any,
) -> AzureForecastSource:
    """An `AzureForecastSource` over the async `CostManagementClient`, retried and throttled
    like the cost source (same policy). Arguments as for `build_cost_source`."""
    client_kwargs = {**cloud.arm_client_kwargs(), **client_kwargs}
    client = _client(credential, max_retries, max_retry_wait_seconds, transport, client_kwargs)
    close = credential.close if close_credential else None
    return AzureForecastSource(client, on_close=close)


def _client(
    credential: AsyncTokenCredential,
    max_retries: int,
    max_retry_wait_seconds: float,
    transport: Any,
    client_kwargs: dict[str, Any],
) -> Any:
    from azure.mgmt.costmanagement.aio import CostManagementClient

    policy = CostManagementRetryPolicy(
        max_retries=max_retries, max_wait_seconds=max_retry_wait_seconds
    )
    if transport is not None:
        client_kwargs["transport"] = transport
    return CostManagementClient(credential, retry_policy=policy, **client_kwargs)


def build_simulated_cost_source(
    tenant: SimulatedTenant,
    *,
    chunk_days: int = 7,
    max_retries: int = 5,
    max_retry_wait_seconds: float = 300.0,
    transport: Any = None,
) -> AzureCostSource:
    """The same `AzureCostSource`, real SDK client included, answered by `tenant`."""
    return build_cost_source(
        credential=tenant.credential(),
        chunk_days=chunk_days,
        max_retries=max_retries,
        max_retry_wait_seconds=max_retry_wait_seconds,
        transport=transport if transport is not None else tenant.transport(),
    )


def build_simulated_forecast_source(
    tenant: SimulatedTenant,
    *,
    max_retries: int = 5,
    max_retry_wait_seconds: float = 300.0,
    transport: Any = None,
) -> AzureForecastSource:
    """The same `AzureForecastSource`, real SDK client included, answered by `tenant`."""
    return build_forecast_source(
        credential=tenant.credential(),
        max_retries=max_retries,
        max_retry_wait_seconds=max_retry_wait_seconds,
        transport=transport if transport is not None else tenant.transport(),
    )
