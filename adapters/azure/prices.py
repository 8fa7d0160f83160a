"""`PriceSource`: VM sizes from the Resource SKUs API (`ComputeManagementClient.resource_skus`)
and their hourly prices from the Retail Prices API (unauthenticated, over azure-core).

Retail rows kept: `type == "Consumption"` on the primary meter region, Linux and Windows told
apart by the " Windows" suffix of `productName`, Spot and Low Priority rows dropped (by
`skuName` / `meterName`), DevTest rows dropped; `Reservation` rows give the whole-term price of
a one- or three-year reservation (their `unitOfMeasure` says "1 Hour", but the price covers the
term). Pages follow `NextPageLink`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from azure.core import AsyncPipelineClient
from azure.core.exceptions import AzureError, DeserializationError
from azure.core.pipeline import policies
from azure.core.rest import HttpRequest
from azure.mgmt.compute.aio import ComputeManagementClient

from adapters.azure.errors import map_api_error
from core.kernel.errors import MalformedResponseError
from core.kernel.money import decimal_from_json_number
from core.recommendations.ports import Catalog, SkuPrice, SkuSpec

log = logging.getLogger(__name__)

COMPUTE = "Azure Resource SKUs"
RETAIL = "Azure Retail Prices"
RETAIL_API_VERSION = "2023-01-01-preview"
_MAX_PAGES = 200
_TERMS = {"1 year": 1, "3 years": 3}


def _malformed(service: str, what: str) -> MalformedResponseError:
    return MalformedResponseError(
        f"{what}.",
        service=service,
        code="malformed_response",
        hint="Nothing of this refresh was stored. Report it if it persists.",
    )


def _capabilities(sku: Any) -> dict[str, str]:
    return {
        str(c.get("name")): str(c.get("value"))
        for c in (sku.get("capabilities") or ())
        if isinstance(c, Mapping)
    }


def _restricted(sku: Mapping[str, Any], region: str) -> bool:
    for restriction in sku.get("restrictions") or ():
        if str(restriction.get("type")) == "Location" and region in {
            str(v).lower() for v in (restriction.get("values") or ())
        }:
            return True
    return False


def sku_of(raw: Any, region: str) -> SkuSpec | None:
    """A VM size available in `region` (None for other resource types or restricted sizes)."""
    if not isinstance(raw, Mapping) or raw.get("resourceType") != "virtualMachines":
        return None
    if _restricted(raw, region):
        return None
    caps = _capabilities(raw)
    try:
        vcpus = int(caps["vCPUs"])
        memory = Decimal(caps["MemoryGB"])
    except (KeyError, ValueError, ArithmeticError):
        return None  # sizes without these capabilities cannot be rightsized to or from

    def count(name: str) -> int | None:
        return int(caps[name]) if caps.get(name, "").isdigit() else None

    return SkuSpec(
        name=str(raw.get("name")),
        family=str(raw.get("family") or ""),
        vcpus=vcpus,
        memory_gb=memory,
        max_data_disks=count("MaxDataDiskCount"),
        max_nics=count("MaxNetworkInterfaces"),
        architecture=str(caps.get("CpuArchitectureType", "x64")),
    )


def _is_hourly_consumption(item: Mapping[str, Any]) -> bool:
    names = f"{item.get('skuName', '')} {item.get('meterName', '')}"
    return (
        item.get("type") == "Consumption"
        and item.get("isPrimaryMeterRegion", True) is not False
        and "Spot" not in names
        and "Low Priority" not in names
        and str(item.get("unitOfMeasure", "1 Hour")) == "1 Hour"
    )


def prices_of(items: Sequence[Any], currency: str) -> list[SkuPrice]:
    """Retail rows → one price per (size, region, OS), with reservation term totals (Linux)."""
    hourly: dict[tuple[str, str, str], Decimal] = {}
    terms: dict[tuple[str, str], dict[int, Decimal]] = {}
    for item in items:
        if not isinstance(item, Mapping) or not item.get("armSkuName"):
            continue
        sku, region = str(item["armSkuName"]), str(item.get("armRegionName", "")).lower()
        try:
            price = decimal_from_json_number(item.get("retailPrice"))
        except ValueError:
            raise _malformed(RETAIL, f"retailPrice {item.get('retailPrice')!r} of {sku}") from None
        if item.get("type") == "Reservation":
            years = _TERMS.get(str(item.get("reservationTerm", "")).lower())
            if years is not None:
                terms.setdefault((sku, region), {})[years] = price
        elif _is_hourly_consumption(item):
            os = "Windows" if str(item.get("productName", "")).endswith(" Windows") else "Linux"
            hourly[(sku, region, os)] = price
    return [
        SkuPrice(
            sku=sku,
            region=region,
            os=os,
            currency=currency,
            hourly=price,
            reservation_1y_total=terms.get((sku, region), {}).get(1) if os == "Linux" else None,
            reservation_3y_total=terms.get((sku, region), {}).get(3) if os == "Linux" else None,
        )
        for (sku, region, os), price in sorted(hourly.items())
    ]


def retail_client(endpoint: str, *, retry_policy: Any, transport: Any = None, **kwargs: Any) -> Any:
    """An azure-core pipeline for the unauthenticated Retail Prices API."""
    pipeline = [
        policies.HeadersPolicy(**kwargs),
        policies.UserAgentPolicy(sdk_moniker="cloudoptima-retail-prices", **kwargs),
        policies.ContentDecodePolicy(),
        retry_policy,
        policies.CustomHookPolicy(**kwargs),
        policies.NetworkTraceLoggingPolicy(**kwargs),
    ]
    options = {"transport": transport} if transport is not None else {}
    return AsyncPipelineClient(base_url=endpoint, policies=pipeline, **options)


class AzurePriceSource:
    """SKUs (needs a subscription to list them in) and retail prices of regions."""

    def __init__(self, compute: ComputeManagementClient, retail: Any, endpoint: str) -> None:
        self._compute = compute
        self._retail = retail
        self._endpoint = endpoint.rstrip("/")

    async def catalog(self, regions: Sequence[str], currency: str) -> Catalog:
        skus: dict[str, SkuSpec] = {}
        prices: list[SkuPrice] = []
        for region in regions:
            for spec in await self._skus(region):
                skus.setdefault(spec.name.lower(), spec)
            prices.extend(prices_of(await self._retail_items(region, currency), currency))
        return Catalog(tuple(skus.values()), tuple(prices), None, "Azure Retail Prices")

    async def _skus(self, region: str) -> list[SkuSpec]:
        found: list[SkuSpec] = []
        try:
            async for raw in self._compute.resource_skus.list(filter=f"location eq '{region}'"):
                spec = sku_of(raw, region)
                if spec is not None:
                    found.append(spec)
        except DeserializationError:
            raise _malformed(COMPUTE, f"the Resource SKUs answer for {region}") from None
        except AzureError as exc:
            raise map_api_error(
                exc, service=COMPUTE, what="Resource SKUs list", target=region, role="Reader"
            ) from exc
        return found

    async def _retail_items(self, region: str, currency: str) -> list[Any]:
        query = (
            f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' "
            "and (priceType eq 'Consumption' or priceType eq 'Reservation')"
        )
        request = HttpRequest(
            "GET",
            f"{self._endpoint}/api/retail/prices",
            params={
                "api-version": RETAIL_API_VERSION,
                "currencyCode": f"'{currency}'",
                "$filter": query,
            },
        )
        items: list[Any] = []
        for _page in range(_MAX_PAGES):
            page = await self._get(request, region)
            found = page.get("Items")
            if not isinstance(found, list):
                raise _malformed(RETAIL, f"the prices page for {region} has no Items list")
            items.extend(found)
            following = page.get("NextPageLink")
            if not following:
                return items
            request = HttpRequest("GET", str(following))
        raise _malformed(RETAIL, f"more than {_MAX_PAGES} pages of prices for {region}")

    async def _get(self, request: HttpRequest, region: str) -> Mapping[str, Any]:
        try:
            response = await self._retail.send_request(request)
            response.raise_for_status()
            body = await response.read()
        except AzureError as exc:
            raise map_api_error(
                exc, service=RETAIL, what="retail prices query", target=region, role="(none)"
            ) from exc
        try:
            page = json.loads(body)
        except ValueError:
            raise _malformed(RETAIL, f"the prices page for {region} is not JSON") from None
        if not isinstance(page, Mapping):
            raise _malformed(RETAIL, f"the prices page for {region} is not an object")
        return page

    async def aclose(self) -> None:
        await self._compute.close()
        await self._retail.close()
