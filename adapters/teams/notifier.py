"""Proactive messages: a view model delivered to a stored Teams conversation, and later updated
in place (`update`: `continue_conversation` + `update_activity`, a PUT of the activity).

The Bot Connector has no idempotency key and the SDK retries nothing, so this notifier does what
Teams asks of bots: retry 429, 412, 502, 503 and 504 with exponential backoff and jitter, honour
`Retry-After`, and stop at once on 403/404 (the bot was removed or blocked), disabling that
target so that later notifications skip it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from microsoft_agents.activity import Activity, ConversationReference, ResourceResponse
from microsoft_agents.hosting.core import ChannelServiceAdapter, ClaimsIdentity, TurnContext
from sqlalchemy import Engine

from adapters.teams.cards import render_card
from adapters.teams.translate import PLATFORM, card_activity
from core.delivery.conversations import (
    ConversationRecord,
    disable_reference,
    find_reference,
    reference_key,
)
from core.delivery.ports import Delivery, DeliveryError
from core.delivery.targets import TargetKind
from core.kernel.clock import Clock

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({412, 429, 502, 503, 504})
#: The bot is gone from the conversation (uninstalled, removed, blocked, conversation deleted).
GONE_STATUSES = frozenset({403, 404})

Sleep = Callable[[float], Awaitable[None]]


class _ActivityGone(Exception):
    """The activity an update names no longer exists (404)."""


class TeamsNotifier:
    """The `Notifier` for Teams: a target is a conversation id the bot has stored."""

    kind = TargetKind.TEAMS

    def __init__(
        self,
        adapter: ChannelServiceAdapter,
        engine: Engine,
        clock: Clock,
        *,
        app_id: str | None,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        max_attempts: int = 4,
        base_delay_seconds: float = 1.0,
        max_delay_seconds: float = 8.0,
        max_total_wait_seconds: float = 10.0,
        render: Callable[..., dict[str, Any]] = render_card,
    ) -> None:
        self.adapter = adapter
        self.engine = engine
        self.clock = clock
        self.app_id = app_id
        self._sleep = sleep
        self._jitter = jitter
        self.max_attempts = max_attempts
        self.base_delay_seconds = base_delay_seconds
        self.max_delay_seconds = max_delay_seconds
        #: Waits inside one `send` stay under this (keep it below the outbox's send timeout);
        #: a longer pause goes back to the caller as `retry_after_seconds`.
        self.max_total_wait_seconds = max_total_wait_seconds
        self._render = render

    async def send(self, delivery: Delivery) -> str:
        """Post the card; the Bot Connector's activity id on success. Raises `DeliveryError`."""
        record, key = await self._record(delivery)
        message = await self._activity(delivery)
        response = await self._retrying(key, lambda: self._send_once(record, message))
        return (response.id or "") if response else ""

    async def update(self, delivery: Delivery, message_id: str) -> str:
        """Replace activity `message_id` with the card (`update_activity`: a PUT to the Bot
        Connector); an activity that is gone (404) is posted anew. Raises `DeliveryError`."""
        record, key = await self._record(delivery)
        message = await self._activity(delivery)
        message.id = message_id
        try:
            await self._retrying(
                key, lambda: self._send_once(record, message, update=True), updating=True
            )
        except _ActivityGone:
            log.info("Teams activity %s is gone; posting the update anew", message_id)
            return await self.send(delivery)
        return message_id

    async def _record(self, delivery: Delivery) -> tuple[ConversationRecord, str]:
        conversation_id = delivery.target.address
        key = reference_key(conversation_id)
        record = await asyncio.to_thread(find_reference, self.engine, PLATFORM, key)
        if record is None:
            raise DeliveryError(
                f"No Teams conversation {conversation_id[:80]!r} is known; add the bot there "
                "first.",
                permanent=True,
                code="unknown_target",
            )
        if not record.enabled:
            raise DeliveryError(
                f"Teams conversation {conversation_id[:80]!r} is disabled: "
                f"{record.disabled_reason}",
                permanent=True,
                code="target_disabled",
            )
        return record, key

    async def _activity(self, delivery: Delivery) -> Activity:
        card = await asyncio.to_thread(self._render, delivery.card)
        return card_activity(delivery.card, card)

    async def _retrying(
        self,
        key: str,
        once: Callable[[], Awaitable[ResourceResponse | None]],
        *,
        updating: bool = False,
    ) -> ResourceResponse | None:
        """`once()` with Teams' retry rules (see the module docstring)."""
        waited = 0.0
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await once()
            except aiohttp.ClientResponseError as exc:
                if updating and exc.status == 404:
                    raise _ActivityGone from None
                delay = await self._after_refusal(exc, key, attempt, waited)
            except aiohttp.ClientConnectorError:
                # Nothing reached Teams: safe to retry.
                delay = self._backoff(attempt)
                if attempt == self.max_attempts or waited + delay > self.max_total_wait_seconds:
                    raise DeliveryError(
                        "Could not connect to the Teams service.",
                        permanent=False,
                        code="refused_connection",
                    ) from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                # The message may or may not have arrived: let the caller decide.
                raise DeliveryError(
                    "The Teams service did not confirm the message.",
                    permanent=False,
                    code="uncertain",
                ) from exc
            await self._sleep(delay)
            waited += delay
        raise AssertionError("unreachable")  # pragma: no cover

    async def was_delivered(self, delivery: Delivery) -> bool:
        """The Bot Connector cannot list a bot's own messages: unknowable, so False."""
        return False

    # -- internals -------------------------------------------------------------------------------

    async def _send_once(
        self, record: ConversationRecord, message: Activity, *, update: bool = False
    ) -> ResourceResponse | None:
        reference = ConversationReference.model_validate(record.reference)
        continuation = reference.get_continuation_activity()
        # Without an id the message starts a new post instead of replying to a made-up one.
        continuation.id = None
        sent: list[ResourceResponse | None] = []
        failures: list[BaseException] = []

        async def post(context: TurnContext) -> None:
            # Errors must reach this notifier, not the adapter's turn-error handler.
            try:
                outgoing = message.model_copy(deep=True)
                if update:
                    sent.append(await context.update_activity(outgoing))
                else:
                    sent.append(await context.send_activity(outgoing))
            except Exception as exc:
                failures.append(exc)

        if self.app_id:
            await self.adapter.continue_conversation(self.app_id, continuation, post)
        else:  # anonymous (local demo): no outbound token either
            await self.adapter.continue_conversation_with_claims(
                ClaimsIdentity(), continuation, post
            )
        if failures:
            raise failures[0]
        return sent[0] if sent else None

    async def _after_refusal(
        self, exc: aiohttp.ClientResponseError, key: str, attempt: int, waited: float
    ) -> float:
        """How long to wait before the next attempt; raises when there is none."""
        status = exc.status
        if status in GONE_STATUSES:
            reason = f"Teams refused the message (HTTP {status}): the bot was removed or blocked."
            await asyncio.to_thread(
                disable_reference, self.engine, PLATFORM, key, reason, self.clock.now()
            )
            log.warning("disabled Teams target %s: HTTP %s", key, status)
            raise DeliveryError(reason, permanent=True, code=f"http_{status}") from None
        if status not in RETRYABLE_STATUSES:
            raise DeliveryError(
                f"Teams refused the message (HTTP {status}).",
                permanent=400 <= status < 500,
                code=f"http_{status}",
            ) from None
        retry_after = self._retry_after(exc.headers)
        delay = retry_after if retry_after is not None else self._backoff(attempt)
        if (
            attempt == self.max_attempts
            or delay > self.max_delay_seconds
            or waited + delay > self.max_total_wait_seconds
        ):
            raise DeliveryError(
                f"Teams is busy (HTTP {status}); try again later.",
                permanent=False,
                retry_after_seconds=retry_after,
                code=f"http_{status}",
            ) from None
        log.info("Teams answered %s; retrying in %.1f s (attempt %d)", status, delay, attempt)
        return delay

    def _backoff(self, attempt: int) -> float:
        """Exponential with equal jitter: half the step, plus up to half again at random."""
        step = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (attempt - 1))
        return step / 2 + self._jitter() * step / 2

    def _retry_after(self, headers: Any) -> float | None:
        value = headers.get("Retry-After") if headers else None
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when: datetime = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, (when - self.clock.now()).total_seconds())
