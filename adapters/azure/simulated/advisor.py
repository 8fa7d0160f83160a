"""`GET /subscriptions/<sub>/providers/Microsoft.Advisor/recommendations`, from a simulated
estate, in Advisor's wire format (amounts as strings), paged with `nextLink` / `$skiptoken`.

Only `Category eq 'Cost'` is simulated (other filters are refused). Suppressed items are served
with their `suppressionIds`, as Advisor does: leaving them out is the client's job.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from azure.core.rest import HttpRequest

from adapters.azure.simulated.model import EstateView
from adapters.azure.simulated.transport import (
    ARM,
    Router,
    SimulatedResponse,
    arm_error,
    request_json,
)

ROUTE_NAME = "advisor.recommendations"
API_VERSION = "2020-01-01"
URL = (
    r"^https://management\.azure\.com/subscriptions/(?P<sub>[^/?]+)/providers/"
    r"Microsoft\.Advisor/recommendations\?(?P<query>.*)$"
)


class AdvisorEndpoint:
    def __init__(self, estate: EstateView, *, page_size: int = 25) -> None:
        self.estate = estate
        self.page_size = page_size

    def register(self, router: Router) -> None:
        router.add("GET", URL, self.handle, name=ROUTE_NAME)

    def handle(self, request: HttpRequest, match: re.Match[str]) -> SimulatedResponse:
        params = {k: v[0] for k, v in parse_qs(match.group("query")).items()}
        wanted = params.get("$filter", "")
        if wanted.replace(" ", "").lower() != "category eq 'cost'".replace(" ", ""):
            return arm_error(
                400,
                "BadRequest",
                f"The simulator filters by Category eq 'Cost' only, not {wanted!r}.",
            )
        sub = match.group("sub")
        items = self.estate.advisor_items(sub)
        token = params.get("$skiptoken")
        start = int(base64.b64decode(token).decode()) if token else 0
        page = items[start : start + self.page_size]
        next_link = None
        if start + self.page_size < len(items):
            raw = quote(base64.b64encode(str(start + self.page_size).encode()).decode(), safe="")
            next_link = (
                f"{ARM}/subscriptions/{sub}/providers/Microsoft.Advisor/recommendations"
                f"?api-version={API_VERSION}&$filter=Category%20eq%20%27Cost%27&$skiptoken={raw}"
            )
        return SimulatedResponse(200, {"value": page, "nextLink": next_link})


# -- suppressions (snooze / dismiss) -------------------------------------------------------------

SUPPRESSIONS_ROUTE = "advisor.suppressions"
SUPPRESSION_URL = (
    r"^https://management\.azure\.com/(?P<uri>.+?)/providers/Microsoft\.Advisor/"
    r"recommendations/(?P<rec>[^/?]+)/suppressions/(?P<name>[^/?]+)\?(?P<query>.*)$"
)
#: TimeSpan forms Advisor accepts: `dd.hh:mm:ss`, `dd:hh:mm:ss` (the SDK sample), `hh:mm:ss`.
_TTL = re.compile(r"^(?:(?P<d>\d{1,2})[.:])?(?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})$")


@dataclass
class Suppression:
    name: str
    recommendation_id: str
    resource_id: str
    suppression_id: str
    #: None: for good (a dismissal).
    ttl: str | None
    expires: datetime | None
    body: Any = None


class SuppressionsEndpoint:
    """`PUT/GET/DELETE {resourceUri}/providers/Microsoft.Advisor/recommendations/{id}/
    suppressions/{name}`: the resource URI arrives percent-encoded (as the Python SDK sends it),
    the TTL is validated, and the suppressed item is listed with its `suppressionIds` after."""

    def __init__(self, estate: EstateView, now: Callable[[], datetime]) -> None:
        self.estate = estate
        self.now = now
        self.created: dict[tuple[str, str], Suppression] = {}

    def register(self, router: Router) -> None:
        for method in ("PUT", "GET", "DELETE"):
            router.add(method, SUPPRESSION_URL, self.handle, name=SUPPRESSIONS_ROUTE)

    def _item(self, rec_id: str, resource_id: str) -> dict[str, Any] | None:
        sub = resource_id.strip("/").split("/")[1] if "/" in resource_id.strip("/") else ""
        for item in self.estate.advisor_items(sub):
            if str(item["name"]).lower() == rec_id.lower():
                found = str(item["properties"]["resourceMetadata"]["resourceId"])
                return item if found.lower() == resource_id.lower().rstrip("/") else None
        return None

    def handle(self, request: HttpRequest, match: re.Match[str]) -> SimulatedResponse:
        resource_id = unquote(match.group("uri"))
        if not resource_id.startswith("/"):
            resource_id = "/" + resource_id
        rec_id, name = match.group("rec"), match.group("name")
        item = self._item(rec_id, resource_id)
        if item is None:
            return arm_error(
                404, "ResourceNotFound", f"No recommendation {rec_id} on {resource_id}."
            )
        key = (rec_id.lower(), name)
        if request.method == "GET":
            found = self.created.get(key)
            return (
                SimulatedResponse(200, _contract(found))
                if found
                else arm_error(404, "NotFound", name)
            )
        if request.method == "DELETE":
            found = self.created.pop(key, None)
            if found is not None:
                ids = [
                    i
                    for i in item["properties"].get("suppressionIds") or []
                    if i != found.suppression_id
                ]
                item["properties"]["suppressionIds"] = ids or None
            return SimulatedResponse(204)
        body = request_json(request) or {}
        ttl = (body.get("properties") or {}).get("ttl")
        expires = None
        if ttl not in (None, "", "-1"):
            parsed = _TTL.match(str(ttl))
            if parsed is None:
                return arm_error(400, "InvalidTtl", f"'{ttl}' is not a TimeSpan (dd.hh:mm:ss).")
            span = timedelta(
                days=int(parsed.group("d") or 0),
                hours=int(parsed.group("h")),
                minutes=int(parsed.group("m")),
                seconds=int(parsed.group("s")),
            )
            if span > timedelta(days=90) or span <= timedelta(0):
                return arm_error(400, "InvalidTtl", "A suppression lasts at most 90 days.")
            expires = self.now() + span
        suppression_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rec_id}/{name}"))
        found = Suppression(name, rec_id, resource_id, suppression_id, ttl or None, expires, body)
        self.created[key] = found
        ids = list(item["properties"].get("suppressionIds") or [])
        if suppression_id not in ids:
            item["properties"]["suppressionIds"] = [*ids, suppression_id]
        return SimulatedResponse(200, _contract(found))

    def suppress_in_portal(self, rec_id: str, resource_id: str, ttl: str | None = None) -> None:
        """What a person does in the portal (the same state as a PUT)."""
        item = self._item(rec_id, resource_id)
        assert item is not None, (rec_id, resource_id)
        suppression_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rec_id}/portal"))
        item["properties"]["suppressionIds"] = [suppression_id]


def _contract(s: Suppression) -> dict[str, Any]:
    return {
        "id": f"{s.resource_id}/providers/Microsoft.Advisor/recommendations/"
        f"{s.recommendation_id}/suppressions/{s.name}",
        "name": s.name,
        "type": "Microsoft.Advisor/suppressions",
        "properties": {
            "suppressionId": s.suppression_id,
            **({"ttl": s.ttl} if s.ttl else {}),
            **(
                {"expirationTimeStamp": s.expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
                if s.expires
                else {}
            ),
        },
    }
