"""`ReservationSource` over the Reservations API (`ReservationsMgmtClient.reservation.list_all`):
every reservation the identity can see, with its utilization aggregates (1, 7, 30 days)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from azure.core.exceptions import AzureError, DeserializationError
from azure.mgmt.reservations.aio import ReservationsMgmtClient

from adapters.azure.errors import map_api_error
from core.kernel.errors import MalformedResponseError
from core.kernel.money import decimal_from_json_number
from core.recommendations.ports import ReservationUsage

RESERVATIONS = "Azure Reservations"


def _malformed(what: str) -> MalformedResponseError:
    return MalformedResponseError(
        f"{what} (reservations list).",
        service=RESERVATIONS,
        code="malformed_response",
        hint="Nothing of this refresh was stored. Report it if it persists.",
    )


def _number(value: Any, what: str) -> Decimal:
    try:
        return decimal_from_json_number(value)
    except ValueError:
        raise _malformed(f"{what} holds {value!r} where a number was expected") from None


def _expiry(props: Mapping[str, Any]) -> date | None:
    raw = props.get("expiryDate") or props.get("expiryDateTime")
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")[:19]).date()
    except ValueError:
        return None


def parse_reservation(raw: Any) -> ReservationUsage | None:
    """One reservation (None unless it is active: provisioning succeeded)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
        raise _malformed("a reservation has no id")
    props = raw.get("properties") or {}
    if str(props.get("provisioningState", "Succeeded")).lower() != "succeeded":
        return None
    usage = props.get("utilization") or {}
    aggregates: dict[int, Decimal] = {}
    for aggregate in usage.get("aggregates") or ():
        if str(aggregate.get("grainUnit", "days")).lower() != "days":
            continue
        grain = int(_number(aggregate.get("grain"), "utilization grain"))
        aggregates[grain] = _number(aggregate.get("value"), "utilization value")
    sku = (raw.get("sku") or {}).get("name")
    return ReservationUsage(
        reservation_id=raw["id"].lower(),
        name=str(props.get("displayName") or raw.get("name") or raw["id"]),
        sku=str(sku or ""),
        location=str(raw.get("location") or "").lower(),
        quantity=_number(props.get("quantity", 1), "quantity"),
        term=str(props.get("term") or ""),
        applied_scope_type=str(props.get("appliedScopeType") or ""),
        utilization=aggregates,
        trend=str(usage.get("trend") or ""),
        expiry=_expiry(props),
    )


class AzureReservationSource:
    def __init__(self, client: ReservationsMgmtClient) -> None:
        self._client = client

    async def reservations(self) -> list[ReservationUsage]:
        found: list[ReservationUsage] = []
        try:
            async for raw in self._client.reservation.list_all():
                parsed = parse_reservation(raw)
                if parsed is not None:
                    found.append(parsed)
        except DeserializationError:
            raise _malformed("the answer does not have the expected shape") from None
        except AzureError as exc:
            raise map_api_error(
                exc,
                service=RESERVATIONS,
                what="reservations list",
                target="/providers/Microsoft.Capacity",
                role="Reservations Reader",
            ) from exc
        return found

    async def aclose(self) -> None:
        await self._client.close()
