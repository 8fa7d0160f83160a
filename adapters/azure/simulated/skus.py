"""`GET /subscriptions/<sub>/providers/Microsoft.Compute/skus?$filter=location eq '<region>'`,
from the bundled SKU snapshot, in the Resource SKUs wire format (capabilities as strings), with a
non-VM SKU and a size restricted in the region mixed in, as the real list has."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from azure.core.rest import HttpRequest

from adapters.azure.simulated.model import EstateView
from adapters.azure.simulated.transport import Router, SimulatedResponse, arm_error

ROUTE_NAME = "compute.resource_skus"
URL = (
    r"^https://management\.azure\.com/subscriptions/(?P<sub>[^/?]+)/providers/"
    r"Microsoft\.Compute/skus\?(?P<query>.*)$"
)
_LOCATION = re.compile(r"location\s+eq\s+'([^']+)'", re.IGNORECASE)


def sku_body(sku: dict[str, Any], region: str) -> dict[str, Any]:
    caps = {
        "vCPUs": sku["vCPUs"],
        "MemoryGB": sku["memoryGB"],
        "MaxDataDiskCount": sku.get("maxDataDiskCount"),
        "MaxNetworkInterfaces": sku.get("maxNetworkInterfaces"),
        "CpuArchitectureType": sku.get("cpuArchitecture", "x64"),
        "PremiumIO": "True",
    }
    return {
        "resourceType": "virtualMachines",
        "name": sku["armSkuName"],
        "tier": "Standard",
        "size": sku["armSkuName"].removeprefix("Standard_"),
        "family": sku["family"],
        "locations": [region],
        "locationInfo": [{"location": region, "zones": ["1", "2", "3"]}],
        "capabilities": [{"name": k, "value": str(v)} for k, v in caps.items() if v is not None],
        "restrictions": [],
    }


class SkusEndpoint:
    def __init__(self, estate: EstateView) -> None:
        self.estate = estate

    def register(self, router: Router) -> None:
        router.add("GET", URL, self.handle, name=ROUTE_NAME)

    def handle(self, request: HttpRequest, match: re.Match[str]) -> SimulatedResponse:
        params = {k: v[0] for k, v in parse_qs(match.group("query")).items()}
        found = _LOCATION.search(params.get("$filter", ""))
        if found is None:
            return arm_error(400, "BadRequest", "Only a location filter is supported.")
        region = found.group(1)
        skus = [sku_body(s, region) for s in self.estate.catalog_document["skus"]]
        skus.append(
            {
                "resourceType": "disks",
                "name": "Premium_LRS",
                "tier": "Premium",
                "locations": [region],
                "capabilities": [],
                "restrictions": [],
            }
        )
        restricted = sku_body(
            {
                "armSkuName": "Standard_D2s_v5_Promo",
                "family": "standardDSv5Family",
                "vCPUs": 2,
                "memoryGB": 8,
            },
            region,
        )
        restricted["restrictions"] = [
            {"type": "Location", "values": [region], "reasonCode": "NotAvailableForSubscription"}
        ]
        skus.append(restricted)
        return SimulatedResponse(200, {"value": skus, "nextLink": None})
