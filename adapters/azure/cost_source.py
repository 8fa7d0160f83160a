"""`CostSource` over Azure Cost Management's Query API (`query.usage`), daily granularity.

A window is split into chunks of at most `chunk_days` that never cross a month boundary (a query
costs about one QPU per month it touches). Every page of a chunk is read, by column name, validated
and normalized before the first day of that chunk is yielded: a malformed page fails the run
before anything of its chunk can be committed, and chunks already yielded stay committed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError
from azure.mgmt.costmanagement.aio import CostManagementClient

from adapters.azure.client import ColumnFinder, OwnsCostManagementClient
from adapters.azure.errors import COST_MANAGEMENT, map_azure_error
from core.costs.model import CostType
from core.costs.ports import CostDay, CostRow
from core.kernel.errors import MalformedResponseError
from core.kernel.money import decimal_from_json_number
from core.kernel.scopes import Scope

log = logging.getLogger(__name__)

MAX_CHUNK_DAYS = 31

#: Aggregation alias → the column it sums. Responses name the column by its alias; one REST
#: example uses the source name instead, so both are accepted.
AGGREGATIONS: dict[str, str] = {
    "totalCost": "Cost",
    "totalCostUSD": "CostUSD",
    "totalQuantity": "UsageQuantity",
}

#: Every dimension a `CostRow` carries. The documentation says "up to 2 groupings", but the
#: service does not enforce it (azure-cost-cli groups by 9-10 dimensions in one query) and one
#: query per chunk with every dimension is what keeps each stored row complete.
GROUPINGS: tuple[str, ...] = (
    "SubscriptionId",
    "SubscriptionName",
    "ResourceGroupName",
    "ResourceId",
    "ServiceName",
    "MeterCategory",
    "ResourceLocation",
    "ChargeType",
)


def query_body(cost_type: CostType, start: date, end: date) -> dict[str, Any]:
    """The Query API body for `start`..`end` (inclusive) by day, every dimension, with tags.

    A plain dict: the SDK sends it verbatim (its models have no `include`).
    """
    return {
        "type": str(cost_type),
        "timeframe": "Custom",
        "timePeriod": {
            "from": f"{start.isoformat()}T00:00:00Z",
            "to": f"{end.isoformat()}T23:59:59Z",
        },
        "dataset": {
            "granularity": "Daily",
            "aggregation": {
                alias: {"name": name, "function": "Sum"} for alias, name in AGGREGATIONS.items()
            },
            "grouping": [{"type": "Dimension", "name": name} for name in GROUPINGS],
            "include": ["Tags"],
        },
    }


def date_chunks(start: date, end: date, chunk_days: int) -> Iterator[tuple[date, date]]:
    """Consecutive inclusive ranges covering start..end, ≤ chunk_days each, within one month."""
    if not 1 <= chunk_days <= MAX_CHUNK_DAYS:
        raise ValueError(f"chunk_days must be between 1 and {MAX_CHUNK_DAYS}")
    first = start
    while first <= end:
        next_month = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        last = min(end, first + timedelta(days=chunk_days - 1), next_month - timedelta(days=1))
        yield first, last
        first = last + timedelta(days=1)


def skiptoken_of(next_link: str) -> str | None:
    """The `$skiptoken` of a nextLink exactly as written there (still %-encoded).

    azure-core does not encode `params` values, so the raw token must be passed back as is;
    decoding it first would send a different token.
    """
    for pair in urlsplit(next_link).query.split("&"):
        name, sep, value = pair.partition("=")
        if sep and name == "$skiptoken":
            return value
    return None


# -- reading a page ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Columns:
    """Positions of the columns we need in one page, found by name."""

    cost: int
    cost_usd: int
    quantity: int
    usage_date: int
    currency: int
    tags: int
    dimensions: dict[str, int]


def _malformed(scope: Scope, what: str, chunk: tuple[date, date]) -> MalformedResponseError:
    return MalformedResponseError(
        f"{what} (cost query for scope {scope}).",
        service=COST_MANAGEMENT,
        code="malformed_response",
        hint=f"Nothing of {chunk[0]}..{chunk[1]} was stored; days ingested before are intact. "
        "Try again later, and report it if it persists.",
    )


def _find_columns(
    raw_columns: object, scope: Scope, chunk: tuple[date, date]
) -> tuple[_Columns, int]:
    columns = ColumnFinder(raw_columns, lambda what: _malformed(scope, what, chunk))
    find = columns.find
    aliases = {name: alias for alias, name in AGGREGATIONS.items()}
    found = _Columns(
        cost=find(aliases["Cost"], "Cost"),
        cost_usd=find(aliases["CostUSD"], "CostUSD"),
        quantity=find(aliases["UsageQuantity"], "UsageQuantity"),
        usage_date=find("UsageDate"),
        currency=find("Currency"),
        tags=find("Tags"),
        dimensions={name: find(name) for name in GROUPINGS},
    )
    return found, len(columns.names)


def _number(value: object, column: str, scope: Scope, chunk: tuple[date, date]) -> Decimal:
    try:
        return decimal_from_json_number(None if isinstance(value, str) else value)
    except ValueError:
        raise _malformed(
            scope, f"column '{column}' holds {value!r} where a number was expected", chunk
        ) from None


def _usage_date(value: object, scope: Scope, chunk: tuple[date, date]) -> date:
    bad = f"column 'UsageDate' holds {value!r} where a date number YYYYMMDD was expected"
    if isinstance(value, bool) or not isinstance(value, int):
        raise _malformed(scope, bad, chunk)
    try:
        day = date(value // 10000, value // 100 % 100, value % 100)
    except ValueError:
        raise _malformed(scope, bad, chunk) from None
    if not chunk[0] <= day <= chunk[1]:
        raise _malformed(
            scope,
            f"column 'UsageDate' holds {value}, outside the queried days {chunk[0]}..{chunk[1]}",
            chunk,
        )
    return day


def _text(value: object, column: str, scope: Scope, chunk: tuple[date, date]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _malformed(
            scope, f"column '{column}' holds {value!r} where a text was expected", chunk
        )
    return value


@lru_cache(maxsize=4096)
def _tag_pair(text: str) -> tuple[str, str]:
    """`"env":"prod"` (how Cost Management lists a tag) → ('env', 'prod'), key lower-cased."""
    try:
        parsed = json.loads("{" + text + "}")
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and len(parsed) == 1:
        key, value = next(iter(parsed.items()))
        return str(key).lower(), "" if value is None else str(value)
    key, _, value = text.partition(":")
    return key.strip().strip('"').lower(), value.strip().strip('"')


def _tags(value: object, scope: Scope, chunk: tuple[date, date]) -> dict[str, str]:
    """Tags as a list of `"key":"value"` strings (or an object); keys lower-cased."""
    if value is None or value == "":
        return {}
    pairs: list[tuple[str, str]]
    if isinstance(value, Mapping):
        pairs = [(str(k).lower(), "" if v is None else str(v)) for k, v in value.items()]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        pairs = [_tag_pair(item) for item in value]
    else:
        raise _malformed(
            scope,
            f'column \'Tags\' holds {value!r} where a list of "key":"value" was expected',
            chunk,
        )
    return {key: tag_value for key, tag_value in sorted(pairs) if key}


def parse_page(
    properties: Mapping[str, Any], scope: Scope, chunk: tuple[date, date]
) -> Iterator[CostRow]:
    """Normalize one page's rows; raises `MalformedResponseError` naming column and scope."""
    columns, width = _find_columns(properties.get("columns"), scope, chunk)
    rows = properties.get("rows")
    if rows is None:
        return
    if not isinstance(rows, list):
        raise _malformed(scope, "the response's rows are not a list", chunk)
    dims = columns.dimensions
    for n, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise _malformed(scope, f"row {n} does not have one value per column", chunk)
        currency = row[columns.currency]
        if not isinstance(currency, str) or len(currency.strip()) != 3:
            raise _malformed(
                scope,
                f"column 'Currency' holds {currency!r} where a currency code was expected",
                chunk,
            )
        cost_usd = row[columns.cost_usd]
        quantity = row[columns.quantity]
        yield CostRow(
            usage_date=_usage_date(row[columns.usage_date], scope, chunk),
            subscription_id=_text(
                row[dims["SubscriptionId"]], "SubscriptionId", scope, chunk
            ).lower(),
            subscription_name=_text(
                row[dims["SubscriptionName"]], "SubscriptionName", scope, chunk
            ),
            resource_group=_text(
                row[dims["ResourceGroupName"]], "ResourceGroupName", scope, chunk
            ).lower(),
            resource_id=_text(row[dims["ResourceId"]], "ResourceId", scope, chunk).lower(),
            service_name=_text(row[dims["ServiceName"]], "ServiceName", scope, chunk),
            meter_category=_text(row[dims["MeterCategory"]], "MeterCategory", scope, chunk),
            location=_text(row[dims["ResourceLocation"]], "ResourceLocation", scope, chunk),
            charge_type=_text(row[dims["ChargeType"]], "ChargeType", scope, chunk),
            currency=currency.strip().upper(),
            cost=_number(row[columns.cost], "Cost", scope, chunk),
            cost_usd=None if cost_usd is None else _number(cost_usd, "CostUSD", scope, chunk),
            quantity=None if quantity is None else _number(quantity, "UsageQuantity", scope, chunk),
            tags=_tags(row[columns.tags], scope, chunk),
        )


# -- the source -------------------------------------------------------------------------------


class AzureCostSource(OwnsCostManagementClient):
    """Daily cost rows of a scope from Azure Cost Management, one chunk of days in memory.

    Owns its `CostManagementClient`: close it with `aclose()` or `async with`.
    """

    def __init__(
        self,
        client: CostManagementClient,
        *,
        chunk_days: int = 7,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if not 1 <= chunk_days <= MAX_CHUNK_DAYS:
            raise ValueError(f"chunk_days must be between 1 and {MAX_CHUNK_DAYS}")
        super().__init__(client, on_close=on_close)
        self.chunk_days = chunk_days

    async def days(
        self, scope: Scope, cost_type: CostType, start: date, end: date
    ) -> AsyncIterator[CostDay]:
        """Yield every day start..end in order, exactly once, each complete (see `CostSource`)."""
        for chunk in date_chunks(start, end, self.chunk_days):
            by_day = await self._read_chunk(scope, cost_type, chunk)
            day = chunk[0]
            while day <= chunk[1]:
                yield CostDay(day, by_day.pop(day, []))
                day += timedelta(days=1)

    async def _read_chunk(
        self, scope: Scope, cost_type: CostType, chunk: tuple[date, date]
    ) -> dict[date, list[CostRow]]:
        body = query_body(cost_type, *chunk)
        by_day: dict[date, list[CostRow]] = {}
        tokens_seen: set[str] = set()
        params: dict[str, str] = {}
        pages = 0
        while True:
            result = await self._query(scope, body, params, chunk)
            if result is None:  # HTTP 204: no data at all
                break
            pages += 1
            properties = result.get("properties") if isinstance(result, Mapping) else None
            if not isinstance(properties, Mapping):
                raise _malformed(scope, "the response has no 'properties'", chunk)
            for row in parse_page(properties, scope, chunk):
                by_day.setdefault(row.usage_date, []).append(row)
            next_link = properties.get("nextLink")
            if not next_link:
                break
            token = skiptoken_of(str(next_link))
            if not token:
                raise _malformed(scope, "the response's nextLink has no $skiptoken", chunk)
            if token in tokens_seen:
                raise _malformed(scope, "the response's nextLink repeats an earlier page", chunk)
            tokens_seen.add(token)
            params = {"$skiptoken": token}
        log.debug(
            "cost query %s %s..%s: %d page(s), %d row(s)",
            scope,
            chunk[0],
            chunk[1],
            pages,
            sum(len(rows) for rows in by_day.values()),
        )
        return by_day

    async def _query(
        self, scope: Scope, body: dict[str, Any], params: dict[str, str], chunk: tuple[date, date]
    ) -> Any:
        """One page as parsed JSON (None for HTTP 204).

        `stream=True` hands back the raw body: the SDK's hybrid models otherwise re-serialize
        every cell of every row on construction, which cost more CPU than everything else in
        an ingestion (profiled: ~60% of a simulated 120-day pull). Errors, retries and auth
        still go through the SDK's pipeline.
        """
        try:
            stream: Any = await self._client.query.usage(
                scope.path,
                cast(Any, body),  # a plain dict is sent verbatim (the models lack `include`)
                params=dict(params),
                stream=True,
            )
            if stream is None:
                return None
            raw = b"".join([part async for part in stream])
        except AzureError as exc:
            raise map_azure_error(exc, scope=scope) from exc
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise _malformed(scope, "the response is not valid JSON", chunk) from None
