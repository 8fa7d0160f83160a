"""Middlewares every route shares: a request id end to end, and client mistakes as 4xx.

- `request_ids`: the caller's `X-Request-ID` (when it is a plausible id) or a new one, bound to
  `core.kernel.service.REQUEST_ID` for the whole handling — every log line, the core, the
  answers and outbound calls made for it (tasks and threads started from it inherit it) — and
  echoed in the response.
- `client_mistakes`: a body the client stopped sending (a disconnect, a short body) is a 400,
  logged at debug level without a traceback: it is the client's doing, and anyone can do it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from core.kernel.service import REQUEST_ID, new_request_id

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_PLAUSIBLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def inbound_request_id(value: str | None) -> str:
    """The caller's id when it is 1-64 characters of `A-Z a-z 0-9 . _ : -`, else a new one
    (an id is copied into logs and headers: nothing else gets through)."""
    if value and _PLAUSIBLE_ID.fullmatch(value):
        return value
    return new_request_id()


@web.middleware
async def request_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = inbound_request_id(request.headers.get(REQUEST_ID_HEADER))
    token = REQUEST_ID.set(request_id)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers[REQUEST_ID_HEADER] = request_id
        raise
    finally:
        REQUEST_ID.reset(token)
    if not response.prepared:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


@web.middleware
async def client_mistakes(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (ConnectionResetError, aiohttp.ClientPayloadError, asyncio.IncompleteReadError):
        log.debug(
            "request body cut off by the client",
            extra={"method": request.method, "path": request.path},
        )
        return web.json_response({"error": "the request body was cut off"}, status=400)
