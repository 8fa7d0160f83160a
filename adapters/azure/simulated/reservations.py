"""`GET /providers/Microsoft.Capacity/reservations` (list all), from a simulated estate, with
the utilization aggregates and the envelope's summary the SDK drops."""

from __future__ import annotations

import re
from typing import Any

from azure.core.rest import HttpRequest

from adapters.azure.simulated.model import EstateView, SimReservation
from adapters.azure.simulated.transport import Router, SimulatedResponse

ROUTE_NAME = "reservations.list_all"
URL = r"^https://management\.azure\.com/providers/Microsoft\.Capacity/reservations(?:\?.*)?$"


def reservation_body(r: SimReservation, today: str) -> dict[str, Any]:
    return {
        "id": f"/providers/Microsoft.Capacity/reservationOrders/{r.order_id}"
        f"/reservations/{r.reservation_id}",
        "name": f"{r.order_id}/{r.reservation_id}",
        "type": "Microsoft.Capacity/reservationOrders/reservations",
        "location": r.location,
        "etag": 3,
        "sku": {"name": r.sku},
        "properties": {
            "reservedResourceType": "VirtualMachines",
            "instanceFlexibility": "On",
            "displayName": f"VM_RI_{r.sku}",
            "appliedScopeType": "Shared",
            "quantity": r.quantity,
            "provisioningState": "Succeeded",
            "displayProvisioningState": "Succeeded",
            "term": r.term,
            "billingPlan": "Upfront",
            "renew": False,
            "purchaseDate": today,
            "utilization": {
                "trend": r.trend,
                "aggregates": [
                    {
                        "grain": float(grain),
                        "grainUnit": "days",
                        "value": value,
                        "valueUnit": "percentage",
                    }
                    for grain, value in sorted(r.utilization.items())
                ],
            },
        },
    }


class ReservationsEndpoint:
    def __init__(self, estate: EstateView) -> None:
        self.estate = estate

    def register(self, router: Router) -> None:
        router.add("GET", URL, self.handle, name=ROUTE_NAME)

    def handle(self, request: HttpRequest, match: re.Match[str]) -> SimulatedResponse:
        today = self.estate.today.isoformat()
        values = [reservation_body(r, today) for r in self.estate.reservations]
        summary = {"succeededCount": float(len(values)), "failedCount": 0.0}
        return SimulatedResponse(200, {"value": values, "summary": summary, "nextLink": None})
