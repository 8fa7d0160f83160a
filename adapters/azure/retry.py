"""Retrying Azure Cost Management the way it asks to be retried.

azure-core's stock policy does not retry a 429 on POST (every cost query is a POST) unless the
response carries the standard `Retry-After`, and it never reads Cost Management's own
`x-ms-ratelimit-microsoft.costmanagement-*-retry-after` headers, which are often the only ones
sent. This policy retries 429 for every method and waits for the longest of those headers.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import AsyncRetryPolicy

log = logging.getLogger(__name__)

#: `x-ms-ratelimit-microsoft.costmanagement-{qpu,entity,tenant,client,clienttype}-retry-after`
_COST_MANAGEMENT_RETRY_AFTER = re.compile(
    r"^x-ms-ratelimit-microsoft\.costmanagement-[a-z0-9-]+-retry-after$"
)
_SECONDS_HEADERS = frozenset({"retry-after", "x-ms-ratelimit-microsoft.consumption-retry-after"})
_MILLISECONDS_HEADERS = frozenset({"retry-after-ms", "x-ms-retry-after-ms"})
#: Resource Graph: `hh:mm:ss` until the tenant's quota resets.
RESOURCE_GRAPH_RESETS_AFTER = "x-ms-user-quota-resets-after"
#: Azure Monitor's metrics batch API answers 529 when it throttles.
THROTTLED_STATUSES = frozenset({429, 529})


def _duration(text: str) -> float | None:
    """`hh:mm:ss` (Resource Graph's quota reset) → seconds."""
    parts = text.strip().split(":")
    if len(parts) != 3:
        return None
    try:
        hours, minutes, seconds = (float(p) for p in parts)
    except ValueError:
        return None
    return hours * 3600 + minutes * 60 + seconds


def _seconds(name: str, value: str) -> float | None:
    text = value.strip()
    if name == RESOURCE_GRAPH_RESETS_AFTER:
        return _duration(text)
    try:
        seconds = float(text)
    except ValueError:
        if name != "retry-after":
            return None
        try:  # Retry-After may also be an HTTP date
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds / 1000 if name in _MILLISECONDS_HEADERS else seconds)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The longest wait any throttling header of a response asks for, uncapped (None: none)."""
    waits: list[float] = []
    for raw_name, value in headers.items():
        name = raw_name.lower()
        if (
            name in _SECONDS_HEADERS
            or name in _MILLISECONDS_HEADERS
            or _COST_MANAGEMENT_RETRY_AFTER.match(name)
            or name == RESOURCE_GRAPH_RESETS_AFTER
        ):
            seconds = _seconds(name, str(value))
            if seconds is not None:
                waits.append(seconds)
    return max(waits) if waits else None


class CostManagementRetryPolicy(AsyncRetryPolicy):  # type: ignore[type-arg]
    """Retries throttled (429; 529 from Azure Monitor) and failed calls up to `max_retries`
    times, POST included. Every Azure client CloudOptima builds uses it (each API sends its own
    throttling headers; this reads all of them, Resource Graph's quota reset included).

    The wait before a retry is the longest of every `*-retry-after` header Cost Management sent
    and `Retry-After`, capped at `max_wait_seconds`; without any such header it backs off
    exponentially (also capped). Once the retries are spent the last response is handed back
    and the SDK raises it; the cost source turns a 429 into `core.kernel.errors.ThrottledError`.
    Sleeping goes through the transport's `sleep`, so tests can record waits instead of waiting.
    """

    def __init__(
        self,
        *,
        max_retries: int = 5,
        max_wait_seconds: float = 300.0,
        backoff_factor: float = 0.8,
        **kwargs: Any,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if max_wait_seconds <= 0:
            raise ValueError("max_wait_seconds must be > 0")
        self.max_retries = max_retries
        self.max_wait_seconds = float(max_wait_seconds)
        for setting in ("retry_total", "retry_connect", "retry_read", "retry_status"):
            kwargs.setdefault(setting, max_retries)
        kwargs.setdefault("retry_backoff_factor", backoff_factor)
        kwargs.setdefault("retry_backoff_max", min(120.0, self.max_wait_seconds))
        super().__init__(**kwargs)
        # Every Cost Management call CloudOptima makes (query, forecast) is a read sent as a
        # POST: retry it like a GET on connection errors and 408/429/500/502/503/504.
        self._method_whitelist = frozenset(self._method_whitelist | {"POST"})

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        # A query is a read even though it is a POST: retrying a throttled one is safe.
        if response.http_response.status_code in THROTTLED_STATUSES:
            return bool(settings["total"])
        return bool(super().is_retry(settings, response))

    async def sleep(
        self,
        settings: dict[str, Any],
        transport: Any,
        response: PipelineResponse[Any, Any] | None = None,
    ) -> None:
        # The answer being retried is dropped: release its connection before waiting (a
        # streamed response is otherwise held open until garbage collection).
        if response is not None:
            with contextlib.suppress(Exception):
                closed = response.http_response.close()
                if inspect.isawaitable(closed):
                    await closed
        await super().sleep(settings, transport, response)

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        wait = retry_after_seconds(response.http_response.headers)
        if wait is None:
            return None
        capped = min(wait, self.max_wait_seconds)
        log.warning(
            "Azure answered HTTP %s for %s; retrying in %.0f s (asked for %.0f s)",
            response.http_response.status_code,
            response.http_request.url.split("?", 1)[0],
            capped,
            wait,
        )
        return capped
