"""`POST /providers/Microsoft.ResourceGraph/resources`, answered from a simulated estate.

The simulator does not run KQL: it recognises the resource type the query asks for
(`type =~ '…'`) and answers the columns CloudOptima's queries project, for the subscriptions of
the request, in id order, paged with `$skipToken` / `$top` (objectArray format). Every answer
carries the quota headers (`x-ms-user-quota-remaining`, `x-ms-user-quota-resets-after`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from azure.core.rest import HttpRequest

from adapters.azure.simulated.model import EstateView
from adapters.azure.simulated.transport import Router, SimulatedResponse, arm_error, request_json

ROUTE_NAME = "resourcegraph.resources"
URL = r"^https://management\.azure\.com/providers/Microsoft\.ResourceGraph/resources(?:\?.*)?$"
_TYPE = re.compile(r"type\s*=~\s*'([^']+)'", re.IGNORECASE)
QUOTA = 15


def _common(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "resourceGroup": r.resource_group,
        "subscriptionId": r.subscription_id,
        "location": r.location,
        "tags": dict(r.tags) or None,
    }


def _vm(vm: Any) -> dict[str, Any]:
    return {
        **_common(vm),
        "size": vm.size,
        "powerState": vm.power_state,
        "osType": vm.os_type,
        "dataDisks": vm.data_disks,
        "nics": vm.nics,
    }


def _disk(d: Any) -> dict[str, Any]:
    state = "Attached" if d.managed_by else "Unattached"
    return {
        **_common(d),
        "managedBy": d.managed_by or "",
        "diskState": state,
        "sku": d.sku,
        "sizeGb": d.size_gb,
    }


def _ip(ip: Any) -> dict[str, Any]:
    return {
        **_common(ip),
        "sku": ip.sku,
        "ipConfiguration": ip.ip_configuration or "",
        "natGateway": "",
    }


def _plan(p: Any) -> dict[str, Any]:
    return {**_common(p), "sku": p.sku, "sites": p.sites}


_TABLES: dict[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "microsoft.compute/virtualmachines": ("vms", _vm),
    "microsoft.compute/disks": ("disks", _disk),
    "microsoft.network/publicipaddresses": ("public_ips", _ip),
    "microsoft.web/serverfarms": ("plans", _plan),
}


class ResourceGraphEndpoint:
    def __init__(self, estate: EstateView, *, max_page: int = 1000) -> None:
        self.estate = estate
        self.max_page = max_page
        self.bodies: list[Any] = []

    def register(self, router: Router) -> None:
        router.add("POST", URL, self.handle, name=ROUTE_NAME)

    def handle(self, request: HttpRequest, match: re.Match[str]) -> SimulatedResponse:
        try:
            body = request_json(request)
        except ValueError:
            return arm_error(400, "BadRequest", "The request body is not valid JSON.")
        self.bodies.append(body)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return arm_error(400, "BadRequest", "The request must have a query.")
        found = _TYPE.search(body["query"])
        table = _TABLES.get(found.group(1).lower()) if found else None
        if table is None:
            return arm_error(
                400,
                "InvalidQuery",
                "The simulator answers VM, disk, public IP and App Service plan queries only.",
            )
        subs = {s.lower() for s in body.get("subscriptions") or ()}
        attribute, shape = table
        rows = [shape(r) for r in getattr(self.estate, attribute) if r.subscription_id in subs]
        rows.sort(key=lambda r: r["id"].lower())
        options = body.get("options") or {}
        top = min(int(options.get("$top") or self.max_page), self.max_page)
        token = options.get("$skipToken")
        start = int(base64.b64decode(token).decode()) if token else 0
        page = rows[start : start + top]
        answer: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(page),
            "resultTruncated": "false",
            "data": page,
            "facets": [],
        }
        if start + top < len(rows):
            answer["$skipToken"] = base64.b64encode(str(start + top).encode()).decode()
        headers = {
            "x-ms-user-quota-remaining": str(QUOTA),
            "x-ms-user-quota-resets-after": "00:00:05",
        }
        return SimulatedResponse(200, answer, headers)
