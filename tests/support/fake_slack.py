"""A local fake of Slack on 127.0.0.1: Web API, response URLs, file uploads and Socket Mode.

Like bolt-python's `tests/mock_web_api_server`: real HTTP on a free port, canned answers, every
call recorded per path; posted messages are kept per channel and `chat.update` edits them.
Scripted answers (429 with Retry-After, 5xx bursts, Slack error codes,
"stored but answered 500") are queued per method with `script`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

DEFAULT_SCOPES = "commands,chat:write,files:write,channels:history,groups:history"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Scripted:
    status: int = 200
    body: dict[str, Any] | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: chat.postMessage: store the message even though the answer is an error (uncertain send).
    store: bool = False


class FakeSlack:
    """Start with `await fake.start()`; `fake.api_url` is the Web API base URL to configure."""

    def __init__(
        self, *, scopes: str = DEFAULT_SCOPES, channel_interval: float | None = None
    ) -> None:
        self.scopes = scopes
        #: Slack's per-channel posting limit: at most one chat.postMessage per this many seconds
        #: per channel; faster posts get 429 with a Retry-After (whole seconds, as Slack sends).
        self.channel_interval = channel_interval
        self.last_post: dict[str, float] = {}
        self.rate_limited: dict[str, int] = defaultdict(int)
        self.calls: dict[str, list[Call]] = defaultdict(list)
        self.answers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        #: The headers each answer to a response URL came with.
        self.answer_headers: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.uploads: dict[str, bytes] = {}
        self.channels: dict[str, list[dict[str, Any]]] = defaultdict(list)
        #: Channel id → the Slack error code every call about it gets (`refuse_channel`).
        self.refused_channels: dict[str, str] = {}
        #: User group id → its members' user ids (`usergroups.users.list`).
        self.usergroups: dict[str, list[str]] = {}
        #: Every view opened with `views.open` (modals).
        self.views: list[dict[str, Any]] = []
        self._scripts: dict[str, deque[Scripted]] = defaultdict(deque)
        self._last_ts = 0
        #: Seconds each response-URL answer takes to be accepted.
        self.respond_delay = 0.0
        #: Called after a scripted post was stored (e.g. a busy channel fills up meanwhile).
        self.after_stored_post: Any = None
        self._file_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()
        self.port = 0
        # Socket Mode: envelopes to push, acks received.
        self.socket_outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.socket_acks: list[dict[str, Any]] = []
        self.socket_connected = asyncio.Event()

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=10 * 1024**2)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base_url}/respond/{name}"

    # -- scripting and inspection --------------------------------------------------------------

    def script(
        self,
        method: str,
        *,
        status: int = 200,
        body: dict[str, Any] | str | None = None,
        headers: dict[str, str] | None = None,
        store: bool = False,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` like this (then the default again).

        `status=0` drops the connection instead of answering.
        """
        for _ in range(times):
            self._scripts[method].append(Scripted(status, body, headers or {}, store))

    def error(self, method: str, code: str, *, times: int = 1) -> None:
        """Answer `method` with Slack's usual `200 {"ok": false, "error": code}`."""
        self.script(method, body={"ok": False, "error": code}, times=times)

    def refuse_channel(self, channel: str, code: str = "channel_not_found") -> None:
        """Posts to and history of `channel` fail with `code` (a deleted channel, a kicked bot)."""
        self.refused_channels[channel] = code

    def calls_to(self, method: str) -> list[Call]:
        return self.calls[method]

    async def wait_for_answers(self, name: str, count: int = 1) -> list[Any]:
        """Wait until `count` answers reached response URL `name` (wrap in asyncio.timeout)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.answers[name]) >= count)
        return self.answers[name]

    async def wait_for_socket_acks(self, count: int = 1) -> list[dict[str, Any]]:
        """Wait until `count` Socket Mode acks came back (wrap in asyncio.timeout)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.socket_acks) >= count)
        return self.socket_acks

    # -- handlers ------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        self.calls[method].append(Call(method, params, dict(request.headers)))
        if self._scripts[method]:
            scripted = self._scripts[method].popleft()
            if scripted.store and method == "chat.postMessage":
                self._store_message(params)
                if self.after_stored_post is not None:
                    self.after_stored_post()
            if scripted.status == 0:  # drop the connection without answering
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            body = scripted.body if scripted.body is not None else {"ok": scripted.status < 400}
            if isinstance(body, str):
                return web.Response(status=scripted.status, text=body, headers=scripted.headers)
            return web.json_response(body, status=scripted.status, headers=scripted.headers)
        return await self._default(method, params)

    async def _default(self, method: str, params: dict[str, Any]) -> web.StreamResponse:
        refused = self.refused_channels.get(str(params.get("channel", "")))
        if refused and method in ("chat.postMessage", "conversations.history"):
            return web.json_response({"ok": False, "error": refused})
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "team_id": "T1", "user_id": "UBOT", "bot_id": "BBOT"},
                headers={"x-oauth-scopes": self.scopes},
            )
        if method == "chat.postMessage":
            if (limited := self._rate_limited(str(params.get("channel", "")))) is not None:
                return limited
            message = self._store_message(params)
            return web.json_response({"ok": True, "channel": params["channel"], **message})
        if method == "chat.update":
            return web.json_response(self._update_message(params))
        if method == "conversations.history":
            return web.json_response(self._history(params))
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._file_ids)}"
            return web.json_response(
                {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}
            )
        if method == "files.completeUploadExternal":
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else files
            return web.json_response({"ok": True, "files": files})
        if method == "usergroups.users.list":
            members = self.usergroups.get(str(params.get("usergroup", "")))
            if members is None:
                return web.json_response({"ok": False, "error": "no_such_subteam"})
            return web.json_response({"ok": True, "users": members})
        if method == "views.open":
            view = params.get("view")
            view = json.loads(view) if isinstance(view, str) else view
            self.views.append({"trigger_id": params.get("trigger_id"), "view": view})
            return web.json_response({"ok": True, "view": {"id": f"V{len(self.views)}", **view}})
        if method == "apps.connections.open":
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"})
        return web.json_response({"ok": True})

    def _rate_limited(self, channel: str) -> web.StreamResponse | None:
        if self.channel_interval is None:
            return None
        now = time.monotonic()
        last = self.last_post.get(channel)
        if last is not None and now - last < self.channel_interval:
            self.rate_limited[channel] += 1
            wait = math.ceil(self.channel_interval - (now - last))
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(max(wait, 1))},
            )
        self.last_post[channel] = now
        return None

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        """conversations.history as Slack pages it: newest first, `oldest`, `limit` (100 by
        default, at most 999), `cursor` / `response_metadata.next_cursor`, `has_more`."""
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        limit = min(int(params.get("limit", 100)), 999)
        oldest = float(params.get("oldest") or 0)
        newest_first = [
            m for m in reversed(self.channels[params["channel"]]) if float(m["ts"]) > oldest
        ]
        start = int(params.get("cursor") or 0)
        messages = newest_first[start : start + limit]
        if not with_metadata:
            messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
        more = start + limit < len(newest_first)
        answer: dict[str, Any] = {"ok": True, "messages": messages, "has_more": more}
        if more:
            answer["response_metadata"] = {"next_cursor": str(start + limit)}
        return answer

    def _next_ts(self) -> str:
        """Message timestamps as Slack makes them: the time, unique and increasing."""
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def post_filler(self, channel: str, count: int) -> None:
        """`count` messages by other people in `channel` (a busy channel)."""
        for n in range(count):
            ts = self._next_ts()
            self.channels[channel].append({"type": "message", "ts": ts, "text": f"chatter {n}"})

    def _store_message(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        metadata = params.get("metadata")
        message = {
            "type": "message",
            "ts": ts,
            "text": params.get("text", ""),
            "blocks": params.get("blocks", []),
        }
        if metadata:
            message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
        self.channels[params["channel"]].append(message)
        return {"ts": ts, "message": message}

    def _update_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """chat.update: replace text, blocks and metadata of the message `ts` in `channel`."""
        for message in self.channels[params.get("channel", "")]:
            if message["ts"] == params.get("ts"):
                message["text"] = params.get("text", "")
                message["blocks"] = params.get("blocks", [])  # as chat.postMessage stores them
                metadata = params.get("metadata")
                if metadata:
                    message["metadata"] = (
                        json.loads(metadata) if isinstance(metadata, str) else metadata
                    )
                message["edited"] = {"user": "UBOT", "ts": message["ts"]}
                return {"ok": True, "channel": params["channel"], "ts": message["ts"]}
        return {"ok": False, "error": "message_not_found"}

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        body = await request.json()
        if self.respond_delay:
            await asyncio.sleep(self.respond_delay)  # a slow Slack: the answer is in flight
        self.answers[name].append(body)
        self.answer_headers[name].append(dict(request.headers))
        async with self._arrived:
            self._arrived.notify_all()
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        data = await request.read()
        self.uploads[file_id] = data
        return web.Response(text=f"OK - {len(data)}")

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})
        self.socket_connected.set()

        async def push() -> None:
            while True:
                await ws.send_json(await self.socket_outbox.get())

        pusher = asyncio.create_task(push())
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self.socket_acks.append(json.loads(message.data))
                    async with self._arrived:
                        self._arrived.notify_all()
        finally:
            pusher.cancel()
        return ws
