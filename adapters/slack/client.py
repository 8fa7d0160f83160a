"""Slack Web API plumbing: the client with its retry policy, the bot's scopes, chart uploads.

Retries use slack_sdk's retry-handler hooks, with the sleep injectable (tests never sleep):
- 429 waits exactly `Retry-After` (up to a ceiling; a longer pause is handed back to the caller);
- 5xx and dropped connections back off exponentially. Such a failure is *uncertain* for a post
  (Slack may have stored the message before failing), so before re-posting the handler asks the
  check of the post being retried (`UNCERTAIN_POST_CHECK`, set around each post: has the message
  arrived after all?) and never posts twice. One client serves every delivery.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any

from aiohttp import (
    ClientConnectorError,
    ClientOSError,
    ServerConnectionError,
    ServerDisconnectedError,
)
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.blocks import chart_blocks
from core.kernel.cards import Card, Chart
from core.kernel.charts import chart_caption, render_png
from core.kernel.service import REQUEST_ID

log = logging.getLogger(__name__)

SLACK_API_URL = "https://slack.com/api/"
#: Longest `Retry-After` honoured inside one call; longer pauses go back to the outbox.
MAX_RETRY_AFTER_SECONDS = 30.0
#: Seconds before one Web API call gives up.
API_TIMEOUT_SECONDS = 15

#: The bot scopes each Web API method this adapter calls needs (manifest.yml grants them all).
SCOPES_BY_METHOD: dict[str, tuple[str, ...]] = {
    "auth_test": (),
    "chat_postMessage": ("chat:write",),
    "chat_update": ("chat:write",),
    "conversations_history": ("channels:history", "groups:history"),
    "files_upload_v2": ("files:write",),
    # Approval roles granted to Slack user groups: their members.
    "usergroups_users_list": ("usergroups:read",),
    # The reason / duration modal of Dismiss and Snooze (a trigger id, no scope).
    "views_open": (),
}
#: Scopes for what Slack sends us rather than what we call: `/optima`.
INBOUND_SCOPES = ("commands",)

Sleep = Callable[[float], Awaitable[None]]
SafeToRetry = Callable[[], Awaitable[bool]]
#: Set around one `chat.postMessage`: whether re-posting it after an uncertain failure is safe.
UNCERTAIN_POST_CHECK: ContextVar[SafeToRetry | None] = ContextVar(
    "slack_uncertain_post_check", default=None
)

TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ServerConnectionError,
    ServerDisconnectedError,
    ClientOSError,
    asyncio.TimeoutError,
)


def retry_after_seconds(headers: Mapping[str, Any] | None) -> float | None:
    """A 429's `Retry-After`, in seconds (None when absent or unreadable).

    Takes slack_sdk's retry-handler headers (lists of values) or a response's (plain values).
    """
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            first = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(0.0, float(first))
            except (TypeError, ValueError):
                return None
    return None


class RateLimitRetryHandler(AsyncRetryHandler):
    """Retries a 429 after exactly the `Retry-After` Slack asked for (1 s if it did not say)."""

    def __init__(
        self,
        *,
        max_retry_count: int = 3,
        sleep: Sleep = asyncio.sleep,
        max_wait_seconds: float = MAX_RETRY_AFTER_SECONDS,
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep
        self._max_wait = max_wait_seconds

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after_seconds(response.headers)
        return wait is None or wait <= self._max_wait

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        wait = retry_after_seconds(response.headers if response else None)
        await self._sleep(1.0 if wait is None else wait)
        state.increment_current_attempt()


class TransientErrorRetryHandler(AsyncRetryHandler):
    """Retries 5xx answers and dropped connections with exponential backoff.

    A failed `chat.postMessage` is retried only when its check (`safe_to_retry`, or the post's
    `UNCERTAIN_POST_CHECK`) says the message did not arrive; a check that fails itself means
    "unknown" and stops the retries.
    """

    def __init__(
        self,
        *,
        max_retry_count: int = 2,
        sleep: Sleep = asyncio.sleep,
        safe_to_retry: SafeToRetry | None = None,
        backoff_factor: float = 0.5,
    ) -> None:
        super().__init__(
            max_retry_count=max_retry_count,
            interval_calculator=BackoffRetryIntervalCalculator(backoff_factor=backoff_factor),
        )
        self._sleep = sleep
        self._safe_to_retry = safe_to_retry

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        transient = (response is not None and response.status_code in TRANSIENT_STATUSES) or (
            error is not None and isinstance(error, TRANSIENT_ERRORS)
        )
        if not transient:
            return False
        check = self._safe_to_retry or UNCERTAIN_POST_CHECK.get()
        if check is None or not request.url.endswith("/chat.postMessage"):
            return True
        if isinstance(error, ClientConnectorError):
            return True  # never connected: nothing can have been posted
        try:
            return await check()
        except Exception as exc:
            log.warning(
                "could not check whether an uncertain Slack post arrived: %s",
                describe_failure(exc),
            )
            return False

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        await self._sleep(self.interval_calculator.calculate_sleep_duration(state.current_attempt))
        state.increment_current_attempt()


#: Sent with every Web API call and response-URL answer made while a request is handled.
REQUEST_ID_HEADER = "X-Request-ID"


def request_id_headers(headers: dict[str, str] | None = None) -> dict[str, str] | None:
    """`headers` plus the bound request id (`core.kernel.service.REQUEST_ID`), if any."""
    request_id = REQUEST_ID.get()
    if not request_id:
        return headers
    return {**(headers or {}), REQUEST_ID_HEADER: request_id}


class TracedWebClient(AsyncWebClient):
    """An `AsyncWebClient` that names the request being handled on every call it makes."""

    async def api_call(  # type: ignore[override]
        self, api_method: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> AsyncSlackResponse:
        return await super().api_call(api_method, headers=request_id_headers(headers), **kwargs)


def make_web_client(
    token: str | None,
    *,
    api_url: str | None = None,
    sleep: Sleep = asyncio.sleep,
    safe_to_retry: SafeToRetry | None = None,
) -> AsyncWebClient:
    """An `AsyncWebClient` with CloudOptima's retry policy (see the module docstring)."""
    return TracedWebClient(
        token=token,
        base_url=api_url or SLACK_API_URL,
        timeout=API_TIMEOUT_SECONDS,
        retry_handlers=[
            RateLimitRetryHandler(sleep=sleep),
            TransientErrorRetryHandler(sleep=sleep, safe_to_retry=safe_to_retry),
        ],
    )


class BotScopes:
    """The bot token's OAuth scopes, read once from `auth.test`'s `x-oauth-scopes` header.

    When Slack cannot be reached, no optional scope is assumed for `RETRY_AFTER_FAILURE_SECONDS`
    before asking again: answers (which need only their response URL) do not queue behind an
    `auth.test` retried against a Slack API that is down.
    """

    RETRY_AFTER_FAILURE_SECONDS = 60.0

    def __init__(self, client: AsyncWebClient, *, known: frozenset[str] | None = None) -> None:
        self._client = client
        self._scopes = known
        self._lock = asyncio.Lock()
        self._failed_at: float | None = None

    async def allows(self, scope: str) -> bool:
        return scope in await self.get()

    async def get(self) -> frozenset[str]:
        """The scopes; empty (and asked again a minute later) when Slack cannot be reached."""
        if self._scopes is not None:
            return self._scopes
        if self._recently_failed():
            return frozenset()
        async with self._lock:
            if self._scopes is None and not self._recently_failed():
                try:
                    response = await self._client.auth_test()
                except Exception as exc:
                    self._failed_at = time.monotonic()
                    log.warning(
                        "auth.test failed (%s); assuming no optional Slack scopes for %g s",
                        describe_failure(exc),
                        self.RETRY_AFTER_FAILURE_SECONDS,
                    )
                    return frozenset()
                header = response.headers.get("x-oauth-scopes") or ""
                self._scopes = frozenset(s.strip() for s in str(header).split(",") if s.strip())
            return self._scopes or frozenset()

    def _recently_failed(self) -> bool:
        return (
            self._failed_at is not None
            and time.monotonic() - self._failed_at < self.RETRY_AFTER_FAILURE_SECONDS
        )


def describe_failure(exc: BaseException) -> str:
    """A Slack call's failure in one line without secrets: the error code or HTTP status, or
    the exception's type (never its URL, headers or token)."""
    response = getattr(exc, "response", None)
    if response is not None:
        data = getattr(response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        status = getattr(response, "status_code", None)
        return f"{code or 'HTTP'} {status}" if status else str(code or type(exc).__name__)
    return type(exc).__name__


# matplotlib's pyplot keeps global state: one figure at a time across threads.
_PNG_LOCK = threading.Lock()
#: Charts drawn lately (channels following one scope get the same chart): drawn once.
_PNG_CACHE: OrderedDict[Chart, bytes] = OrderedDict()
PNG_CACHE_SIZE = 64


def _png(chart: Chart) -> bytes:
    png = _PNG_CACHE.get(chart)  # a drawn chart is not held up by another one being drawn
    if png is not None:
        return png
    with _PNG_LOCK:
        png = _PNG_CACHE.get(chart)  # drawn meanwhile by the thread that held the lock
        if png is None:
            png = _PNG_CACHE[chart] = render_png(chart)
            while len(_PNG_CACHE) > PNG_CACHE_SIZE:
                _PNG_CACHE.popitem(last=False)
        return png


async def upload_chart_files(client: AsyncWebClient, card: Card) -> dict[Chart, str]:
    """Upload each chart of `card` as a PNG (files_upload_v2, shared to no channel) so that the
    message can show it in an image block; {chart: file id} of those uploaded.

    Best effort: a chart that fails to upload is drawn as a sparkline instead.
    """
    files: dict[Chart, str] = {}
    for chart in chart_blocks(card):
        try:
            png = await asyncio.to_thread(_png, chart)
            response = await client.files_upload_v2(
                file=png,
                filename="cloudoptima-chart.png",
                title=chart.title,
                alt_txt=chart_caption(chart),
            )
            uploaded = response.get("files") or [response.get("file") or {}]
            file_id = str(uploaded[0].get("id") or "")
            if file_id:
                files[chart] = file_id
        except Exception:
            log.warning("chart upload to Slack failed; drawing a sparkline", exc_info=True)
    return files


async def upload_charts(
    client: AsyncWebClient, card: Card, *, channel: str, thread_ts: str | None = None
) -> int:
    """Upload each chart of `card` as a PNG to `channel` (in a thread if given); returns count.

    Best effort: the message itself was already delivered, so a failed upload is logged only.
    """
    uploaded = 0
    for chart in chart_blocks(card):
        try:
            png = await asyncio.to_thread(_png, chart)
            await client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                file=png,
                filename="cloudoptima-chart.png",
                title=chart.title,
                alt_txt=chart_caption(chart),
            )
            uploaded += 1
        except Exception:
            log.warning("chart upload to Slack channel %s failed", channel, exc_info=True)
    return uploaded
