"""`AdvisorSource` over Azure Advisor (`AdvisorManagementClient.recommendations.list`).

Cost recommendations only (`Category eq 'Cost'`), every type; Advisor's `extendedProperties` are
strings (`"118.26"`), parsed here; suppressed (snoozed or dismissed) items are left out. Paging
follows `nextLink` (the SDK's pager). One client per subscription (Advisor's API is per
subscription).
"""

from __future__ import annotations

import logging
from typing import Any

from azure.core.exceptions import AzureError, DeserializationError
from azure.mgmt.advisor.aio import AdvisorManagementClient

from adapters.azure.errors import map_api_error
from core.approvals.ports import PortalSuppression
from core.kernel.errors import MalformedResponseError
from core.recommendations.merge import decimal_or_none
from core.recommendations.ports import AdvisorItem

log = logging.getLogger(__name__)

ADVISOR = "Azure Advisor"
COST_FILTER = "Category eq 'Cost'"


def _malformed(subscription_id: str, what: str) -> MalformedResponseError:
    return MalformedResponseError(
        f"{what} (Advisor cost recommendations of subscription {subscription_id}).",
        service=ADVISOR,
        code="malformed_response",
        hint="Nothing of this refresh was stored; the recommendations shown are the previous "
        "refresh's. Report it if it persists.",
    )


def parse_recommendation(rec: Any, subscription_id: str) -> AdvisorItem | None:
    """One Advisor recommendation → an `AdvisorItem`; None when it is suppressed."""
    if getattr(rec, "suppression_ids", None):
        return None
    metadata = getattr(rec, "resource_metadata", None)
    resource_id = getattr(metadata, "resource_id", None)
    name = getattr(rec, "name", None)
    if not isinstance(resource_id, str) or not resource_id or not isinstance(name, str):
        raise _malformed(subscription_id, f"a recommendation has no resource id or name ({name!r})")
    properties = {
        str(k): "" if v is None else str(v) for k, v in (rec.extended_properties or {}).items()
    }
    short = getattr(rec, "short_description", None)
    amount = decimal_or_none(properties.get("savingsAmount"))
    if properties.get("savingsAmount") and amount is None:
        log.warning("Advisor item %s has an unreadable savingsAmount %r", name, properties)
    currency = (properties.get("savingsCurrency") or "").strip().upper() or None
    return AdvisorItem(
        recommendation_id=name,
        type_id=str(getattr(rec, "recommendation_type_id", "") or "").lower(),
        resource_id=resource_id.rstrip("/").lower(),
        impacted_field=str(getattr(rec, "impacted_field", "") or ""),
        impacted_value=str(getattr(rec, "impacted_value", "") or ""),
        problem=str(getattr(short, "problem", "") or ""),
        solution=str(getattr(short, "solution", "") or ""),
        link=getattr(rec, "learn_more_link", None),
        properties=properties,
        amount=amount,
        currency=currency if amount is not None else None,
        last_updated=getattr(rec, "last_updated", None),
    )


def suppressed_item(rec: Any) -> PortalSuppression | None:
    """A suppressed Advisor recommendation (snoozed or dismissed, e.g. in the portal)."""
    metadata = getattr(rec, "resource_metadata", None)
    resource_id = getattr(metadata, "resource_id", None)
    name = getattr(rec, "name", None)
    if not getattr(rec, "suppression_ids", None) or not resource_id or not name:
        return None
    return PortalSuppression(str(name), str(resource_id).rstrip("/").lower())


class AzureAdvisorSource:
    """Advisor's cost recommendations per subscription; `aclose()` closes its clients.

    The suppressed items each listing left out are kept in `suppressed` (what a person
    snoozed or dismissed in the portal, or what CloudOptima suppressed)."""

    def __init__(self, credential: Any, **client_kwargs: Any) -> None:
        self._credential = credential
        self._kwargs = client_kwargs
        self._clients: dict[str, AdvisorManagementClient] = {}
        self.suppressed: list[PortalSuppression] = []

    def _client(self, subscription_id: str) -> AdvisorManagementClient:
        client = self._clients.get(subscription_id)
        if client is None:
            client = AdvisorManagementClient(self._credential, subscription_id, **self._kwargs)
            self._clients[subscription_id] = client
        return client

    async def cost_recommendations(self, subscription_id: str) -> list[AdvisorItem]:
        items: list[AdvisorItem] = []
        target = f"subscription {subscription_id}"
        try:
            pager = self._client(subscription_id).recommendations.list(filter=COST_FILTER)
            async for rec in pager:
                item = parse_recommendation(rec, subscription_id)
                if item is not None:
                    items.append(item)
                elif (suppressed := suppressed_item(rec)) is not None:
                    self.suppressed.append(suppressed)
        except DeserializationError:
            raise _malformed(subscription_id, "the answer does not have Advisor's shape") from None
        except AzureError as exc:
            raise map_api_error(
                exc, service=ADVISOR, what="Advisor query", target=target, role="Reader"
            ) from exc
        return items

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
