"""The SKU and price catalog the rules read: capabilities by size, hourly prices by size,
region and OS, reservation term prices. Fetched from Azure (cached in the database with the
fetch date) or loaded from the bundled snapshot."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from importlib import resources
from typing import Any

from core.recommendations.ports import Catalog, SkuPrice, SkuSpec

BUNDLED_SNAPSHOT = "vm_catalog.json"


@dataclass(slots=True)
class PriceTable:
    """Lookups over one catalog (names and regions compared case-insensitively)."""

    catalog: Catalog
    _skus: dict[str, SkuSpec] = field(default_factory=dict)
    _prices: dict[tuple[str, str, str], SkuPrice] = field(default_factory=dict)
    _families: dict[str, list[SkuSpec]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for spec in self.catalog.skus:
            self._skus[spec.name.lower()] = spec
        for spec in self._skus.values():
            self._families.setdefault(spec.family.lower(), []).append(spec)
        for price in self.catalog.prices:
            key = (price.sku.lower(), price.region.lower(), price.os.lower())
            self._prices[key] = price

    def sku(self, name: str) -> SkuSpec | None:
        return self._skus.get(name.lower())

    def price(self, sku: str, region: str, os: str) -> SkuPrice | None:
        return self._prices.get((sku.lower(), region.lower(), (os or "Linux").lower()))

    def family(self, family: str) -> list[SkuSpec]:
        """Every size of a family, fewest vCPUs first."""
        return sorted(self._families.get(family.lower(), []), key=lambda s: (s.vcpus, s.name))

    @property
    def regions(self) -> set[str]:
        return {p.region.lower() for p in self.catalog.prices}


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def catalog_from_document(document: dict[str, Any], *, source: str) -> Catalog:
    """A catalog from the snapshot format (`schemaVersion` 1: `skus`, `prices`, `currency`)."""
    if document.get("schemaVersion") != 1:
        raise ValueError(f"unknown catalog schema {document.get('schemaVersion')!r}")
    currency = str(document["currency"])
    skus = tuple(
        SkuSpec(
            name=s["armSkuName"],
            family=s["family"],
            vcpus=int(s["vCPUs"]),
            memory_gb=Decimal(str(s["memoryGB"])),
            max_data_disks=s.get("maxDataDiskCount"),
            max_nics=s.get("maxNetworkInterfaces"),
            architecture=s.get("cpuArchitecture", "x64"),
        )
        for s in document["skus"]
    )
    prices = tuple(
        SkuPrice(
            sku=p["armSkuName"],
            region=p["armRegionName"],
            os=p["os"],
            currency=currency,
            hourly=Decimal(str(p["unitPrice"])),
            reservation_1y_total=_decimal(p.get("reservation1YTotal")),
            reservation_3y_total=_decimal(p.get("reservation3YTotal")),
        )
        for p in document["prices"]
        if p.get("priceType", "Consumption") == "Consumption"
    )
    generated = document.get("generatedAt")
    fetched = datetime.fromisoformat(generated.replace("Z", "+00:00")) if generated else None
    return Catalog(skus, prices, fetched, source)


def bundled_document() -> dict[str, Any]:
    text = resources.files("core.recommendations").joinpath(BUNDLED_SNAPSHOT).read_text()
    document: dict[str, Any] = json.loads(text)
    return document


def bundled_catalog() -> Catalog:
    """The snapshot shipped with CloudOptima (demo and offline use)."""
    return catalog_from_document(bundled_document(), source="bundled snapshot")
