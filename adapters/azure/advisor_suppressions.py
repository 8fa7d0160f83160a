"""Azure Advisor suppressions through the SDK (`AdvisorManagementClient.suppressions.create`):
a snooze is a suppression with a TTL ("dd.hh:mm:ss", at most 90 days), a dismissal one without.

The SDK percent-encodes the resource URI into the path
(`PUT /%2Fsubscriptions%2F…/providers/Microsoft.Advisor/recommendations/{id}/suppressions/{name}`).
Needs write access to Advisor on the resource (Contributor, or a role with
`Microsoft.Advisor/suppressions/write`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from azure.core.exceptions import AzureError
from azure.mgmt.advisor.aio import AdvisorManagementClient
from azure.mgmt.advisor.models import SuppressionContract

from adapters.azure.advisor import ADVISOR
from adapters.azure.cloud import PUBLIC, AzureCloud
from adapters.azure.errors import map_api_error
from adapters.azure.retry import CostManagementRetryPolicy

MAX_TTL = timedelta(days=90)


def ttl_text(ttl: timedelta) -> str:
    """A TTL in Advisor's TimeSpan form, `dd.hh:mm:ss` (`14.00:00:00`), whole seconds."""
    if ttl <= timedelta(0):
        raise ValueError("a suppression's TTL is positive")
    ttl = min(ttl, MAX_TTL)
    seconds = int(ttl.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    return f"{days:02d}.{hours:02d}:{minutes:02d}:{seconds:02d}"


def _subscription_of(resource_id: str) -> str:
    parts = resource_id.strip("/").split("/")
    if len(parts) < 2 or parts[0].lower() != "subscriptions":
        raise ValueError(f"not a resource in a subscription: {resource_id!r}")
    return parts[1]


class AzureAdvisorSuppressions:
    """`suppress` one recommendation; `aclose()` closes the clients (one per subscription)."""

    def __init__(self, credential: Any, **client_kwargs: Any) -> None:
        self._credential = credential
        self._kwargs = client_kwargs
        self._clients: dict[str, AdvisorManagementClient] = {}

    def _client(self, subscription_id: str) -> AdvisorManagementClient:
        client = self._clients.get(subscription_id)
        if client is None:
            client = AdvisorManagementClient(self._credential, subscription_id, **self._kwargs)
            self._clients[subscription_id] = client
        return client

    async def suppress(
        self, resource_id: str, recommendation_id: str, name: str, ttl: timedelta | None
    ) -> None:
        contract = SuppressionContract(ttl=None if ttl is None else ttl_text(ttl))
        client = self._client(_subscription_of(resource_id))
        try:
            await client.suppressions.create(resource_id, recommendation_id, name, contract)
        except AzureError as exc:
            raise map_api_error(
                exc,
                service=ADVISOR,
                what="Advisor suppression",
                target=f"recommendation {recommendation_id}",
                role="Contributor (Microsoft.Advisor/suppressions/write)",
            ) from exc

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


def build_advisor_suppressions(
    *,
    credential: Any,
    cloud: AzureCloud = PUBLIC,
    transport: Any = None,
    max_retries: int = 5,
    max_retry_wait_seconds: float = 300.0,
) -> AzureAdvisorSuppressions:
    """The suppressions client for one cloud (`transport`: the simulated tenant, tests)."""
    kwargs: dict[str, Any] = {
        "retry_policy": CostManagementRetryPolicy(
            max_retries=max_retries, max_wait_seconds=max_retry_wait_seconds
        ),
        **cloud.arm_client_kwargs(),
    }
    if transport is not None:
        kwargs["transport"] = transport
    return AzureAdvisorSuppressions(credential, **kwargs)
