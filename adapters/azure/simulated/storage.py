"""A simulated Azure Storage account holding Cost Management export runs, served to the real
`azure-storage-blob` client through the tenant's transport.

Two operations, as the Blob service REST API answers them: List Blobs
(`GET https://<account>.blob.core.windows.net/<container>?restype=container&comp=list`, XML,
`prefix` and `marker` paging) and Get Blob (ranged: the SDK reads the first chunk with
`x-ms-range` and the rest in further ranges; 206 with `Content-Range`).

Export runs are laid out as Cost Management writes them: `<root>/<export>/<YYYYMMDD-YYYYMMDD>/
<run id>/manifest.json` beside gzip-compressed CSV partitions (FOCUS 1.0 here, both cost types
in one file), built from the tenant's own rows, so an import agrees with the Query API.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from azure.core.rest import HttpRequest

from adapters.azure.simulated.transport import Router, SimulatedResponse
from core.costs.model import CostType

DEMO_ACCOUNT = "cloudoptimademo"
DEMO_CONTAINER = "exports"
EXPORT_ROOT = "cost-exports"
LIST_ROUTE = "storage-list-blobs"
GET_ROUTE = "storage-get-blob"
PAGE_SIZE = 5000

FOCUS_COLUMNS = (
    "BilledCost", "BillingAccountId", "BillingCurrency", "ChargeCategory", "ChargePeriodStart",
    "ChargePeriodEnd", "CommitmentDiscountStatus", "CommitmentDiscountType", "ConsumedQuantity",
    "EffectiveCost", "RegionName", "ResourceId", "ServiceName", "SubAccountId", "SubAccountName",
    "Tags", "x_BilledCostInUsd", "x_EffectiveCostInUsd", "x_ResourceGroupName",
    "x_SkuMeterCategory",
)  # fmt: skip


@dataclass
class Blob:
    data: bytes
    modified: datetime

    @property
    def etag(self) -> str:
        return '"0x' + hashlib.sha1(self.data, usedforsecurity=False).hexdigest()[:16] + '"'


@dataclass
class StorageAccounts:
    """Blobs by (account, container, name)."""

    blobs: dict[tuple[str, str, str], Blob] = field(default_factory=dict)

    def put(self, account: str, container: str, name: str, data: bytes, when: datetime) -> None:
        self.blobs[account, container, name] = Blob(data, when)

    def register(self, router: Router) -> None:
        host = r"^https://(?P<account>[a-z0-9]{3,24})\.blob\.core\.windows\.net"
        router.add("GET", host + r"/(?P<container>[^/?]+)/?\?(?=.*comp=list)",
                   self._list, name=LIST_ROUTE)  # fmt: skip
        router.add("GET", host + r"/(?P<container>[^/?]+)/(?P<blob>[^?]+)", self._get,
                   name=GET_ROUTE)  # fmt: skip

    def _list(self, request: HttpRequest, match: re.Match[str]) -> SimulatedResponse:
        account, container = match["account"], match["container"]
        query = parse_qs(urlsplit(request.url).query)
        prefix = query.get("prefix", [""])[0]
        marker = query.get("marker", [""])[0]
        names = sorted(
            n for (a, c, n) in self.blobs if a == account and c == container
            and n.startswith(prefix) and n > marker
        )  # fmt: skip
        if not any(a == account and c == container for (a, c, _n) in self.blobs):
            return _storage_error(
                404, "ContainerNotFound", "The specified container does not exist."
            )
        page, rest = names[:PAGE_SIZE], names[PAGE_SIZE:]
        items = "".join(self._item(account, container, name) for name in page)
        next_marker = escape(page[-1]) if rest else ""
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<EnumerationResults ServiceEndpoint="https://{account}.blob.core.windows.net/" '
            f'ContainerName="{escape(container)}"><Prefix>{escape(prefix)}</Prefix>'
            f"<Blobs>{items}</Blobs><NextMarker>{next_marker}</NextMarker></EnumerationResults>"
        )
        return SimulatedResponse(200, body.encode(), _headers("application/xml"))

    def _item(self, account: str, container: str, name: str) -> str:
        blob = self.blobs[account, container, name]
        return (
            f"<Blob><Name>{escape(name)}</Name><Properties>"
            f"<Last-Modified>{format_datetime(blob.modified, usegmt=True)}</Last-Modified>"
            f"<Etag>{blob.etag}</Etag><Content-Length>{len(blob.data)}</Content-Length>"
            "<Content-Type>application/octet-stream</Content-Type><BlobType>BlockBlob</BlobType>"
            "</Properties></Blob>"
        )

    def _get(self, request: HttpRequest, match: re.Match[str]) -> SimulatedResponse:
        key = (match["account"], match["container"], unquote(match["blob"]))
        blob = self.blobs.get(key)
        if blob is None:
            return _storage_error(404, "BlobNotFound", "The specified blob does not exist.")
        data, total = blob.data, len(blob.data)
        headers = {
            **_headers("application/octet-stream"),
            "ETag": blob.etag,
            "Last-Modified": format_datetime(blob.modified, usegmt=True),
            "x-ms-blob-type": "BlockBlob",
            "Accept-Ranges": "bytes",
        }
        wanted = request.headers.get("x-ms-range") or request.headers.get("Range")
        if not wanted:
            return SimulatedResponse(200, data, headers)
        found = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted.strip())
        if found is None or (total and int(found[1]) >= total):
            return _storage_error(416, "InvalidRange", "The range specified is invalid.")
        start = int(found[1])
        end = min(int(found[2]) if found[2] else total - 1, total - 1)
        headers["Content-Range"] = f"bytes {start}-{end}/{total}"
        return SimulatedResponse(206, data[start : end + 1], headers)


def _headers(content_type: str) -> dict[str, str]:
    return {"Content-Type": content_type, "x-ms-version": "2025-01-05",
            "x-ms-request-id": "00000000-0000-0000-0000-000000000000"}  # fmt: skip


def _storage_error(status: int, code: str, message: str) -> SimulatedResponse:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return SimulatedResponse(
        status, body.encode(), {**_headers("application/xml"), "x-ms-error-code": code}
    )


# -- export runs from the tenant's rows ---------------------------------------------------------


def focus_lines(tenant: Any, start: date, end: date) -> Iterable[list[str]]:
    """The tenant's rows start..end as FOCUS lines (billed and effective cost side by side)."""
    amortized: dict[tuple[date, int], str] = {
        (r.day, r.line.index): str(r.cost) for r in tenant.rows(CostType.AMORTIZED, start, end)
    }
    for r in tenant.rows(CostType.ACTUAL, start, end):
        line = r.line
        effective = amortized.pop((r.day, line.index), "0")
        yield _focus_line(r.day, line, str(r.cost), effective, str(r.cost_usd), str(r.quantity))
    lines = tenant.lines
    for (day, index), effective in amortized.items():  # amortized only (spread purchases)
        line = lines[index]
        yield _focus_line(day, line, "0", effective, "", "0")


def _focus_line(day: date, line, billed: str, effective: str, usd: str, qty: str) -> list[str]:  # type: ignore[no-untyped-def]
    values = {
        "BilledCost": billed,
        "BillingAccountId": "/providers/Microsoft.Billing/billingAccounts/12345678",
        "BillingCurrency": "EUR",
        "ChargeCategory": line.charge_type,
        "ChargePeriodStart": f"{day.isoformat()}T00:00:00Z",
        "ChargePeriodEnd": f"{day.isoformat()}T23:59:59Z",
        "CommitmentDiscountStatus": "",
        "CommitmentDiscountType": "",
        "ConsumedQuantity": qty,
        "EffectiveCost": effective,
        "RegionName": line.location,
        "ResourceId": line.resource_id,
        "ServiceName": line.service_name,
        "SubAccountId": f"/subscriptions/{line.subscription.id.upper()}",
        "SubAccountName": line.subscription.name,
        "Tags": json.dumps(dict(line.tags)) if line.tags else "",
        "x_BilledCostInUsd": usd,
        "x_EffectiveCostInUsd": "",
        "x_ResourceGroupName": line.resource_group,
        "x_SkuMeterCategory": line.meter_category,
    }
    return [values[c] for c in FOCUS_COLUMNS]


def export_run(
    tenant: Any,
    accounts: StorageAccounts,
    *,
    export: str,
    run_id: str,
    start: date,
    end: date,
    submitted: datetime,
    partitions: int = 2,
    account: str = DEMO_ACCOUNT,
    container: str = DEMO_CONTAINER,
) -> str:
    """Write one FOCUS export run (partitions + manifest); the manifest's blob name."""
    folder = f"{EXPORT_ROOT}/{export}/{start:%Y%m%d}-{end:%Y%m%d}/{run_id}"
    lines = list(focus_lines(tenant, start, end))
    size = max(1, -(-len(lines) // partitions))
    blobs = []
    for part in range(partitions):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(FOCUS_COLUMNS)
        chunk = lines[part * size : (part + 1) * size]
        writer.writerows(chunk)
        name = f"{folder}/part_0_{part + 1:04d}.csv.gz"
        data = gzip.compress(out.getvalue().encode(), mtime=0)
        accounts.put(account, container, name, data, submitted)
        blobs.append({"blobName": name, "byteCount": len(data), "dataRowCount": len(chunk)})
    manifest = {
        "manifestVersion": "2024-04-01",
        "byteCount": sum(b["byteCount"] for b in blobs),
        "blobCount": len(blobs),
        "dataRowCount": len(lines),
        "exportConfig": {
            "exportName": export,
            "resourceId": "/providers/Microsoft.Billing/billingAccounts/12345678/providers/"
            f"Microsoft.CostManagement/exports/{export}",
            "dataVersion": "1.0",
            "type": "FocusCost",
            "timeFrame": "MonthToDate",
            "granularity": "Daily",
        },
        "deliveryConfig": {
            "partitionData": True,
            "fileFormat": "Csv",
            "compressionMode": "gzip",
            "rootFolderPath": EXPORT_ROOT,
        },
        "runInfo": {
            "executionType": "Scheduled",
            "submittedTime": submitted.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "runId": run_id,
            "startDate": f"{start.isoformat()}T00:00:00",
            "endDate": f"{end.isoformat()}T00:00:00",
        },
        "blobs": blobs,
    }
    name = f"{folder}/manifest.json"
    accounts.put(account, container, name, json.dumps(manifest).encode(), submitted)
    return name
