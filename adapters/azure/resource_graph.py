"""`InventorySource` over Azure Resource Graph (`ResourceGraphClient.resources`).

One KQL query per resource type (VMs with size, power state and tags; managed disks with their
owner; public IPs with their association; App Service plans with their site count), across up to
1,000 subscriptions a request, paged with `$skipToken`. Throttling is honoured twice: a 429 is
retried after `x-ms-user-quota-resets-after` (the shared retry policy reads it), and when a
successful answer says the quota is spent (`x-ms-user-quota-remaining: 0`) the next page waits
for the reset.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from azure.core.exceptions import AzureError, DeserializationError
from azure.mgmt.resourcegraph.aio import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from adapters.azure.errors import map_api_error
from adapters.azure.retry import RESOURCE_GRAPH_RESETS_AFTER, retry_after_seconds
from core.kernel.errors import MalformedResponseError
from core.recommendations.ports import (
    AppServicePlan,
    Inventory,
    ManagedDisk,
    PublicIp,
    VirtualMachine,
)

log = logging.getLogger(__name__)

RESOURCE_GRAPH = "Azure Resource Graph"
PAGE_SIZE = 1000
MAX_SUBSCRIPTIONS = 1000
_COMMON = "id, name, resourceGroup, subscriptionId, location, tags"
QUERIES = {
    "vms": "resources | where type =~ 'microsoft.compute/virtualmachines' | project "
    f"{_COMMON}, size = tostring(properties.hardwareProfile.vmSize), "
    "powerState = tostring(properties.extended.instanceView.powerState.code), "
    "osType = tostring(properties.storageProfile.osDisk.osType), "
    "dataDisks = array_length(properties.storageProfile.dataDisks), "
    "nics = array_length(properties.networkProfile.networkInterfaces) | order by id asc",
    "disks": "resources | where type =~ 'microsoft.compute/disks' | project "
    f"{_COMMON}, managedBy = tostring(managedBy), diskState = tostring(properties.diskState), "
    "sku = tostring(sku.name), sizeGb = toint(properties.diskSizeGB) | order by id asc",
    "public_ips": "resources | where type =~ 'microsoft.network/publicipaddresses' | project "
    f"{_COMMON}, sku = tostring(sku.name), "
    "ipConfiguration = tostring(properties.ipConfiguration.id), "
    "natGateway = tostring(properties.natGateway.id) | order by id asc",
    "plans": "resources | where type =~ 'microsoft.web/serverfarms' | project "
    f"{_COMMON}, sku = tostring(sku.name), sites = toint(properties.numberOfSites) "
    "| order by id asc",
}


def _malformed(what: str) -> MalformedResponseError:
    return MalformedResponseError(
        f"{what} (Resource Graph inventory query).",
        service=RESOURCE_GRAPH,
        code="malformed_response",
        hint="Nothing of this refresh was stored. Report it if it persists.",
    )


def _text(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None else str(value)


def _count(row: Mapping[str, Any], name: str) -> int | None:
    value = row.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _malformed(f"column '{name}' holds {value!r} where a number was expected")
    try:
        return int(value)
    except ValueError:
        raise _malformed(f"column '{name}' holds {value!r} where a number was expected") from None


def _common(row: Any) -> dict[str, Any]:
    if not isinstance(row, Mapping) or not isinstance(row.get("id"), str) or not row["id"]:
        raise _malformed(f"a row has no resource id: {str(row)[:120]}")
    tags = row.get("tags") or {}
    if not isinstance(tags, Mapping):
        raise _malformed(f"column 'tags' of {row['id']} is not an object")
    return {
        "resource_id": row["id"].lower(),
        "name": _text(row, "name"),
        "subscription_id": _text(row, "subscriptionId").lower(),
        "resource_group": _text(row, "resourceGroup").lower(),
        "location": _text(row, "location").lower(),
        "tags": {str(k): "" if v is None else str(v) for k, v in tags.items()},
    }


def vm_of(row: Any) -> VirtualMachine:
    return VirtualMachine(
        **_common(row),
        size=_text(row, "size"),
        power_state=_text(row, "powerState"),
        os_type=_text(row, "osType") or "Linux",
        data_disks=_count(row, "dataDisks"),
        network_interfaces=_count(row, "nics"),
    )


def disk_of(row: Any) -> ManagedDisk:
    return ManagedDisk(
        **_common(row),
        sku=_text(row, "sku"),
        size_gb=_count(row, "sizeGb"),
        disk_state=_text(row, "diskState"),
        managed_by=_text(row, "managedBy").lower(),
    )


def ip_of(row: Any) -> PublicIp:
    return PublicIp(
        **_common(row),
        sku=_text(row, "sku"),
        ip_configuration=_text(row, "ipConfiguration").lower(),
        nat_gateway=_text(row, "natGateway").lower(),
    )


def plan_of(row: Any) -> AppServicePlan:
    return AppServicePlan(**_common(row), sku=_text(row, "sku"), sites=_count(row, "sites") or 0)


class AzureInventorySource:
    """The inventory from Resource Graph; `aclose()` closes the client."""

    def __init__(
        self,
        client: ResourceGraphClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_wait_seconds: float = 300.0,
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._max_wait = max_wait_seconds

    async def inventory(self, subscription_ids: Sequence[str]) -> Inventory:
        subs = list(subscription_ids)
        return Inventory(
            vms=tuple(vm_of(r) for r in await self.rows("vms", subs)),
            disks=tuple(disk_of(r) for r in await self.rows("disks", subs)),
            public_ips=tuple(ip_of(r) for r in await self.rows("public_ips", subs)),
            plans=tuple(plan_of(r) for r in await self.rows("plans", subs)),
        )

    async def rows(self, kind: str, subscription_ids: list[str]) -> list[Any]:
        """Every row of one query, page by page, over every subscription."""
        found: list[Any] = []
        for start in range(0, len(subscription_ids), MAX_SUBSCRIPTIONS):
            found.extend(
                await self._pages(
                    QUERIES[kind], subscription_ids[start : start + MAX_SUBSCRIPTIONS]
                )
            )
        return found

    async def _pages(self, query: str, subscriptions: list[str]) -> list[Any]:
        rows: list[Any] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            options = QueryRequestOptions(
                skip_token=token, top=PAGE_SIZE, result_format="objectArray"
            )
            request = QueryRequest(subscriptions=subscriptions, query=query, options=options)
            response, headers = await self._call(request, subscriptions)
            data = response.data
            if not isinstance(data, list):
                raise _malformed("the answer's data is not a list of rows")
            rows.extend(data)
            token = response.skip_token
            if not token:
                return rows
            if token in seen:
                raise _malformed("the answer's $skipToken repeats an earlier page")
            seen.add(token)
            await self._pace(headers)

    async def _call(self, request: QueryRequest, subscriptions: list[str]) -> tuple[Any, Any]:
        target = f"{len(subscriptions)} subscription(s)"
        try:
            return await self._client.resources(
                request, cls=lambda pipeline, body, _h: (body, pipeline.http_response.headers)
            )
        except DeserializationError:
            raise _malformed("the answer does not have Resource Graph's shape") from None
        except AzureError as exc:
            raise map_api_error(
                exc, service=RESOURCE_GRAPH, what="inventory query", target=target, role="Reader"
            ) from exc

    async def _pace(self, headers: Mapping[str, str]) -> None:
        """Wait for the quota to reset when the last answer said none is left."""
        if str(headers.get("x-ms-user-quota-remaining", "")).strip() != "0":
            return
        wait = retry_after_seconds(
            {RESOURCE_GRAPH_RESETS_AFTER: headers.get(RESOURCE_GRAPH_RESETS_AFTER, "")}
        )
        wait = min(wait if wait is not None else 5.0, self._max_wait)
        log.info("Resource Graph quota spent; waiting %.0f s for it to reset", wait)
        await self._sleep(wait)

    async def aclose(self) -> None:
        await self._client.close()
