"""`GET https://prices.azure.com/api/retail/prices` (unauthenticated), from the bundled price
snapshot, in the Retail Prices wire format: Linux and Windows Consumption rows (Windows by the
" Windows" suffix of productName), Spot and DevTest rows to be filtered out, Reservation rows
with whole-term prices (`unitOfMeasure` still "1 Hour"), paged with `NextPageLink` / `$skip`."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

from azure.core.rest import HttpRequest

from adapters.azure.simulated.model import EstateView
from adapters.azure.simulated.transport import Router, SimulatedResponse

ROUTE_NAME = "retail.prices"
PRICES = "https://prices.azure.com"
URL = r"^https://prices\.azure\.com(?::443)?/api/retail/prices\?(?P<query>.*)$"
_REGION = re.compile(r"armRegionName\s+eq\s+'([^']+)'", re.IGNORECASE)


def _row(sku: str, region: str, price: float, currency: str, **extra: Any) -> dict[str, Any]:
    short = sku.removeprefix("Standard_").replace("_", " ")
    return {
        "currencyCode": currency,
        "tierMinimumUnits": 0.0,
        "retailPrice": price,
        "unitPrice": price,
        "armRegionName": region,
        "location": region,
        "effectiveStartDate": "2026-01-01T00:00:00Z",
        "meterName": short,
        "productName": "Virtual Machines Series",
        "skuName": short,
        "serviceName": "Virtual Machines",
        "serviceFamily": "Compute",
        "unitOfMeasure": "1 Hour",
        "type": "Consumption",
        "isPrimaryMeterRegion": True,
        "armSkuName": sku,
        **extra,
    }


def rows_for(document: dict[str, Any], region: str) -> list[dict[str, Any]]:
    currency = document["currency"]
    rows: list[dict[str, Any]] = []
    for p in document["prices"]:
        if p["armRegionName"] != region:
            continue
        sku, price = p["armSkuName"], p["unitPrice"]
        windows = p["os"] == "Windows"
        product = "Virtual Machines Series Windows" if windows else "Virtual Machines Series"
        rows.append(_row(sku, region, price, currency, productName=product))
        if windows:
            continue
        short = sku.removeprefix("Standard_").replace("_", " ")
        rows.append(
            _row(
                sku,
                region,
                round(price * 0.12, 5),
                currency,
                skuName=f"{short} Spot",
                meterName=f"{short} Spot",
            )
        )
        rows.append(_row(sku, region, round(price * 0.6, 5), currency, type="DevTestConsumption"))
        for term, key in (("1 Year", "reservation1YTotal"), ("3 Years", "reservation3YTotal")):
            if p.get(key) is not None:
                rows.append(
                    _row(sku, region, p[key], currency, type="Reservation", reservationTerm=term)
                )
    return rows


class PricesEndpoint:
    def __init__(self, estate: EstateView, *, page_size: int = 100) -> None:
        self.estate = estate
        self.page_size = page_size

    def register(self, router: Router) -> None:
        router.add("GET", URL, self.handle, name=ROUTE_NAME, authenticated=False)

    def handle(self, request: HttpRequest, match: re.Match[str]) -> SimulatedResponse:
        query = match.group("query")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        found = _REGION.search(params.get("$filter", ""))
        document = dict(self.estate.catalog_document)
        rows = rows_for(document, found.group(1)) if found else []
        start = int(params.get("$skip", "0"))
        page = rows[start : start + self.page_size]
        following = None
        if start + self.page_size < len(rows):
            kept = "&".join(p for p in query.split("&") if not p.startswith("$skip="))
            following = f"{PRICES}:443/api/retail/prices?{kept}&$skip={start + self.page_size}"
        body = {
            "BillingCurrency": document["currency"],
            "CustomerEntityId": "Default",
            "CustomerEntityType": "Retail",
            "Items": page,
            "NextPageLink": following,
            "Count": len(page),
        }
        return SimulatedResponse(200, body)
