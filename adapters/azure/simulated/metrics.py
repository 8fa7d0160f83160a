"""`POST https://<region>.metrics.monitor.azure.com/subscriptions/<sub>/metrics:getBatch`,
answered from a simulated estate.

The batch is checked like the service does: at most 50 resource ids, all of the URL's
subscription, region and namespace. Each VM's hourly series follows its pattern (see
`estate`), deterministic per VM; only the aggregations asked for and applicable to a metric
appear in its points; stopped and deallocated VMs (and the `missing` pattern) have timestamps
without values. The memory metric is left out for the `no-memory` pattern.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from azure.core.rest import HttpRequest

from adapters.azure.simulated.model import EstateView, SimVm
from adapters.azure.simulated.transport import Router, SimulatedResponse, arm_error, request_json

ROUTE_NAME = "monitor.metrics_batch"
URL = (
    r"^https://(?P<region>[a-z0-9]+)\.metrics\.monitor\.azure\.com/subscriptions/(?P<sub>[^/]+)"
    r"/metrics:getBatch\?(?P<query>.*)$"
)
BATCH_LIMIT = 50
GIB = 1024**3
#: metric → (unit, aggregations it has)
_METRICS = {
    "Percentage CPU": ("Percent", {"average", "minimum", "maximum"}),
    "Available Memory Bytes": ("Bytes", {"average", "minimum", "maximum"}),
    "Network Out Total": ("Bytes", {"total", "average", "minimum", "maximum"}),
    "Network In Total": ("Bytes", {"total", "average", "minimum", "maximum"}),
}
#: pattern → (CPU max %, memory used %, network out bytes per hour) ranges
_LEVELS = {
    "idle": ((0.4, 2.4), (15, 30), (5e6, 4e7)),
    "borderline": ((2.5, 6.5), (20, 40), (5e7, 5e8)),
    "busy": ((35, 95), (50, 85), (2e9, 2e10)),
    "oversized": ((4, 17), (18, 32), (5e8, 3e9)),
    "no-memory": ((4, 17), (18, 32), (5e8, 3e9)),
}


def _series(rng: random.Random, low: float, high: float, hours: int) -> list[float]:
    span = high - low
    return [round(low + span * rng.random(), 2) for _ in range(hours)]


def vm_series(vm: SimVm, memory_gb: float, hours: int) -> dict[str, list[float] | None]:
    """A VM's hourly values per metric (None: the metric has no values)."""
    levels = _LEVELS.get(vm.pattern)
    if levels is None:  # off, missing
        return {name: None for name in _METRICS}
    rng = random.Random(vm.id.lower())
    cpu, used, network = levels
    total = memory_gb * GIB
    memory = [round(total * (1 - u / 100)) for u in _series(rng, *used, hours)]
    out = _series(rng, *network, hours)
    return {
        "Percentage CPU": _series(rng, *cpu, hours),
        "Available Memory Bytes": None if vm.pattern == "no-memory" else memory,
        "Network Out Total": out,
        "Network In Total": [v * 0.7 for v in out],
    }


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class MetricsEndpoint:
    def __init__(self, estate: EstateView) -> None:
        self.estate = estate
        self._vms: dict[str, SimVm] | None = None
        self._memory = {
            s["armSkuName"].lower(): float(s["memoryGB"]) for s in estate.catalog_document["skus"]
        }
        #: resource ids per call (tests check the batching)
        self.batches: list[list[str]] = []

    def register(self, router: Router) -> None:
        router.add("POST", URL, self.handle, name=ROUTE_NAME)

    def _vm(self, resource_id: str) -> SimVm | None:
        if self._vms is None:
            self._vms = {vm.id.lower(): vm for vm in self.estate.vms}
        return self._vms.get(resource_id.lower())

    def handle(self, request: HttpRequest, match: re.Match[str]) -> SimulatedResponse:
        params = {k.lower(): v[0] for k, v in parse_qs(match.group("query")).items()}
        body = request_json(request) or {}
        ids = [str(i) for i in body.get("resourceids") or ()]
        self.batches.append(ids)
        refusal = self._check(ids, params, match)
        if refusal is not None:
            return refusal
        start, end = _parse_time(params["starttime"]), _parse_time(params["endtime"])
        hours = int((end - start).total_seconds() // 3600)
        names = [n.strip() for n in params.get("metricnames", "").split(",") if n.strip()]
        wanted = {a.strip().lower() for a in params.get("aggregation", "average").split(",")}
        stamps = [(start + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ") for h in range(hours)]
        values = [self._value(i, names, wanted, stamps, params) for i in ids]
        return SimulatedResponse(200, {"values": values})

    def _check(
        self, ids: list[str], params: dict[str, str], match: re.Match[str]
    ) -> SimulatedResponse | None:
        if not ids or len(ids) > BATCH_LIMIT:
            return arm_error(
                400, "BadRequest", f"Between 1 and {BATCH_LIMIT} resource ids per batch."
            )
        if "starttime" not in params or "endtime" not in params:
            return arm_error(400, "BadRequest", "starttime and endtime are required.")
        for resource_id in ids:
            vm = self._vm(resource_id)
            if vm is None:
                return arm_error(400, "ResourceNotFound", f"Unknown resource {resource_id}.")
            if vm.subscription_id.lower() != match.group("sub").lower():
                return arm_error(
                    400, "BadRequest", "All resources must be in the URL's subscription."
                )
            if vm.location.lower() != match.group("region").lower():
                return arm_error(
                    400, "BadRequest", f"{vm.name} is not in region {match.group('region')}."
                )
        return None

    def _value(
        self,
        resource_id: str,
        names: list[str],
        wanted: set[str],
        stamps: list[str],
        params: dict[str, str],
    ) -> dict[str, Any]:
        vm = self._vm(resource_id)
        assert vm is not None
        series = vm_series(vm, self._memory.get(vm.size.lower(), 8.0), len(stamps))
        metrics = []
        for name in names:
            unit, applicable = _METRICS.get(name, ("Count", {"average"}))
            if name == "Available Memory Bytes" and vm.pattern == "no-memory":
                continue  # the metric does not exist for this VM
            points = series.get(name)
            keys = sorted(wanted & applicable)
            data = (
                [{"timeStamp": t} for t in stamps]
                if points is None
                else [
                    {"timeStamp": t, **dict.fromkeys(keys, v)}
                    for t, v in zip(stamps, points, strict=True)
                ]
            )
            metrics.append(
                {
                    "id": f"{vm.id}/providers/Microsoft.Insights/metrics/{name}",
                    "type": "Microsoft.Insights/metrics",
                    "name": {"value": name, "localizedValue": name},
                    "displayDescription": name,
                    "unit": unit,
                    "timeseries": [{"metadatavalues": [], "data": data}],
                    "errorCode": "Success",
                }
            )
        return {
            "cost": len(stamps) * len(metrics),
            "starttime": params["starttime"],
            "endtime": params["endtime"],
            "interval": params.get("interval", "PT1H"),
            "value": metrics,
            "namespace": params.get("metricnamespace", ""),
            "resourceregion": vm.location,
            "resourceid": vm.id,
        }
