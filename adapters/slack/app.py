"""The Slack front door: `/optima` and button presses, over HTTP or Socket Mode.

Listeners stay thin: verify, ack, translate, call the core, render, send. The signature is
checked once, by our guard in front of bolt (bolt's own verification is switched off, as bolt
documents for a verifying proxy). Over HTTP, the guard also acks our slash commands and button
presses itself (`_ack_at_once`, what the listeners do, without bolt's per-request work); bolt
dispatches everything else, and everything over Socket Mode. The ack goes back at once (Slack
allows 3 s); the command runs afterwards in a tracked background task and answers through the
interaction's `response_url`.
The core claims every interaction once (`core.kernel.interaction`), so a redelivery or a double
click never runs twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import translate
from adapters.slack.blocks import (
    FORM_CALLBACK_ID,
    ChartMode,
    chart_blocks,
    modal_view,
    render_card,
)
from adapters.slack.client import (
    BotScopes,
    Sleep,
    make_web_client,
    request_id_headers,
    upload_charts,
)
from adapters.slack.verify import RequestVerifier
from core.kernel.cards import Button, Card, Reply, Visibility
from core.kernel.interaction import Interaction
from core.kernel.service import REQUEST_ID, CloudOptima, internal_error_card, new_request_id

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
#: `/optima`, and renamed copies such as `/optima-staging`.
COMMAND_PATTERN = re.compile(r"^/optima[a-z0-9_-]*$")
#: Every button CloudOptima draws; the core decides which action ids exist.
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_.]*(#[0-9]+)?$")
RESPONSE_URL_TIMEOUT_SECONDS = 15


class SlackBot:
    """A bolt `AsyncApp` wired to the core, plus its HTTP route and Socket Mode runner."""

    def __init__(
        self,
        core: CloudOptima,
        *,
        signing_secret: str | None,
        bot_token: str,
        api_url: str | None = None,
        scopes: frozenset[str] | None = None,
        sleep: Sleep = asyncio.sleep,
        now: Callable[[], float] = time.time,
        max_concurrent_answers: int = 2,
        ack_first: AckFirst | None = None,
    ) -> None:
        self.core = core
        # Socket Mode needs no signing secret; without one every HTTP request is refused.
        self.verifier = RequestVerifier(signing_secret, now=now) if signing_secret else None
        self.client = make_web_client(bot_token, api_url=api_url, sleep=sleep)
        self.scopes = BotScopes(self.client, known=scopes)
        self._tasks: set[asyncio.Task[None]] = set()
        # Answers run after their ack; a few at a time, so that a burst of commands cannot
        # starve the event loop (and the GIL) that acks the next ones within Slack's 3 s.
        self._answer_slots = asyncio.Semaphore(max_concurrent_answers)
        self.ack_first = ack_first or AckFirst()
        self._session: aiohttp.ClientSession | None = None

        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return AuthorizeResult(
                enterprise_id=enterprise_id, team_id=team_id, bot_token=bot_token
            )

        self.app = AsyncApp(
            name="cloudoptima",
            signing_secret=signing_secret or "",
            # No token on bolt's own client: `authorize` hands bolt the token without the
            # auth.test round trip a token-only app makes on its first request.
            client=AsyncWebClient(base_url=self.client.base_url),
            authorize=authorize,
            # Our listeners only ack and hand the work to a task: run them inline, so the ack
            # goes back without bolt's extra task and 10 ms polling for it.
            process_before_response=True,
            # `handle_http` checked the signature already (and refuses before bolt sees a
            # request); Socket Mode needs none.
            request_verification_enabled=False,
            logger=logging.getLogger("slack_bolt.cloudoptima"),
        )

        # Bolt injects listener arguments by parameter name: plain functions, not methods.
        @self.app.command(COMMAND_PATTERN)
        async def on_command(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            self._spawn(self._answer_command(body))

        @self.app.block_action(ACTION_PATTERN)
        async def on_block_action(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            self._spawn(self._answer_block_action(body))

        @self.app.view_submission(FORM_CALLBACK_ID)
        async def on_form(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()  # closes the modal; the answer updates the message it came from
            self._spawn(self._answer_form(body))

    # -- transport -----------------------------------------------------------------------------

    def mount(self, web_app: web.Application) -> None:
        """Add `POST /slack/events` (slash commands and interactivity) to an aiohttp app."""
        web_app.router.add_post(EVENTS_PATH, self.handle_http)

    async def handle_http(self, request: web.Request) -> web.StreamResponse:
        """Refuse anything not signed by Slack (401, never 500), then let bolt dispatch it."""
        with self.ack_first.request():
            return await self._handle_http(request)

    async def _handle_http(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        problem = (
            self.verifier.problem(request.headers, body)
            if self.verifier
            else "no signing secret configured"
        )
        if problem is not None:
            log.warning("refused a Slack request: %s", problem)
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            text = body.decode("utf-8")
            translate.parse_body(text, request.headers.get("Content-Type"))
        except UnicodeDecodeError:
            return _malformed("the body is not UTF-8")
        except ValueError as exc:
            return _malformed(str(exc))
        acked = self._ack_at_once(text)
        if acked is not None:
            return acked
        bolt_request = AsyncBoltRequest(
            body=text, query=request.query_string, headers=translate.plain_headers(request.headers)
        )
        answer = await self.app.async_dispatch(bolt_request)
        if answer.status >= 500:
            # Our listeners only ack and hand the work on: a failure in bolt is bolt reading a
            # signed body of a shape Slack never sends. The client's mistake, not a 500.
            return _malformed(f"bolt could not read it (it answered {answer.status})")
        return await to_aiohttp_response(answer)

    def _ack_at_once(self, text: str) -> web.Response | None:
        """Ack a slash command or a button press of ours right here; None for anything else
        (bolt dispatches it).

        What the listeners below do, without bolt's per-request work (its middleware chain, a
        Web API client and context per request, listener matching): on a 2-core host that was
        most of an ack's CPU, which a burst of 500 commands queues up behind the last one.
        """
        form = parse_qs(text, keep_blank_values=True)
        if "ssl_check" in form:
            return None
        command = form.get("command", [""])[0]
        if command:
            if not COMMAND_PATTERN.match(command):
                return None
            self._spawn(self._answer_command({name: values[0] for name, values in form.items()}))
            return web.Response(status=200)
        payload_text = form.get("payload", [""])[0]
        if not payload_text:
            return None
        try:
            payload = json.loads(payload_text)
        except ValueError:
            return None
        if not isinstance(payload, dict) or payload.get("type") != "block_actions":
            return None
        actions = payload.get("actions")
        if not isinstance(actions, list) or not all(
            isinstance(action, dict) and ACTION_PATTERN.match(str(action.get("action_id", "")))
            for action in actions
        ):
            return None
        self._spawn(self._answer_block_action(payload))
        return web.Response(status=200)

    async def run_socket_mode(self, app_token: str, stop: asyncio.Event | None = None) -> None:
        """Receive interactions over Socket Mode (no public URL needed) until `stop` is set or
        cancelled."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(
            self.app, app_token, web_client=AsyncWebClient(base_url=self.client.base_url)
        )
        await handler.connect_async()
        log.info("connected to Slack over Socket Mode")
        try:
            await (stop or asyncio.Event()).wait()
        finally:
            await handler.close_async()

    async def drain(self) -> None:
        """Wait for every answer still being worked on (tests, graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Finish the answers in flight, then release the HTTP connections."""
        await self.drain()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- listeners (ack first, work later) -----------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._in_slot(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _in_slot(self, work: Coroutine[Any, Any, None]) -> None:
        await self.ack_first.wait()
        async with self._answer_slots:
            await work

    # -- the work after the ack ----------------------------------------------------------------

    async def _answer_command(self, body: Mapping[str, Any]) -> None:
        response_url = str(body.get("response_url", ""))
        interaction = translate.command_interaction(body)
        try:
            reply = await asyncio.to_thread(self.core.handle, interaction)
            if reply is None:
                return  # a redelivery: the first delivery is answering
            public = reply.visibility is Visibility.PUBLIC
            upload = public and await self._may_upload_charts(reply.card)
            # Rendering (tables, sparklines, money) takes CPU: off the loop that acks.
            payload = await asyncio.to_thread(
                render_card,
                reply.card,
                chart_mode=ChartMode.IMAGE if upload else ChartMode.SPARKLINE,
                nonce=_nonce(),
            )
            await self._respond(
                response_url, payload, response_type="in_channel" if public else "ephemeral"
            )
            if upload:
                channel = interaction.requester.conversation_id
                await upload_charts(self.client, reply.card, channel=channel)
        except Exception:
            await self._apologise(response_url, "slash command")

    async def _answer_block_action(self, body: Mapping[str, Any]) -> None:
        response_url = str(body.get("response_url", ""))
        interaction = translate.action_interaction(body)
        if interaction is None:
            return
        try:
            reply = await asyncio.to_thread(self.core.handle, interaction)
            if reply is None:
                return  # the same rendered button was pressed (or delivered) before
            if reply.form is not None and body.get("trigger_id"):
                await self._open_form(reply.form.button, interaction, body, response_url)
                return
            await self._deliver(reply, response_url)
        except Exception:
            what = interaction.press.action_id if interaction.press else "?"
            await self._apologise(response_url, f"button {what[:60]!r}")

    async def _open_form(
        self, button: Button, interaction: Interaction, body: Mapping[str, Any], url: str
    ) -> None:
        """The button asks first: a modal (the trigger id is valid for 3 s after the click)."""
        metadata = translate.form_metadata(interaction, url)
        await self.client.views_open(
            trigger_id=str(body["trigger_id"]), view=modal_view(button, metadata)
        )

    async def _answer_form(self, body: Mapping[str, Any]) -> None:
        found = translate.submission_interaction(body)
        if found is None:
            return
        interaction, response_url = found
        try:
            reply = await asyncio.to_thread(self.core.handle, interaction)
            if reply is not None:
                await self._deliver(reply, response_url)
        except Exception:
            await self._apologise(response_url, "form")

    async def _deliver(self, reply: Reply, response_url: str) -> None:
        """A button's answer: the message replaced in place, or a new (private) one."""
        payload = await asyncio.to_thread(render_card, reply.card, nonce=_nonce())
        if reply.replace_original:
            await self._respond(response_url, payload, replace_original=True)
            return
        public = reply.visibility is Visibility.PUBLIC
        response_type = "in_channel" if public else "ephemeral"
        await self._respond(
            response_url, payload, response_type=response_type, replace_original=False
        )

    async def _may_upload_charts(self, card: Card) -> bool:
        return bool(chart_blocks(card)) and await self.scopes.allows("files:write")

    async def _respond(self, response_url: str, payload: Mapping[str, Any], **extra: Any) -> None:
        """Answer through the interaction's response URL (what bolt's `respond` does, on one
        shared connection pool instead of a new session per answer)."""
        if not response_url:
            log.warning("a Slack interaction came without a response URL; nothing to answer")
            return
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=RESPONSE_URL_TIMEOUT_SECONDS)
            )
        message = {"text": payload["text"], "blocks": payload["blocks"], **extra}
        result = await AsyncWebhookClient(url=response_url, session=self._session).send_dict(
            message, headers=request_id_headers()
        )
        if result.status_code != 200:
            # Expired (30 min) or used up (5 answers) response URLs end here; nothing to retry.
            log.warning(
                "Slack refused an answer on its response URL: %s %s",
                result.status_code,
                str(result.body)[:200],
            )

    async def _apologise(self, response_url: str, what: str) -> None:
        reference = REQUEST_ID.get() or new_request_id()
        log.exception("unexpected error %s while answering a Slack %s", reference, what)
        try:
            await self._respond(
                response_url,
                render_card(internal_error_card(reference)),
                response_type="ephemeral",
                replace_original=False,
            )
        except Exception:
            log.warning("could not deliver the apology %s to Slack", reference, exc_info=True)


class AckFirst:
    """Ack-first scheduling: deferred answers start once no Slack request is being acked.

    Every Slack request must be acked within 3 s; its answer may follow any time within 30 min.
    In a burst, the answers (database queries in threads, which also take the GIL) would
    otherwise slow the acks of the requests still arriving. Answers wait until no request has
    been in flight for `quiet_seconds`, and never longer than `max_delay_seconds` (3 s: a
    burst of 500 commands is acked well within it, and an answer may take 30 minutes). The
    quiet window is 200 ms: on a busy host a burst's requests arrive with gaps over 50 ms, and
    answers started in such a gap held the GIL while the rest of the burst waited for its ack.

    Waiting costs the event loop nothing while a burst is acked: waiters sleep on one event,
    set by one timer once the requests stopped (no polling per waiting answer — with 500
    answers waiting, polling was thousands of wake-ups a second on the loop doing the acks).
    """

    def __init__(self, *, quiet_seconds: float = 0.2, max_delay_seconds: float = 3.0) -> None:
        self.quiet = quiet_seconds
        self.max_delay = max_delay_seconds
        self._in_flight = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._timer: asyncio.TimerHandle | None = None

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        self._in_flight += 1
        self._quiet.clear()
        self._cancel_timer()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._cancel_timer()
                self._timer = asyncio.get_running_loop().call_later(self.quiet, self._become_quiet)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _become_quiet(self) -> None:
        self._timer = None
        if self._in_flight == 0:
            self._quiet.set()

    async def wait(self) -> None:
        if self._quiet.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), self.max_delay)


def _malformed(why: str) -> web.Response:
    """A signed request Slack would never send (a bug or a replayed, altered body): 400."""
    log.info("refused a malformed Slack request: %s", why)
    return web.json_response({"error": "invalid request", "detail": why}, status=400)


def _nonce() -> str:
    return secrets.token_hex(4)
