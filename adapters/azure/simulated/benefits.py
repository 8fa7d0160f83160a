"""`GET /<scope>/providers/Microsoft.CostManagement/benefitRecommendations`, from a simulated
estate: one Shared savings plan recommendation for the term and look-back the filter asks for
(defaults as documented: Last60Days, P3Y), amounts over the look-back's `totalHours`."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from azure.core.rest import HttpRequest

from adapters.azure.simulated.model import EstateView
from adapters.azure.simulated.transport import Router, SimulatedResponse

ROUTE_NAME = "costmanagement.benefit_recommendations"
URL = (
    r"^https://management\.azure\.com/(?P<scope>subscriptions/[^/?]+)/providers/"
    r"Microsoft\.CostManagement/benefitRecommendations\?(?P<query>.*)$"
)
_CLAUSE = re.compile(r"properties/(\w+)\s+eq\s+'([^']*)'", re.IGNORECASE)


class BenefitsEndpoint:
    def __init__(self, estate: EstateView) -> None:
        self.estate = estate
        self.filters: list[str] = []

    def register(self, router: Router) -> None:
        router.add("GET", URL, self.handle, name=ROUTE_NAME)

    def handle(self, request: HttpRequest, match: re.Match[str]) -> SimulatedResponse:
        params = {k: v[0] for k, v in parse_qs(match.group("query")).items()}
        wanted = params.get("$filter", "")
        self.filters.append(wanted)
        clauses = {k.lower(): v for k, v in _CLAUSE.findall(wanted)}
        found = self.estate.savings_plan(
            "/" + match.group("scope"),
            clauses.get("term", "P3Y"),
            clauses.get("lookbackperiod", "Last60Days"),
        )
        return SimulatedResponse(200, {"value": [found] if found else [], "nextLink": None})
