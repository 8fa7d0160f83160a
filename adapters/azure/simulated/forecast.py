"""`POST {scope}/providers/Microsoft.CostManagement/forecast`, answered from a simulated tenant.

The body is validated like the service does (the parts the simulation knows): cost type, a
Custom time period whose `to` is not in the past, daily granularity, Sum aggregations of the
cost, no grouping, and `includeFreshPartialCost` only with `includeActualCost`.

The forecast is the tenant's own, not CloudOptima's: each day is the *median* of the same
weekday over the scope's last 28 complete days (so a one-day anomaly does not carry forward),
grown by the tenant's daily growth rate from the middle of those 28 days. Like Azure, a scope
with fewer than 28 days of cost history gets no forecast: the columns and no rows. With
`includeActualCost` the answer also carries the actual daily costs of the days asked for up to
yesterday ("Actual" rows; today's partial costs with `includeFreshPartialCost`).
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from azure.core.rest import HttpRequest

from adapters.azure.simulated.cost_query import SUCCESS_HEADERS, scope_refusal
from adapters.azure.simulated.model import TenantView
from adapters.azure.simulated.transport import Router, SimulatedResponse, arm_error, request_json
from core.costs.model import CostType

ROUTE_NAME = "costmanagement.forecast"
FORECAST_URL = (
    r"^https://management\.azure\.com/(?P<scope>subscriptions/(?P<sub>[^/?]+)"
    r"(?:/resourceGroups/(?P<rg>[^/?]+))?)/providers/Microsoft\.CostManagement/forecast"
    r"(?:\?(?P<query>.*))?$"
)
#: Days of cost history a scope needs before Azure forecasts it.
MIN_HISTORY_DAYS = 28
_COST_TYPES = {
    "actualcost": CostType.ACTUAL,
    "usage": CostType.ACTUAL,
    "amortizedcost": CostType.AMORTIZED,
}
_COST_COLUMNS = frozenset({"cost", "pretaxcost"})


class ForecastError(Exception):
    """A body Azure would reject (HTTP 400 with this message)."""


@dataclass(frozen=True)
class _Forecast:
    cost_type: CostType
    start: date
    end: date
    aliases: tuple[str, ...]
    include_actual: bool
    include_partial: bool


def _day(value: object, field: str) -> date:
    if not isinstance(value, str):
        raise ForecastError(f"timePeriod.{field} is required")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        raise ForecastError(f"timePeriod.{field} '{value}' is not a date") from None


def parse_forecast(body: object, today: date) -> _Forecast:
    """Validate a forecast body; raises `ForecastError` with the service's kind of message."""
    if not isinstance(body, Mapping):
        raise ForecastError("The request body must be a JSON object")
    cost_type = _COST_TYPES.get(str(body.get("type") or "").lower())
    if cost_type is None:
        raise ForecastError(f"Invalid forecast type '{body.get('type')}'")
    start, end = _forecast_period(body, today)
    dataset = body.get("dataset")
    if not isinstance(dataset, Mapping):
        raise ForecastError("dataset is required")
    aliases = _forecast_aggregations(dataset)
    include_actual = body.get("includeActualCost", False) is True
    include_partial = body.get("includeFreshPartialCost", False) is True
    if include_partial and not include_actual:
        raise ForecastError("includeFreshPartialCost requires includeActualCost")
    return _Forecast(cost_type, start, end, aliases, include_actual, include_partial)


def _forecast_period(body: Mapping[str, Any], today: date) -> tuple[date, date]:
    if str(body.get("timeframe") or "").lower() != "custom":
        raise ForecastError(f"Invalid timeframe '{body.get('timeframe')}': only Custom is allowed")
    period = body.get("timePeriod")
    if not isinstance(period, Mapping):
        raise ForecastError("timePeriod is required for a Custom timeframe")
    start, end = _day(period.get("from"), "from"), _day(period.get("to"), "to")
    if end < start:
        raise ForecastError("timePeriod.to is before timePeriod.from")
    if end < today:
        raise ForecastError("timePeriod.to must be in the future")
    if (end - start).days > 366:
        raise ForecastError("The time period must not exceed one year")
    return start, end


def _forecast_aggregations(dataset: Mapping[str, Any]) -> tuple[str, ...]:
    """The aliases of the dataset's aggregations, after checking what is simulated."""
    if str(dataset.get("granularity") or "").lower() != "daily":
        raise ForecastError(
            f"Granularity '{dataset.get('granularity')}' is not simulated (only Daily is)"
        )
    if dataset.get("grouping"):
        raise ForecastError("Forecast does not support grouping")
    if dataset.get("filter") is not None:
        raise ForecastError("Forecast filters are not simulated")
    aggregation = dataset.get("aggregation")
    if not isinstance(aggregation, Mapping) or not aggregation:
        raise ForecastError("dataset.aggregation is required")
    for alias, spec in aggregation.items():
        name = spec.get("name") if isinstance(spec, Mapping) else None
        function = spec.get("function") if isinstance(spec, Mapping) else None
        if str(name).lower() not in _COST_COLUMNS or str(function).lower() != "sum":
            raise ForecastError(f"Invalid aggregation '{alias}': {spec!r}")
    return tuple(str(a) for a in aggregation)


def _date_number(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


class ForecastEndpoint:
    """Serves the Forecast API of one tenant."""

    def __init__(self, tenant: TenantView) -> None:
        self.tenant = tenant
        #: Every parsed body received (tests check what was asked).
        self.bodies: list[Any] = []

    def register(self, router: Router) -> None:
        router.add("POST", FORECAST_URL, self.handle, name=ROUTE_NAME)

    def handle(self, request: HttpRequest, match: re.Match[str]) -> SimulatedResponse:
        refused = scope_refusal(self.tenant, match, "forecast")
        if refused is not None:
            return refused
        try:
            body = request_json(request)
            self.bodies.append(body)
            asked = parse_forecast(body, self.tenant.today)
        except ValueError:
            return arm_error(400, "BadRequest", "The request body is not valid JSON.")
        except ForecastError as exc:
            return arm_error(400, "BadRequest", str(exc))
        subscription_id = match.group("sub").lower()
        resource_group = match.group("rg").lower() if match.group("rg") else None
        scope = "/" + match.group("scope")
        columns = [{"name": alias, "type": "Number"} for alias in asked.aliases]
        columns += [
            {"name": "UsageDate", "type": "Number"},
            {"name": "CostStatus", "type": "String"},
            {"name": "Currency", "type": "String"},
        ]
        rows = [
            [*([float(cost)] * len(asked.aliases)), _date_number(day), status, "EUR"]
            for day, cost, status in self.daily(subscription_id, resource_group, asked)
        ]
        name = hashlib.md5(
            json.dumps([scope.lower(), body], sort_keys=True).encode(), usedforsecurity=False
        ).hexdigest()
        answer = {
            "id": f"{scope.lstrip('/')}/providers/Microsoft.CostManagement/forecast/{name}",
            "name": name,
            "type": "Microsoft.CostManagement/forecast",
            "location": None,
            "sku": None,
            "eTag": None,
            "properties": {"nextLink": None, "columns": columns, "rows": rows},
        }
        return SimulatedResponse(200, answer, dict(SUCCESS_HEADERS))

    def daily(
        self, subscription_id: str, resource_group: str | None, asked: _Forecast
    ) -> list[tuple[date, Decimal, str]]:
        """(day, cost, "Actual"|"Forecast") for the days asked; none without enough history."""
        today = self.tenant.today
        totals = self.tenant.daily_totals(
            asked.cost_type, subscription_id=subscription_id, resource_group=resource_group
        )
        first = min(totals) if totals else None
        if first is None or (today - first).days < MIN_HISTORY_DAYS:
            return []
        out: list[tuple[date, Decimal, str]] = []
        if asked.include_actual:
            last_actual = today if asked.include_partial else today - timedelta(days=1)
            day = asked.start
            while day <= min(asked.end, last_actual):
                out.append((day, totals.get(day, Decimal(0)), "Actual"))
                day += timedelta(days=1)
        history = [today - timedelta(days=n) for n in range(1, MIN_HISTORY_DAYS + 1)]
        by_weekday: dict[int, list[Decimal]] = {}
        for day in history:
            by_weekday.setdefault(day.weekday(), []).append(totals.get(day, Decimal(0)))
        median = {weekday: statistics.median(values) for weekday, values in by_weekday.items()}
        middle = today - timedelta(days=MIN_HISTORY_DAYS // 2)
        first_forecast = today + timedelta(days=1) if asked.include_partial else today
        day = max(asked.start, first_forecast)
        growth = Decimal(repr(1 + self.tenant.growth_rate))
        while day <= asked.end:
            value = median[day.weekday()] * growth ** (day - middle).days
            out.append((day, value.quantize(Decimal("0.00000001")), "Forecast"))
            day += timedelta(days=1)
        return out
