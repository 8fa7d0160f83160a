"""`POST {scope}/providers/Microsoft.CostManagement/query`, answered from a simulated tenant.

The query is evaluated, not canned: cost type, time period (Custom and the common timeframes),
granularity (Daily, Monthly or none), the aggregations and groupings asked for (only those
columns come back, in Azure's order: aggregations, date, groupings, Tags, Currency), dimension
and tag filters, `include: ["Tags"]`, and paging through `nextLink` with a `$skiptoken` that
must come back exactly as it was sent (still %-encoded).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote

from azure.core.rest import HttpRequest

from adapters.azure.simulated.model import SimRow, TenantView
from adapters.azure.simulated.transport import (
    ARM,
    Router,
    SimulatedResponse,
    arm_error,
    request_json,
)
from core.costs.model import CostType

ROUTE_NAME = "costmanagement.query"
API_VERSION = "2025-03-01"
QUERY_URL = (
    r"^https://management\.azure\.com/(?P<scope>subscriptions/(?P<sub>[^/?]+)"
    r"(?:/resourceGroups/(?P<rg>[^/?]+))?)/providers/Microsoft\.CostManagement/query"
    r"(?:\?(?P<query>.*))?$"
)
_ZERO = Decimal(0)


class QueryError(Exception):
    """The query is one Azure would reject (HTTP 400 with this code and message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Dimension name (lower-case) → (column name as Azure spells it, value of a row).
_DIMENSIONS: dict[str, tuple[str, Callable[[SimRow], str]]] = {
    "subscriptionid": ("SubscriptionId", lambda r: r.line.subscription.id),
    "subscriptionname": ("SubscriptionName", lambda r: r.line.subscription.name),
    "resourcegroupname": ("ResourceGroupName", lambda r: r.line.resource_group),
    "resourcegroup": ("ResourceGroup", lambda r: r.line.resource_group),
    "resourceid": ("ResourceId", lambda r: r.line.resource_id),
    "resourcetype": ("ResourceType", lambda r: r.line.resource_type.lower()),
    "servicename": ("ServiceName", lambda r: r.line.service_name),
    "metercategory": ("MeterCategory", lambda r: r.line.meter_category),
    "resourcelocation": ("ResourceLocation", lambda r: r.line.location),
    "chargetype": ("ChargeType", lambda r: r.line.charge_type),
}
_AGGREGATIONS: dict[str, Callable[[SimRow], Decimal]] = {
    "Cost": lambda r: r.cost,
    "PreTaxCost": lambda r: r.cost,
    "CostUSD": lambda r: r.cost_usd,
    "PreTaxCostUSD": lambda r: r.cost_usd,
    "UsageQuantity": lambda r: r.quantity,
}
_COST_TYPES = {"actualcost": CostType.ACTUAL, "usage": CostType.ACTUAL}
_COST_TYPES["amortizedcost"] = CostType.AMORTIZED


@dataclass(frozen=True)
class _Query:
    cost_type: CostType
    start: date
    end: date
    granularity: str | None  # "Daily" | "Monthly" | None
    aggregations: tuple[tuple[str, str], ...]  # (alias, source column)
    groupings: tuple[tuple[str, str], ...]  # ("Dimension"|"TagKey", name)
    include_tags: bool
    filter: Mapping[str, Any] | None


def _parse_day(value: object, field: str) -> date:
    if not isinstance(value, str):
        raise QueryError("BadRequest", f"timePeriod.{field} is required for a Custom timeframe")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        raise QueryError("BadRequest", f"timePeriod.{field} '{value}' is not a date") from None


def _timeframe(body: Mapping[str, Any], today: date) -> tuple[date, date]:
    timeframe = str(body.get("timeframe") or "").lower()
    month_start = today.replace(day=1)
    if timeframe == "custom":
        period = body.get("timePeriod") or {}
        start, end = _parse_day(period.get("from"), "from"), _parse_day(period.get("to"), "to")
        if end < start:
            raise QueryError("BadRequest", "timePeriod.to is before timePeriod.from")
        if (end - start).days > 366:
            raise QueryError("BadRequest", "The time period must not exceed one year")
        return start, end
    if timeframe in ("monthtodate", "billingmonthtodate"):
        return month_start, today
    if timeframe in ("thelastmonth", "thelastbillingmonth"):
        last = month_start - timedelta(days=1)
        return last.replace(day=1), last
    if timeframe == "weektodate":
        return today - timedelta(days=today.weekday()), today
    if timeframe == "thecurrentmonth":
        next_month = (month_start + timedelta(days=32)).replace(day=1)
        return month_start, next_month - timedelta(days=1)
    raise QueryError("BadRequest", f"Invalid timeframe '{body.get('timeframe')}'")


def parse_query(body: object, today: date) -> _Query:
    """Validate a query body the way the service does (the parts the simulation knows)."""
    if not isinstance(body, Mapping):
        raise QueryError("BadRequest", "The request body must be a JSON object")
    cost_type = _COST_TYPES.get(str(body.get("type") or "").lower())
    if cost_type is None:
        raise QueryError("BadRequest", f"Invalid query type '{body.get('type')}'")
    start, end = _timeframe(body, today)
    dataset = body.get("dataset") or {}
    if not isinstance(dataset, Mapping):
        raise QueryError("BadRequest", "dataset must be an object")
    include = [str(item).lower() for item in dataset.get("include") or []]
    raw_filter = dataset.get("filter")
    if raw_filter is not None and not isinstance(raw_filter, Mapping):
        raise QueryError("BadRequest", "filter must be an object")
    return _Query(
        cost_type=cost_type,
        start=start,
        end=end,
        granularity=_granularity(dataset.get("granularity")),
        aggregations=_aggregations(dataset.get("aggregation") or {}),
        groupings=_groupings(dataset.get("grouping") or []),
        include_tags="tags" in include,
        filter=raw_filter,
    )


def _granularity(granularity: object) -> str | None:
    if granularity in (None, "None"):
        return None
    if str(granularity).lower() in ("daily", "monthly"):
        return str(granularity).capitalize()
    raise QueryError("BadRequest", f"Invalid granularity '{granularity}'")


def _aggregations(raw: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    aggregations: list[tuple[str, str]] = []
    for alias, spec in raw.items():
        name = spec.get("name") if isinstance(spec, Mapping) else None
        function = spec.get("function") if isinstance(spec, Mapping) else None
        if name not in _AGGREGATIONS or str(function).lower() != "sum":
            raise QueryError("BadRequest", f"Invalid aggregation '{alias}': {spec!r}")
        aggregations.append((str(alias), str(name)))
    if not aggregations:
        raise QueryError("BadRequest", "At least one aggregation is required")
    return tuple(aggregations)


def _groupings(raw: list[Any]) -> tuple[tuple[str, str], ...]:
    groupings: list[tuple[str, str]] = []
    for grouping in raw:
        kind = str(grouping.get("type") or "") if isinstance(grouping, Mapping) else ""
        name = str(grouping.get("name") or "") if isinstance(grouping, Mapping) else ""
        if kind.lower() == "dimension" and name.lower() in _DIMENSIONS:
            groupings.append(("Dimension", name))
        elif kind.lower() == "tagkey" and name:
            groupings.append(("TagKey", name))
        else:
            raise QueryError("BadRequest", f"Invalid grouping {grouping!r}")
    return tuple(groupings)


def _tag_value(row: SimRow, key: str) -> str:
    wanted = key.lower()
    return next((v for k, v in row.line.tags.items() if k.lower() == wanted), "")


def _matches(row: SimRow, expression: Mapping[str, Any]) -> bool:
    """Evaluate a QueryFilter: and / or / not / dimensions / tags with operator In."""
    if "and" in expression:
        return all(_matches(row, e) for e in expression["and"])
    if "or" in expression:
        return any(_matches(row, e) for e in expression["or"])
    if "not" in expression:
        return not _matches(row, expression["not"])
    for kind in ("dimensions", "tags"):
        comparison = expression.get(kind)
        if comparison is None:
            continue
        name = str(comparison.get("name") or "")
        if str(comparison.get("operator") or "In").lower() != "in":
            raise QueryError("BadRequest", f"Operator '{comparison.get('operator')}' unsupported")
        values = {str(v).lower() for v in comparison.get("values") or []}
        if kind == "tags":
            actual = _tag_value(row, name)
        else:
            dimension = _DIMENSIONS.get(name.lower())
            if dimension is None:
                raise QueryError("BadRequest", f"Invalid dimension '{name}' in filter")
            actual = dimension[1](row)
        return actual.lower() in values
    raise QueryError("BadRequest", f"Invalid filter expression {expression!r}")


def _number(value: Decimal) -> int | float:
    """A JSON number as Azure writes it (a float, up to 8 decimals)."""
    return float(value)


def evaluate(
    tenant: TenantView, subscription_id: str, resource_group: str | None, query: _Query
) -> tuple[list[dict[str, str]], list[list[Any]]]:
    """Columns and every row of the query's answer (before paging)."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    tags_of: dict[tuple[Any, ...], dict[str, str]] = {}
    for row in tenant.rows(
        query.cost_type, query.start, query.end, subscription_id=subscription_id
    ):
        if resource_group is not None and row.line.resource_group != resource_group:
            continue
        if query.filter is not None and not _matches(row, query.filter):
            continue
        group_key = _group_key(row, query)
        sums = groups.get(group_key)
        if sums is None:
            sums = groups[group_key] = [_ZERO] * len(query.aggregations)
        for i, (_alias, source) in enumerate(query.aggregations):
            sums[i] += _AGGREGATIONS[source](row)
        if query.include_tags:
            tags_of.setdefault(group_key, {}).update(row.line.tags)
    rows: list[list[Any]] = []
    for group_key in sorted(groups):  # same types position by position: tuples compare
        row_values: list[Any] = [_number(v) for v in groups[group_key]]
        row_values.extend(group_key)
        if query.include_tags:
            tags = tags_of.get(group_key, {})
            row_values.append([f"{json.dumps(k)}:{json.dumps(v)}" for k, v in tags.items()])
        row_values.append("EUR")
        rows.append(row_values)
    return _answer_columns(query), rows


def _group_key(row: SimRow, query: _Query) -> tuple[Any, ...]:
    """The row's group in the answer: its date bucket, then each grouping's value."""
    key: list[Any] = []
    if query.granularity == "Daily":
        key.append(row.day.year * 10000 + row.day.month * 100 + row.day.day)
    elif query.granularity == "Monthly":
        key.append(row.day.replace(day=1).strftime("%Y-%m-%dT00:00:00"))
    for kind, name in query.groupings:
        if kind == "TagKey":
            key.extend((name, _tag_value(row, name)))
        else:
            key.append(_DIMENSIONS[name.lower()][1](row))
    return tuple(key)


def _answer_columns(query: _Query) -> list[dict[str, str]]:
    """The answer's columns, in Azure's order: aggregations, date, groupings, tags, currency."""
    columns = [{"name": alias, "type": "Number"} for alias, _ in query.aggregations]
    if query.granularity == "Daily":
        columns.append({"name": "UsageDate", "type": "Number"})
    elif query.granularity == "Monthly":
        columns.append({"name": "BillingMonth", "type": "Datetime"})
    for kind, name in query.groupings:
        if kind == "TagKey":
            columns += [
                {"name": "TagKey", "type": "String"},
                {"name": "TagValue", "type": "String"},
            ]
        else:
            columns.append({"name": _DIMENSIONS[name.lower()][0], "type": "String"})
    if query.include_tags:
        columns.append({"name": "Tags", "type": "String"})
    columns.append({"name": "Currency", "type": "String"})
    return columns


def _skiptoken(offset: int, fingerprint: str) -> str:
    """An opaque, %-encoded token (base64 with '=' padding, like Azure's `AQAAAA%3D%3D`)."""
    raw = base64.b64encode(f"{offset}:{fingerprint}".encode()).decode()
    return quote(raw, safe="")


def _raw_query_param(query_string: str, name: str) -> str | None:
    for pair in query_string.split("&"):
        key, sep, value = pair.partition("=")
        if sep and key == name:
            return value
    return None


def scope_refusal(
    tenant: TenantView, match: re.Match[str], action: str
) -> SimulatedResponse | None:
    """Azure's answer when the scope of a Cost Management call (`sub`, `rg` and `scope` groups of
    `match`) does not exist or is denied; None when the call may go ahead."""
    subscription_id = match.group("sub").lower()
    resource_group = match.group("rg").lower() if match.group("rg") else None
    scope = "/" + match.group("scope")
    if subscription_id not in {s.id for s in tenant.subscriptions}:
        return arm_error(
            404,
            "SubscriptionNotFound",
            f"The subscription '{subscription_id}' could not be found.",
        )
    denied = tenant.denied_scopes
    if scope.lower() in denied or f"/subscriptions/{subscription_id}" in denied:
        return arm_error(
            403,
            "AuthorizationFailed",
            "The client 'cloudoptima' does not have authorization to perform action "
            f"'Microsoft.CostManagement/{action}/action' over scope '{scope}'.",
        )
    if resource_group is not None and resource_group not in {
        line.resource_group for line in tenant.lines
    }:
        return arm_error(
            404,
            "ResourceGroupNotFound",
            f"Resource group '{resource_group}' could not be found.",
        )
    return None


class CostQueryEndpoint:
    """Serves the Query API of one tenant; `page_size` rows per page."""

    def __init__(self, tenant: TenantView, *, page_size: int = 1000) -> None:
        self.tenant = tenant
        self.page_size = page_size
        #: Every `$skiptoken` received, exactly as it arrived (tests check it).
        self.skiptokens_received: list[str] = []
        self._cache: tuple[str, tuple[list[dict[str, str]], list[list[Any]]]] | None = None

    def register(self, router: Router) -> None:
        router.add("POST", QUERY_URL, self.handle, name=ROUTE_NAME)

    def handle(self, request: HttpRequest, match: re.Match[str]) -> SimulatedResponse:
        subscription_id = match.group("sub").lower()
        resource_group = match.group("rg").lower() if match.group("rg") else None
        scope = "/" + match.group("scope")
        refused = scope_refusal(self.tenant, match, "query")
        if refused is not None:
            return refused
        query_string = match.group("query") or ""
        try:
            body = request_json(request)
            query = parse_query(body, self.tenant.today)
        except ValueError:
            return arm_error(400, "BadRequest", "The request body is not valid JSON.")
        except QueryError as exc:
            return arm_error(400, exc.code, exc.message)

        fingerprint = hashlib.sha256(
            json.dumps([scope.lower(), body, self.tenant.generation], sort_keys=True).encode()
        ).hexdigest()[:16]
        offset = 0
        token = _raw_query_param(query_string, "$skiptoken")
        if token is not None:
            self.skiptokens_received.append(token)
            offset = self._offset_of(token, fingerprint)
            if offset < 0:
                return arm_error(400, "InvalidSkipToken", "The $skiptoken is not valid.")

        columns, rows = self._answer(fingerprint, subscription_id, resource_group, query)
        page = rows[offset : offset + self.page_size]
        next_offset = offset + len(page)
        next_link = None
        if next_offset < len(rows):
            next_link = (
                f"{ARM}{scope}/providers/Microsoft.CostManagement/query"
                f"?api-version={API_VERSION}&$skiptoken={_skiptoken(next_offset, fingerprint)}"
            )
        query_id = str(hashlib.md5(fingerprint.encode(), usedforsecurity=False).hexdigest())
        body_out = {
            "id": f"{scope.lstrip('/')}/providers/Microsoft.CostManagement/query/{query_id}",
            "name": query_id,
            "type": "Microsoft.CostManagement/query",
            "location": None,
            "sku": None,
            "eTag": None,
            "properties": {"nextLink": next_link, "columns": columns, "rows": page},
        }
        return SimulatedResponse(200, body_out, dict(SUCCESS_HEADERS))

    def _answer(
        self, fingerprint: str, subscription_id: str, resource_group: str | None, query: _Query
    ) -> tuple[list[dict[str, str]], list[list[Any]]]:
        # Pages of one query re-evaluate the same answer: keep the last one.
        if self._cache is None or self._cache[0] != fingerprint:
            self._cache = (
                fingerprint,
                evaluate(self.tenant, subscription_id, resource_group, query),
            )
        return self._cache[1]

    @staticmethod
    def _offset_of(token: str, fingerprint: str) -> int:
        """The offset a token stands for; -1 unless it is exactly a token we issued."""
        try:
            raw = base64.b64decode(unquote(token), validate=True).decode()
            offset_text, _, token_fingerprint = raw.partition(":")
            offset = int(offset_text)
        except (ValueError, UnicodeDecodeError):
            return -1
        if token_fingerprint != fingerprint or _skiptoken(offset, fingerprint) != token:
            return -1
        return offset


#: Informational headers Cost Management sends with every answer.
SUCCESS_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "x-ms-ratelimit-microsoft.costmanagement-qpu-consumed": "1",
    "x-ms-ratelimit-microsoft.costmanagement-qpu-remaining": (
        "QueriesPerHour:597,QueriesPerMin:57,QueriesPer10Sec:9"
    ),
    "x-ms-ratelimit-remaining-microsoft.costmanagement-entity-requests": "DefaultQuota:7",
    "x-ms-ratelimit-remaining-microsoft.costmanagement-tenant-requests": "DefaultQuota:49",
}

#: A throttled answer's headers (from a real-shaped sample): only Cost Management's own
#: retry-after headers, no standard `Retry-After`. The longest wait asked for is 58 s.
THROTTLED_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after": "37",
    "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after": "21",
    "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after": "58",
    "x-ms-ratelimit-microsoft.costmanagement-qpu-consumed": "1",
    "x-ms-ratelimit-microsoft.costmanagement-qpu-remaining": (
        "QueriesPerHour:541,QueriesPerMin:0,QueriesPer10Sec:0"
    ),
    "x-ms-ratelimit-remaining-microsoft.costmanagement-entity-requests": "DefaultQuota:0",
    "x-ms-ratelimit-remaining-microsoft.costmanagement-tenant-requests": "DefaultQuota:14",
}


def throttled(headers: Mapping[str, str] | None = None) -> SimulatedResponse:
    """A 429 as Cost Management sends it."""
    return arm_error(429, "429", "Too many requests. Please retry.", headers or THROTTLED_HEADERS)


# -- corruptions for tests: each edits a Query API answer's body in place --------------------


def drop_column(name: str) -> Callable[[Any], None]:
    """Remove column `name` and its value from every row."""

    def corrupt(body: Any) -> None:
        props = body["properties"]
        index = [c["name"] for c in props["columns"]].index(name)
        del props["columns"][index]
        for row in props["rows"]:
            del row[index]

    return corrupt


def set_column(name: str, value: Any, *, rows: slice = slice(None)) -> Callable[[Any], None]:
    """Set column `name` to `value` in the selected rows (all by default)."""

    def corrupt(body: Any) -> None:
        props = body["properties"]
        index = [c["name"] for c in props["columns"]].index(name)
        for row in props["rows"][rows]:
            row[index] = value

    return corrupt
