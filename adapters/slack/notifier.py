"""Proactive Slack posts (budget alerts, anomalies, digests): the `Notifier` for Slack channels;
`update` edits an earlier post with `chat.update` (an incident's later days).

Slack has no idempotency key, so each message carries its delivery's key in message metadata
(`event_type` `cloudoptima_delivery`). After an uncertain failure (a 5xx, a dropped connection, a
timeout: Slack may have stored the message anyway) the channel's history is searched for that
key before anything is posted again; the outbox does the same through `was_delivered`. The
search pages back (`oldest`, cursors) to the delivery's first attempt, so a busy channel where
hundreds of messages landed since still finds it; it stops after `HISTORY_MAX_PAGES` pages.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Sequence
from typing import Any

from aiohttp import ClientConnectorError, ClientError
from slack_sdk.errors import SlackApiError

from adapters.slack.blocks import ChartMode, chart_blocks, render_card
from adapters.slack.client import (
    UNCERTAIN_POST_CHECK,
    BotScopes,
    Sleep,
    describe_failure,
    make_web_client,
    retry_after_seconds,
    upload_chart_files,
)
from core.delivery.ports import Delivery, DeliveryError
from core.delivery.targets import TargetKind
from core.kernel.cards import Chart

log = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "cloudoptima_delivery"
#: Messages per page of channel history searched for a delivery's key (Slack allows up to 999
#: and recommends at most 200).
HISTORY_LIMIT = 200
#: Pages read at most: a search covers the messages since the first attempt, up to this many.
HISTORY_MAX_PAGES = 10
#: Looked back further than the first attempt by this much (clocks differ).
HISTORY_MARGIN_SECONDS = 120.0

_TOKEN_PROBLEM = (
    "The Slack bot token is invalid, revoked or belongs to a deactivated workspace: reinstall "
    "the app and update CLOUDOPTIMA_SLACK_BOT_TOKEN."
)
#: Slack error codes that no retry can fix, with what to do about each.
PERMANENT_ERRORS = {
    "channel_not_found": "Slack channel {channel} does not exist or the bot cannot see it; for a "
    "private channel, invite the bot first.",
    "not_in_channel": "The bot is not a member of Slack channel {channel}: invite it with "
    "`/invite @CloudOptima`.",
    "is_archived": "Slack channel {channel} is archived: send these notifications elsewhere.",
    "invalid_auth": _TOKEN_PROBLEM,
    "not_authed": _TOKEN_PROBLEM,
    "token_revoked": _TOKEN_PROBLEM,
    "token_expired": _TOKEN_PROBLEM,
    "account_inactive": _TOKEN_PROBLEM,
    "missing_scope": "The Slack app lacks a permission it needs: reinstall it from manifest.yml.",
    "restricted_action": "The workspace does not allow the bot to post in Slack channel {channel}.",
    "invalid_blocks": "Slack rejected the message layout (invalid_blocks); this is a bug in "
    "CloudOptima.",
    "msg_too_long": "The message is too long for Slack.",
}
#: `chat.update` codes meaning the message to edit is gone: post the update as a new message.
UPDATE_GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
#: Codes after which Slack may or may not have stored the message.
UNCERTAIN_ERRORS = frozenset({"internal_error", "fatal_error", "request_timeout"})


class SlackNotifier:
    """Posts cards to Slack channels with `chat.postMessage` (blocks plus a text fallback).

    Charts are uploaded first (files_upload_v2) and shown in the message as image blocks; then
    the delivery's pace (a pacing dispatcher's turn for the channel, `paces_itself`) is awaited
    right before the post, so uploads do not eat into the channel's one message per second.
    """

    kind = TargetKind.SLACK
    paces_itself = True

    def __init__(
        self,
        bot_token: str,
        *,
        api_url: str | None = None,
        sleep: Sleep = asyncio.sleep,
        scopes: BotScopes | None = None,
        history_limit: int = HISTORY_LIMIT,
        history_max_pages: int = HISTORY_MAX_PAGES,
    ) -> None:
        self._client = make_web_client(bot_token, api_url=api_url, sleep=sleep)
        self.scopes = scopes or BotScopes(self._client)
        self._history_limit = history_limit
        self._history_max_pages = history_max_pages

    async def send(self, delivery: Delivery) -> str:
        """Post once; return the message's `ts`. Raises `DeliveryError`."""
        card = delivery.card
        upload = bool(chart_blocks(card)) and await self.scopes.allows("files:write")
        files = await upload_chart_files(self._client, card) if upload else {}
        if delivery.pace is not None:
            await delivery.pace()
        try:
            return await self._post(delivery, files)
        except DeliveryError as exc:
            if not files or exc.code != "invalid_blocks":
                raise
            # An image Slack could not fetch yet: the post certainly did not land; draw the
            # charts as sparklines instead.
            log.info("Slack refused the uploaded chart (%s); posting a sparkline", exc.code)
            return await self._post(delivery, {})

    async def _post(self, delivery: Delivery, files: dict[Chart, str]) -> str:
        channel = delivery.target.address
        payload = render_card(
            delivery.card,
            chart_mode=ChartMode.SPARKLINE,
            nonce=secrets.token_hex(4),
            chart_files=files,
        )

        started = time.time()
        if delivery.first_attempt_at is not None:
            started = min(started, delivery.first_attempt_at.timestamp())

        async def not_posted_yet() -> bool:
            return await self._find(delivery, since=started) is None

        # The one client's retry handler checks *this* delivery before re-posting.
        check = UNCERTAIN_POST_CHECK.set(not_posted_yet)
        try:
            response = await self._client.chat_postMessage(
                channel=channel,
                text=payload["text"],
                blocks=payload["blocks"],
                metadata={
                    "event_type": METADATA_EVENT_TYPE,
                    "event_payload": {"key": delivery.idempotency_key},
                },
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            return await self._after_failure(delivery, exc, started)
        except ClientConnectorError:
            # Never connected, even after the retries: nothing can have been posted.
            raise DeliveryError(
                "Slack could not be reached; the post will be retried.",
                permanent=False,
                code="unreachable",
            ) from None
        except (ClientError, TimeoutError) as exc:
            return await self._after_uncertain_failure(delivery, type(exc).__name__, started)
        finally:
            UNCERTAIN_POST_CHECK.reset(check)
        return str(response.get("ts", ""))

    async def update(self, delivery: Delivery, message_id: str) -> str:
        """Replace message `message_id` with `chat.update` (charts as a sparkline: an update
        uploads no image); a message that is gone is posted anew. Raises `DeliveryError`."""
        channel = delivery.target.address
        payload = render_card(
            delivery.card, chart_mode=ChartMode.SPARKLINE, nonce=secrets.token_hex(4)
        )
        try:
            response = await self._client.chat_update(
                channel=channel,
                ts=message_id,
                text=payload["text"],
                blocks=payload["blocks"],
                metadata={
                    "event_type": METADATA_EVENT_TYPE,
                    "event_payload": {"key": delivery.idempotency_key},
                },
            )
        except SlackApiError as exc:
            data: Any = exc.response.data
            code = str(data.get("error", "")) if isinstance(data, dict) else ""
            if code in UPDATE_GONE_ERRORS:
                log.info("Slack message %s is gone (%s); posting the update anew", message_id, code)
                return await self.send(delivery)
            return await self._after_update_failure(delivery, exc, code)
        except ClientConnectorError:
            raise DeliveryError(
                "Slack could not be reached; the update will be retried.",
                permanent=False,
                code="unreachable",
            ) from None
        except (ClientError, TimeoutError) as exc:
            raise DeliveryError(
                f"Slack did not confirm the update in channel {channel}; it will be retried.",
                permanent=False,
                code=type(exc).__name__,
            ) from None
        return str(response.get("ts") or message_id)

    async def _after_update_failure(self, delivery: Delivery, exc: SlackApiError, code: str) -> str:
        channel = delivery.target.address
        status = exc.response.status_code
        if status == 429 or code == "ratelimited":
            raise DeliveryError(
                f"Slack is rate limiting updates in channel {channel}.",
                permanent=False,
                retry_after_seconds=retry_after_seconds(exc.response.headers),
                code="ratelimited",
            )
        if code in PERMANENT_ERRORS:
            raise DeliveryError(
                PERMANENT_ERRORS[code].format(channel=channel), permanent=True, code=code
            )
        raise DeliveryError(
            f"Slack did not update the message in channel {channel} ({code or f'HTTP {status}'}).",
            permanent=status < 500 and code not in UNCERTAIN_ERRORS,
            code=code or f"http_{status}",
        )

    async def was_delivered(self, delivery: Delivery) -> bool:
        """Is a message with this delivery's key in the channel? (False when unknowable.)"""
        since = delivery.first_attempt_at.timestamp() if delivery.first_attempt_at else None
        try:
            return await self._find(delivery, since=since) is not None
        except Exception as exc:
            # Expected while Slack is down: one line, no traceback (rendering those on the
            # event loop delayed acks by seconds during an outage).
            log.warning(
                "could not read Slack channel %s to check a delivery: %s",
                delivery.target.address,
                describe_failure(exc),
            )
            return False

    async def _find(self, delivery: Delivery, *, since: float | None) -> str | None:
        """The `ts` of the message carrying the delivery's key, if any; raises if unreadable.

        Reads the channel's history newest first, page by page, back to `since` (the first
        attempt, Unix seconds; None: as far as the page bound goes).
        """
        oldest = {"oldest": f"{max(since - HISTORY_MARGIN_SECONDS, 0):.6f}"} if since else {}
        cursor: str | None = None
        for _ in range(self._history_max_pages):
            response = await self._client.conversations_history(
                channel=delivery.target.address,
                limit=self._history_limit,
                include_all_metadata=True,
                **oldest,
                **({"cursor": cursor} if cursor else {}),
            )
            found = _carrying(response.get("messages") or [], delivery.idempotency_key)
            if found is not None:
                return found
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or cursor is None:
                return None
        log.warning(
            "searched %d pages of Slack channel %s without reaching the first attempt; taking "
            "the delivery as not arrived",
            self._history_max_pages,
            delivery.target.address,
        )
        return None

    async def _after_failure(self, delivery: Delivery, exc: SlackApiError, started: float) -> str:
        channel = delivery.target.address
        status = exc.response.status_code
        data: Any = exc.response.data
        code = str(data.get("error", "")) if isinstance(data, dict) else ""
        if status == 429 or code == "ratelimited":
            raise DeliveryError(
                f"Slack is rate limiting posts to channel {channel}.",
                permanent=False,
                retry_after_seconds=retry_after_seconds(exc.response.headers),
                code="ratelimited",
            )
        if code in PERMANENT_ERRORS:
            raise DeliveryError(
                PERMANENT_ERRORS[code].format(channel=channel), permanent=True, code=code
            )
        if status >= 500 or code in UNCERTAIN_ERRORS:
            return await self._after_uncertain_failure(delivery, code or f"HTTP {status}", started)
        raise DeliveryError(
            f"Slack refused the message for channel {channel} ({code or f'HTTP {status}'}).",
            permanent=True,
            code=code or None,
        )

    async def _after_uncertain_failure(self, delivery: Delivery, what: str, started: float) -> str:
        """The post may have landed: look before the outbox tries again."""
        try:
            ts = await self._find(delivery, since=started)
        except Exception:
            ts = None
        if ts is not None:
            log.info("an uncertain Slack post (%s) had arrived after all", what)
            return ts
        raise DeliveryError(
            f"Slack did not confirm the post to channel {delivery.target.address} ({what}); "
            "it will be retried.",
            permanent=False,
            code=what,
        )


def _carrying(messages: Sequence[Any], key: str) -> str | None:
    """The `ts` of the message whose metadata carries delivery `key`, if one does."""
    for message in messages:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == METADATA_EVENT_TYPE and payload.get("key") == key:
            return str(message.get("ts", ""))
    return None
