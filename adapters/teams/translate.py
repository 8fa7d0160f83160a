"""Translating Bot Framework activities: the core's neutral `Interaction` (command text or a
card button, who asked, the delivery's identities), where to post later, and the messages the
bot sends.

Pure functions of an `Activity` (and, for button presses, the time); no I/O.

A delivery is identified by its activity id (Teams retries an activity with the same id). A
button press is also identified by the card, verb and data it carries within
`DUPLICATE_WINDOW_SECONDS`: Teams gives every click a new activity id, so a double click — or two
people pressing one button in a channel — would otherwise act twice. Presses are bucketed on two
grids of twice the window, offset by one window: two presses closer than the window always share
a bucket on one grid; presses two windows apart never do. The kernel claims every identity
(`core.kernel.interaction`); a press runs only if none was claimed before.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import datetime
from typing import Any

from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    Attachment,
    ConversationAccount,
    ConversationReference,
)

from adapters.teams.cards import CONTENT_TYPE
from core.delivery.conversations import ConversationRecord
from core.delivery.tables import ConversationScope
from core.kernel.cards import ASK_CHOICE, ASK_TEXT, Card
from core.kernel.context import Platform, Requester
from core.kernel.interaction import Interaction

PLATFORM = Platform.TEAMS
#: Presses of the same button on the same card within this many seconds count as one.
DUPLICATE_WINDOW_SECONDS = 15
_MESSAGE_ID_SUFFIX = re.compile(r";messageid=\d+$", re.IGNORECASE)


def card_activity(view: Card, card: dict[str, Any]) -> Activity:
    """A message carrying the rendered `card` (its summary shows in notifications, previews).

    An empty summary is left out: the SDK's `Activity` refuses an empty string (and None).
    """
    summary = {"summary": view.summary} if view.summary else {}
    return Activity(
        type=ActivityTypes.message,
        attachments=[Attachment(content_type=CONTENT_TYPE, content=card)],
        **summary,
    )


def command_text(activity: Activity) -> str:
    """The command in a message, without the @mentions of the bot.

    Teams puts `<at>CloudOptima</at>` in the text and a `mention` entity naming the bot; the
    entity says exactly which text to remove (the display name can be anything the team chose).
    """
    text = activity.text or ""
    bot_id = activity.recipient.id if activity.recipient else None
    for mention in activity.get_mentions():
        if not mention.mentioned or not bot_id or mention.mentioned.id != bot_id:
            continue
        tag = mention.text or f"<at>{mention.mentioned.name or ''}</at>"
        text = re.sub(re.escape(tag), " ", text, flags=re.IGNORECASE)
    return html.unescape(text).strip()


def submitted_action(activity: Activity) -> tuple[str, str] | None:
    """`(action id, value)` of an `Action.Submit` press (old clients' fallback), if this is one."""
    value = activity.value
    if activity.text or not isinstance(value, dict):
        return None
    verb, payload = value.get("verb"), value.get("value")
    if not isinstance(verb, str) or not verb:
        return None
    return verb, payload if isinstance(payload, str) else ""


def base_conversation_id(activity: Activity) -> str:
    """The conversation's id without the thread suffix (`19:…@thread.tacv2;messageid=…`)."""
    conversation_id = activity.conversation.id if activity.conversation else ""
    return _MESSAGE_ID_SUFFIX.sub("", conversation_id or "")


def tenant_id(activity: Activity) -> str:
    if activity.conversation and activity.conversation.tenant_id:
        return activity.conversation.tenant_id
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant")
    return str(tenant.get("id", "")) if isinstance(tenant, dict) else ""


def requester_of(activity: Activity) -> Requester:
    """The person behind an activity; the Entra object id when Teams sends it (admins list it)."""
    sender = activity.from_property
    user_id = (sender.aad_object_id or sender.id) if sender else ""
    return Requester(
        platform=Platform.TEAMS,
        user_id=user_id or "",
        user_name=(sender.name or "") if sender else "",
        conversation_id=base_conversation_id(activity),
        workspace_id=tenant_id(activity),
    )


def conversation_scope(activity: Activity) -> ConversationScope:
    kind = activity.conversation.conversation_type if activity.conversation else None
    if kind in {s.value for s in ConversationScope}:
        return ConversationScope(kind)
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    if data.get("team") or data.get("channel"):
        return ConversationScope.CHANNEL
    if activity.conversation and activity.conversation.is_group:
        return ConversationScope.GROUP_CHAT
    return ConversationScope.PERSONAL


def conversation_record(activity: Activity) -> ConversationRecord | None:
    """What to store to post into this conversation later; None without enough to resume it.

    The stored reference drops what changes from message to message (the message id, the last
    speaker in shared conversations), so a refresh rewrites the row only when the conversation
    itself changed, and a proactive post starts a new message rather than replying in a thread.
    """
    conversation_id = base_conversation_id(activity)
    if not conversation_id or not activity.service_url:
        return None
    scope = conversation_scope(activity)
    tenant = tenant_id(activity)
    reference: ConversationReference = activity.get_conversation_reference()
    # Per message, not per conversation: the message id, the SDK's request id, the locale.
    reference.activity_id = None
    reference.request_id = None
    reference.locale = None
    reference.conversation = ConversationAccount(
        id=conversation_id,
        name=conversation_name(activity, scope),
        conversation_type=scope.value,
        tenant_id=tenant or None,
        is_group=scope is not ConversationScope.PERSONAL,
    )
    if scope is not ConversationScope.PERSONAL:
        reference.user = None
    elif reference.user is not None:
        reference.user = reference.user.model_copy(update={"role": None})
    data: dict[str, Any] = reference.model_dump(mode="json", by_alias=True, exclude_none=True)
    return ConversationRecord(
        platform=str(PLATFORM),
        conversation_id=conversation_id,
        service_url=activity.service_url,
        tenant_id=tenant,
        scope=scope,
        reference=data,
    )


def conversation_name(activity: Activity, scope: ConversationScope) -> str | None:
    """How people call the conversation, for showing a Teams target: "costs in FinOps" (a
    channel and its team; Teams leaves the General channel unnamed), a group chat's topic, or
    "personal chat with Ann"."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    if scope is ConversationScope.CHANNEL:
        team = (data.get("team") or {}).get("name")
        channel = (data.get("channel") or {}).get("name") or "General"
        return f"{channel} in {team}" if team else str(channel)
    if scope is ConversationScope.GROUP_CHAT:
        return (activity.conversation.name if activity.conversation else None) or "a group chat"
    user = activity.from_property.name if activity.from_property else None
    return f"personal chat with {user}" if user else "a personal chat"


def channel_event(activity: Activity) -> str | None:
    """Teams' `channelData.eventType` (channelDeleted, teamDeleted ...), if any."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    event = data.get("eventType")
    return event if isinstance(event, str) else None


def deleted_channel_id(activity: Activity) -> str | None:
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    channel = data.get("channel")
    return str(channel["id"]) if isinstance(channel, dict) and channel.get("id") else None


# -- interactions ---------------------------------------------------------------------------------


def message_interaction(activity: Activity) -> Interaction:
    """A message: a command line, claimed by its activity id."""
    return Interaction.command(requester_of(activity), command_text(activity), *_delivery(activity))


def press_interaction(
    activity: Activity, verb: str, value: str, data: Any, now: datetime
) -> Interaction:
    """A card button (`Action.Execute` verb, or an `Action.Submit` fallback) pressed at `now`.

    `data` is everything the button carried (it identifies the press); `value` is what the
    core's action handler gets.
    """
    press = json.dumps(
        [base_conversation_id(activity), activity.reply_to_id, verb, data],
        sort_keys=True,
        default=str,
    )
    moment = now.timestamp()
    size = 2 * DUPLICATE_WINDOW_SECONDS
    buckets = [
        "press:"
        + hashlib.sha256(f"{press}|{grid}{int((moment + offset) // size)}".encode()).hexdigest()
        for grid, offset in (("a", 0), ("b", DUPLICATE_WINDOW_SECONDS))
    ]
    return Interaction.button(
        requester_of(activity),
        verb,
        value,
        *_delivery(activity),
        *buckets,
        inputs=_inputs(data),
    )


def _inputs(data: Any) -> dict[str, str]:
    """What the card's inputs (Input.Text, Input.ChoiceSet) sent along with the press."""
    if not isinstance(data, dict):
        return {}
    return {
        name: data[name]
        for name in (ASK_TEXT, ASK_CHOICE)
        if isinstance(data.get(name), str) and data[name].strip()
    }


def _delivery(activity: Activity) -> tuple[str, ...]:
    return (f"activity:{activity.id}",) if activity.id else ()
