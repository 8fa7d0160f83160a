"""The Teams bot on the Microsoft 365 Agents SDK: /api/messages, card actions, install events.

Handlers stay thin: verify (the request guard), translate (translate.py), call the core
(synchronous, so in a thread), render (cards.py), send. The core claims every message and press
once, by activity id and (for presses) by card, verb and data, so a retried activity or a double
click never acts twice. No exception text ever reaches Teams or an HTTP response: the core never
raises, and anything else becomes a generic card with a reference that is also in the log.
"""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from http import HTTPStatus
from typing import Any

from aiohttp import web
from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    InvokeResponse,
)
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import (
    AgentApplication,
    ApplicationOptions,
    Connections,
    MemoryStorage,
    TurnContext,
    TurnState,
)
from pydantic import ValidationError

from adapters.teams import translate
from adapters.teams.auth import Refusal, RequestGuard, TeamsAuth, auth_configuration
from adapters.teams.cards import CONTENT_TYPE, ChartDrawer, draw_png, render_card
from adapters.teams.tokens import GuardedConnections, OutboundTokenError, RequestIdClientFactory
from core.delivery.conversations import disable_reference, reference_key, save_reference
from core.kernel.cards import Card
from core.kernel.clock import Clock
from core.kernel.service import REQUEST_ID, CloudOptima, internal_error_card, new_request_id

log = logging.getLogger(__name__)

ALREADY_HANDLED = "That button was just pressed; its result is on its way. Nothing was done twice."
_MESSAGE_TYPE = "application/vnd.microsoft.activity.message"


class TeamsBot:
    """Receives Teams activities for one CloudOptima engine."""

    def __init__(
        self,
        core: CloudOptima,
        clock: Clock,
        auth: TeamsAuth,
        *,
        connections: Connections | None = None,
        draw_chart: ChartDrawer | None = draw_png,
    ) -> None:
        self.core = core
        self.engine = core.engine
        self.clock = clock
        self._draw_chart = draw_chart
        configuration = auth_configuration(auth)
        #: Outbound tokens (replies, proactive sends); tests pass a stub. A failure to get one
        #: is an `OutboundTokenError` (see adapters/teams/tokens.py).
        self.connections: Connections = GuardedConnections(  # type: ignore[assignment]
            connections
            or MsalConnectionManager(
                connections_configurations={"SERVICE_CONNECTION": configuration}
            )
        )
        self.guard = RequestGuard(configuration, auth.openid_metadata_url)
        self.adapter = CloudAdapter(
            connection_manager=self.connections,
            channel_service_client_factory=RequestIdClientFactory(self.connections),
        )
        self.adapter.on_turn_error = self._on_turn_error
        self.app: AgentApplication[TurnState] = AgentApplication[TurnState](
            ApplicationOptions(
                storage=MemoryStorage(),
                remove_recipient_mention=False,  # done from the mention entities, below
                start_typing_timer=False,
            ),
            connection_manager=self.connections,
        )
        self.app.activity(ActivityTypes.message)(self._on_message)
        self.app.adaptive_card.action_execute(re.compile(r".+"))(self._on_execute)
        self.app.activity(ActivityTypes.conversation_update)(self._on_conversation_update)
        self.app.installation_update()(self._on_installation_update)
        self.app.error(self._on_turn_error)

    # -- HTTP ------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """POST /api/messages: authenticate, check the activity, hand it to the SDK."""
        identity = await self.guard.identify(request.headers.get("Authorization"))
        if isinstance(identity, Refusal):
            return _refuse(identity)
        try:
            activity = Activity.model_validate(await request.json())
        except (ValueError, ValidationError, UnicodeDecodeError, RecursionError):
            return _refuse(Refusal(400, "The body must be a Bot Framework activity (JSON)."))
        if not activity.type or not activity.conversation or not activity.conversation.id:
            return _refuse(Refusal(400, "The activity needs a type and a conversation id."))
        if not self.guard.service_url_allowed(identity, activity.service_url):
            log.warning("refused a Teams activity: serviceUrl does not match the token")
            return _refuse(Refusal(401, "The token does not allow this serviceUrl."))
        with warnings.catch_warnings():
            # The SDK reads the identity under this plain string key.
            warnings.simplefilter("ignore", web.NotAppKeyWarning)
            request["claims_identity"] = identity
        try:
            response = await self.adapter.process(request, self.app)
        except OutboundTokenError as exc:
            # Acknowledged: Teams retrying would meet the same failure.
            _log_token_failure(exc)
            return web.Response(status=HTTPStatus.ACCEPTED)
        if response is not None and response.status == HTTPStatus.NOT_IMPLEMENTED:
            # The SDK's answer to an invoke no handler takes (CloudOptima takes card actions
            # only): the client asked for something this bot does not do.
            return _refuse(Refusal(400, "This bot does not handle that kind of invoke."))
        return response if response is not None else web.Response(status=HTTPStatus.ACCEPTED)

    # -- turns -----------------------------------------------------------------------------------

    async def _on_message(self, context: TurnContext, _state: TurnState) -> None:
        activity = context.activity
        await self._remember(activity)
        submitted = translate.submitted_action(activity)
        if submitted is None:
            interaction = translate.message_interaction(activity)
            reply = await asyncio.to_thread(self.core.handle, interaction)
            if reply is not None:  # None: Teams retried an activity already answered
                await context.send_activity(await self._message(reply.card))
            return
        # Action.Submit: the fallback of Action.Execute on clients older than card version 1.4.
        action_id, value = submitted
        press = translate.press_interaction(
            activity, action_id, value, activity.value, self.clock.now()
        )
        reply = await asyncio.to_thread(self.core.handle, press)
        if reply is None:
            return
        message = await self._message(reply.card)
        if reply.replace_original and activity.reply_to_id:
            message.id = activity.reply_to_id
            await context.update_activity(message)
        else:
            await context.send_activity(message)

    async def _on_execute(
        self, context: TurnContext, _state: TurnState, data: Any
    ) -> AdaptiveCardInvokeResponse:
        """Action.Execute: run the action, answer with the card that replaces the pressed one."""
        activity = context.activity
        verb = str(activity.value["action"]["verb"])
        fields = data if isinstance(data, dict) else {}
        value = fields.get("value")
        press = translate.press_interaction(
            activity, verb, value if isinstance(value, str) else "", fields, self.clock.now()
        )
        reply = await asyncio.to_thread(self.core.handle, press)
        if reply is None:
            return AdaptiveCardInvokeResponse(
                status_code=HTTPStatus.OK, type=_MESSAGE_TYPE, value=ALREADY_HANDLED
            )
        card = await self._render(reply.card)
        return AdaptiveCardInvokeResponse(status_code=HTTPStatus.OK, type=CONTENT_TYPE, value=card)

    async def _on_conversation_update(self, context: TurnContext, _state: TurnState) -> None:
        activity = context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        added = {m.id for m in activity.members_added or []}
        removed = {m.id for m in activity.members_removed or []}
        if bot_id and bot_id in added:
            await self._remember(activity)
        elif bot_id and bot_id in removed:
            await self._forget(
                translate.base_conversation_id(activity), "The bot was removed from it."
            )
        elif translate.channel_event(activity) == "channelDeleted":
            channel_id = translate.deleted_channel_id(activity)
            if channel_id:
                await self._forget(channel_id, "The channel was deleted.")

    async def _on_installation_update(self, context: TurnContext, _state: TurnState) -> None:
        activity = context.activity
        action = (activity.action or "").lower()
        if action.startswith("add"):
            await self._remember(activity)
        elif action.startswith("remove"):
            await self._forget(translate.base_conversation_id(activity), "The app was removed.")

    async def _on_turn_error(self, context: TurnContext, error: Exception) -> None:
        """Last resort: log with a reference; the user sees only the reference."""
        if isinstance(error, OutboundTokenError):
            raise error  # nothing can be sent: `handle` acknowledges and logs it once
        reference = REQUEST_ID.get() or new_request_id()
        log.error("Teams turn failed (%s)", reference, exc_info=error)
        view = internal_error_card(reference)
        try:
            card = render_card(view, draw_chart=None)
            if context.activity.type == ActivityTypes.invoke:
                response = AdaptiveCardInvokeResponse(
                    status_code=HTTPStatus.OK, type=CONTENT_TYPE, value=card
                )
                await context.send_activity(
                    Activity(
                        type=ActivityTypes.invoke_response,
                        value=InvokeResponse(
                            status=HTTPStatus.OK,
                            body=response.model_dump(mode="json", by_alias=True, exclude_none=True),
                        ),
                    )
                )
            elif context.activity.type == ActivityTypes.message:
                await context.send_activity(translate.card_activity(view, card))
        except Exception:
            log.exception("could not tell the user about error %s", reference)

    # -- helpers ---------------------------------------------------------------------------------

    async def _render(self, view: Card) -> dict[str, Any]:
        return await asyncio.to_thread(render_card, view, draw_chart=self._draw_chart)

    async def _message(self, view: Card) -> Activity:
        return translate.card_activity(view, await self._render(view))

    async def _remember(self, activity: Activity) -> None:
        """Store (or refresh) where this conversation can be reached later."""
        record = translate.conversation_record(activity)
        if record is None:
            return
        try:
            await asyncio.to_thread(save_reference, self.engine, record, self.clock.now())
        except Exception:
            # Answering matters more than remembering; the next message retries.
            log.exception("could not store the Teams conversation reference")

    async def _forget(self, conversation_id: str, reason: str) -> None:
        if not conversation_id:
            return
        key = reference_key(conversation_id)
        await asyncio.to_thread(
            disable_reference, self.engine, translate.PLATFORM, key, reason, self.clock.now()
        )


def _log_token_failure(error: OutboundTokenError) -> None:
    log.error("Teams activity acknowledged but not answered: %s", error)


def _refuse(refusal: Refusal) -> web.Response:
    return web.json_response({"error": refusal.message}, status=refusal.status)
