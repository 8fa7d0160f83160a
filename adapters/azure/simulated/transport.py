"""An azure-core async transport that answers from Python handlers instead of the network.

The real SDK clients run unchanged on top of it (serialization, policies, retries,
deserialization); only the HTTP hop is replaced. A `Router` maps method + URL regex to handlers,
so new endpoints (Advisor, Monitor metrics, reservations, retail prices) are one `add` each.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from types import TracebackType
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.transport import AsyncHttpTransport
from azure.core.rest import AsyncHttpResponse, HttpRequest
from azure.core.utils import CaseInsensitiveDict

ARM = "https://management.azure.com"
SIMULATED_TOKEN = "simulated-token"  # not a secret: what the simulated endpoints accept


@dataclass
class SimulatedResponse:
    """What a handler answers: status, JSON-able body (or raw bytes / None), headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, separators=(",", ":")).encode()


def arm_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> SimulatedResponse:
    """An ARM error response: `{"error": {"code", "message"}}`."""
    return SimulatedResponse(
        status,
        {"error": {"code": code, "message": message}},
        {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def request_json(request: HttpRequest) -> Any:
    """The request body: parsed JSON, or the form fields of a form post (None when empty)."""
    content = request.content
    if isinstance(content, Mapping):  # form data (token requests)
        return dict(content)
    if content is None or content in (b"", ""):
        return None
    if isinstance(content, bytes | bytearray):
        content = content.decode()
    if not isinstance(content, str):
        return None
    return json.loads(content)


Handler = Callable[
    [HttpRequest, "re.Match[str]"], "SimulatedResponse | Awaitable[SimulatedResponse]"
]


@dataclass(frozen=True)
class Fault:
    """Something to do to one call of a route instead of (or after) answering it normally.

    `response` replaces the answer (a 429, a 500 …); `corrupt` edits a copy of a successful
    answer's JSON body in place (a column dropped, a value mistyped …).
    """

    response: SimulatedResponse | None = None
    corrupt: Callable[[Any], None] | None = None


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    name: str
    #: Whether callers must present the simulated bearer token (ARM does; retail prices don't).
    authenticated: bool = True


class Router:
    """Method + URL regex → handler. The first matching route answers; unmatched → 404.

    Calls are counted per route name, and faults can be planned for given calls of a route.
    """

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._calls: Counter[str] = Counter()
        self._faults: dict[tuple[str, int], Fault] = {}

    def add(
        self,
        method: str,
        pattern: str,
        handler: Handler,
        *,
        name: str = "",
        authenticated: bool = True,
    ) -> Route:
        """Register a handler; `pattern` is matched (case-insensitively) against the full URL."""
        route = Route(
            method.upper(),
            re.compile(pattern, re.IGNORECASE),
            handler,
            name or pattern,
            authenticated,
        )
        self._routes.append(route)
        return route

    def routes(self) -> Iterator[Route]:
        return iter(self._routes)

    def calls(self, route_name: str) -> int:
        """How many requests the route has answered so far."""
        return self._calls[route_name]

    def inject(self, route_name: str, fault: Fault, *, times: int = 1, after: int = 0) -> None:
        """Apply `fault` to `times` consecutive calls, starting `after` calls from now."""
        start = self._calls[route_name] + after
        for i in range(times):
            self._faults[(route_name, start + i)] = fault

    async def dispatch(
        self, request: HttpRequest, *, token: str | None = None
    ) -> SimulatedResponse:
        """Answer `request`; routes that need authentication want `Bearer <token>`."""
        for route in self._routes:
            if route.method != request.method.upper():
                continue
            match = route.pattern.search(request.url)
            if match is None:
                continue
            bearer = request.headers.get("Authorization", "")
            if route.authenticated and token is not None and bearer != f"Bearer {token}":
                return arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.")
            call = self._calls[route.name]
            self._calls[route.name] += 1
            fault = self._faults.pop((route.name, call), None)
            if fault is not None and fault.response is not None:
                return fault.response
            if inspect.iscoroutinefunction(route.handler):
                answer = await route.handler(request, match)
            else:
                # Computing an answer (a cost query over the simulated estate) takes CPU: in a
                # worker thread, the event loop keeps acking chat requests meanwhile (`serve`
                # in demo mode ingests at start while people type commands).
                answer = await asyncio.to_thread(route.handler, request, match)
                if isinstance(answer, Awaitable):
                    answer = await answer
            if fault is not None and fault.corrupt is not None and answer.status == 200:
                body = copy.deepcopy(answer.body)
                fault.corrupt(body)
                answer = replace(answer, body=body)
            return answer
        return arm_error(
            404, "NotFound", f"No simulated endpoint for {request.method} {request.url}"
        )


class SimulatedHttpResponse(AsyncHttpResponse):
    """A complete, already-read response (public azure-core ABC plus the legacy `body()`)."""

    def __init__(self, request: HttpRequest, answer: SimulatedResponse) -> None:
        self._request = request
        self._status = answer.status
        self._content = answer.encoded()
        headers = dict(answer.headers)
        if self._content and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers.setdefault("Content-Length", str(len(self._content)))
        self._headers = CaseInsensitiveDict(headers)
        self._closed = False

    @property
    def request(self) -> HttpRequest:
        return self._request

    @property
    def status_code(self) -> int:
        return self._status

    @property
    def headers(self) -> CaseInsensitiveDict:
        return self._headers

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self._status).phrase
        except ValueError:
            return ""

    @property
    def content_type(self) -> str | None:
        return self._headers.get("Content-Type")

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def is_stream_consumed(self) -> bool:
        return True

    @property
    def encoding(self) -> str | None:
        return "utf-8"

    @encoding.setter
    def encoding(self, value: str | None) -> None:  # the ABC lets callers set it
        pass

    @property
    def url(self) -> str:
        return self._request.url

    @property
    def content(self) -> bytes:
        return self._content

    def body(self) -> bytes:  # legacy API used by msrest-era SDKs (Advisor)
        return self._content

    def text(self, encoding: str | None = None) -> str:
        return self._content.decode(encoding or "utf-8")

    def json(self) -> Any:
        return json.loads(self._content) if self._content else None

    def raise_for_status(self) -> None:
        if self._status >= 400:
            raise HttpResponseError(response=self)

    async def read(self) -> bytes:
        return self._content

    async def iter_raw(self, **kwargs: Any) -> AsyncIterator[bytes]:
        yield self._content

    async def iter_bytes(self, **kwargs: Any) -> AsyncIterator[bytes]:
        yield self._content

    async def close(self) -> None:
        self._closed = True

    def stream_download(self, pipeline: Any, **kwargs: Any) -> _StreamDownload:
        """The legacy transport API `azure-storage-blob` downloads through."""
        return _StreamDownload(self)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class _StreamDownload:
    """What `stream_download` hands the storage SDK: the response, and its body in chunks
    (the SDK attaches the blob's properties to it)."""

    def __init__(self, response: SimulatedHttpResponse) -> None:
        self.response = response
        self.content_length = len(response.content)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.response.iter_bytes()


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    body: Any


class SimulatedTransport(AsyncHttpTransport):  # type: ignore[type-arg]
    """Serves a `Router` to SDK clients; records requests and the sleeps of retry policies.

    Sleeping is recorded and skipped (the simulation needs no real waiting); pass `sleep` to
    also wait for real. Routes that need authentication answer 401 to requests without
    `Bearer <require_token>` (None: no check).
    """

    def __init__(
        self,
        router: Router,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        require_token: str | None = SIMULATED_TOKEN,
        record_limit: int = 1000,
    ) -> None:
        self.router = router
        self.sleeps: list[float] = []
        self.requests: list[RecordedRequest] = []
        self._sleep = sleep
        self._require_token = require_token
        self._record_limit = record_limit

    async def send(self, request: HttpRequest, **kwargs: Any) -> SimulatedHttpResponse:
        if len(self.requests) < self._record_limit:
            try:
                body = request_json(request)
            except ValueError:
                body = request.content
            self.requests.append(RecordedRequest(request.method, request.url, body))
        answer = await self.router.dispatch(request, token=self._require_token)
        return SimulatedHttpResponse(request, answer)

    async def sleep(self, duration: float) -> None:
        self.sleeps.append(duration)
        if self._sleep is not None:
            await self._sleep(duration)

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> SimulatedTransport:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        pass


class StaticTokenCredential:
    """An async token credential that always hands out the simulated tenant's token."""

    def __init__(self, token: str = SIMULATED_TOKEN) -> None:
        self.token = token
        self.requests = 0

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.requests += 1
        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> StaticTokenCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        pass
