"""`GET /subscriptions/<sub>/providers/Microsoft.Advisor/recommendations`, from a simulated
estate, in Advisor's wire format (amounts as strings), paged with `nextLink` / `$skiptoken`.

Only `Category eq 'Cost'` is simulated (other filters are refused). Suppressed items are served
with their `suppressionIds`, as Advisor does: leaving them out is the client's job.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, quote

from azure.core.rest import HttpRequest

from adapters.azure.simulated.model import EstateView
from adapters.azure.simulated.transport import ARM, Router, SimulatedResponse, arm_error

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
