"""`ForecastSource` over Azure Cost Management's Forecast API (`forecast.usage`), daily.

One call per scope, cost type and range of days: `POST {scope}/providers/Microsoft.CostManagement/
forecast` with a Custom time period, daily granularity, the cost summed, and no actual costs (the
store has those). The answer is read by column name (`totalCost`, `UsageDate`, `CostStatus`,
`Currency`) and validated like the Query API's; a malformed answer raises
`MalformedResponseError` naming the column. Azure has no forecast for a scope with fewer than 28
days of history: it answers with no rows (or HTTP 204, or an error saying "Forecast is
unavailable"), and that is None, not an error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, cast

from azure.core.exceptions import AzureError, HttpResponseError

from adapters.azure.client import ColumnFinder, OwnsCostManagementClient
from adapters.azure.cost_source import skiptoken_of
from adapters.azure.errors import COST_MANAGEMENT, map_azure_error
from core.costs.model import CostType
from core.costs.ports import ForecastFigure
from core.kernel.errors import MalformedResponseError
from core.kernel.money import decimal_from_json_number
from core.kernel.scopes import Scope

log = logging.getLogger(__name__)

#: The one aggregation asked for: its alias is the cost column's name in the answer.
COST_ALIAS = "totalCost"
FORECAST_STATUS = "forecast"
_STATUSES = frozenset({"actual", FORECAST_STATUS})
_UNAVAILABLE = "forecast is unavailable"
_MAX_PAGES = 50


def forecast_body(cost_type: CostType, start: date, end: date) -> dict[str, Any]:
    """The Forecast API body for `start`..`end` (inclusive) by day, forecast rows only."""
    return {
        "type": str(cost_type),
        "timeframe": "Custom",
        "timePeriod": {
            "from": f"{start.isoformat()}T00:00:00Z",
            "to": f"{end.isoformat()}T23:59:59Z",
        },
        "dataset": {
            "granularity": "Daily",
            "aggregation": {COST_ALIAS: {"name": "Cost", "function": "Sum"}},
        },
        "includeActualCost": False,
        "includeFreshPartialCost": False,
    }


def _malformed(scope: Scope, what: str, start: date, end: date) -> MalformedResponseError:
    return MalformedResponseError(
        f"{what} (cost forecast for scope {scope}, {start}..{end}).",
        service=COST_MANAGEMENT,
        code="malformed_response",
        hint="No forecast was stored for it; budgets over this scope keep the forecast computed "
        "from the cost data. Report it if it persists.",
    )


def _columns(
    raw: object, fail: Callable[[str], MalformedResponseError]
) -> tuple[dict[str, int], list[str]]:
    """Positions of the cost, date, status and currency columns, found by name; and the names."""
    columns = ColumnFinder(raw, fail)
    find = columns.find
    found = {
        # Like the Query API, an answer may name the cost by its source column instead.
        "cost": find(COST_ALIAS, "Cost", "PreTaxCost"),
        "day": find("UsageDate"),
        "status": find("CostStatus"),
        "currency": find("Currency"),
    }
    return found, columns.names


def parse_forecast(
    properties: Mapping[str, Any], scope: Scope, start: date, end: date
) -> list[tuple[date, Decimal, str]]:
    """The forecast rows of one page as (day, cost, currency); "Actual" rows are dropped (the
    store has the actual costs). Raises `MalformedResponseError` naming column and scope."""

    def fail(what: str) -> MalformedResponseError:
        return _malformed(scope, what, start, end)

    columns, names = _columns(properties.get("columns"), fail)
    rows = properties.get("rows")
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise fail("the response's rows are not a list")
    out: list[tuple[date, Decimal, str]] = []
    for n, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise fail(f"row {n} does not have one value per column")
        parsed = _forecast_row(row, columns, names, fail)
        if parsed is None:
            continue  # an "Actual" row
        if not start <= parsed[0] <= end:
            raise fail(
                f"column 'UsageDate' holds {row[columns['day']]}, outside the days asked for"
            )
        out.append(parsed)
    return out


def _forecast_row(
    row: list[Any],
    columns: dict[str, int],
    names: list[str],
    fail: Callable[[str], MalformedResponseError],
) -> tuple[date, Decimal, str] | None:
    """One row as (day, cost, currency), every value checked; None for an "Actual" row."""
    status = row[columns["status"]]
    if not isinstance(status, str) or status.lower() not in _STATUSES:
        raise fail(f"column 'CostStatus' holds {status!r} where Actual or Forecast was expected")
    raw_day = row[columns["day"]]
    bad_day = f"column 'UsageDate' holds {raw_day!r} where a date number YYYYMMDD was expected"
    if isinstance(raw_day, bool) or not isinstance(raw_day, int):
        raise fail(bad_day)
    try:
        day = date(raw_day // 10000, raw_day // 100 % 100, raw_day % 100)
    except ValueError:
        raise fail(bad_day) from None
    currency = row[columns["currency"]]
    if not isinstance(currency, str) or len(currency.strip()) != 3:
        raise fail(f"column 'Currency' holds {currency!r} where a currency code was expected")
    cost = row[columns["cost"]]
    try:
        amount = decimal_from_json_number(None if isinstance(cost, str) else cost)
    except ValueError:
        name = names[columns["cost"]]
        raise fail(f"column '{name}' holds {cost!r} where a number was expected") from None
    if status.lower() != FORECAST_STATUS:
        return None
    return day, amount, currency.strip().upper()


def summarize(
    rows: list[tuple[date, Decimal, str]], scope: Scope, start: date, end: date
) -> ForecastFigure | None:
    """One figure from the forecast rows: None when there are none, when days are missing, or
    when they come in several currencies (neither can stand for the scope's spend)."""
    if not rows:
        return None
    days: dict[date, Decimal] = {}
    for day, amount, _currency in rows:
        if day in days:
            raise _malformed(scope, f"the response has two forecast rows for {day}", start, end)
        days[day] = amount
    currencies = {currency for _day, _amount, currency in rows}
    expected = (end - start).days + 1
    if len(currencies) > 1:
        log.warning("forecast for %s comes in %s; not used", scope, ", ".join(sorted(currencies)))
        return None
    if len(days) != expected:
        log.warning("forecast for %s covers %d of %d day(s); not used", scope, len(days), expected)
        return None
    return ForecastFigure(sum(days.values(), Decimal(0)), currencies.pop(), len(days))


class AzureForecastSource(OwnsCostManagementClient):
    """Forecasts of a scope's spend from Azure Cost Management (see the module docstring).

    Owns its `CostManagementClient`: close it with `aclose()` or `async with`.
    """

    async def forecast(
        self, scope: Scope, cost_type: CostType, start: date, end: date
    ) -> ForecastFigure | None:
        """Forecast spend of `scope` over `start`..`end` (see `core.costs.ports.ForecastSource`)."""
        if end < start:
            raise ValueError(f"the forecast ends ({end}) before it starts ({start})")
        body = forecast_body(cost_type, start, end)
        rows: list[tuple[date, Decimal, str]] = []
        params: dict[str, str] = {}
        tokens_seen: set[str] = set()
        for _page in range(_MAX_PAGES):
            result = await self._post(scope, body, params, start, end)
            if result is None:  # HTTP 204, or Azure said the forecast is unavailable
                return None
            properties = result.get("properties") if isinstance(result, Mapping) else None
            if not isinstance(properties, Mapping):
                raise _malformed(scope, "the response has no 'properties'", start, end)
            rows.extend(parse_forecast(properties, scope, start, end))
            next_link = properties.get("nextLink")
            if not next_link:
                break
            token = skiptoken_of(str(next_link))
            if not token or token in tokens_seen:
                raise _malformed(scope, "the response's nextLink has no new $skiptoken", start, end)
            tokens_seen.add(token)
            params = {"$skiptoken": token}
        else:
            raise _malformed(scope, f"the response has more than {_MAX_PAGES} pages", start, end)
        figure = summarize(rows, scope, start, end)
        log.debug("cost forecast %s %s..%s: %s", scope, start, end, figure)
        return figure

    async def _post(
        self,
        scope: Scope,
        body: dict[str, Any],
        params: dict[str, str],
        start: date,
        end: date,
    ) -> Any:
        """One page as parsed JSON; None for HTTP 204 or "Forecast is unavailable".

        `stream=True`, as for queries: the raw body is parsed and validated here, while errors,
        retries (`CostManagementRetryPolicy`) and auth go through the SDK's pipeline.
        """
        try:
            stream: Any = await self._client.forecast.usage(
                scope.path, cast(Any, body), params=dict(params), stream=True
            )
            if stream is None:
                return None
            raw = b"".join([part async for part in stream])
        except HttpResponseError as exc:
            if _says_unavailable(exc):
                log.info("Azure has no cost forecast for %s yet: %s", scope, exc.status_code)
                return None
            raise map_azure_error(exc, scope=scope, what="cost forecast") from exc
        except AzureError as exc:
            raise map_azure_error(exc, scope=scope, what="cost forecast") from exc
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise _malformed(scope, "the response is not valid JSON", start, end) from None


def _says_unavailable(exc: HttpResponseError) -> bool:
    """A 4xx whose message says the forecast is unavailable (too little history)."""
    status = exc.status_code or 0
    if not 400 <= status < 500 or status == 429:
        return False
    message = getattr(exc.error, "message", None) if exc.error is not None else None
    return _UNAVAILABLE in str(message or exc.message or "").lower()
