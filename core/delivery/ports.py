"""Delivering a card to a place (Slack channel, Teams conversation, webhook, email): the port.

The outbox (budgets, anomalies, digests) hands each message to the `Notifier` for its target
kind: `send` for a new message, `update` for a row that edits the message an earlier row
produced. Notifiers raise `DeliveryError` with `permanent=True` when retrying cannot help
(channel gone, bot removed, bad credentials) and with `retry_after` when the receiver asked for
a pause.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from core.delivery.targets import Target, TargetKind
from core.kernel.cards import Card
from core.kernel.errors import CloudOptimaError


@dataclass(frozen=True, slots=True)
class Delivery:
    #: Stable across retries of one message (outbox id): receivers and notifiers deduplicate on it.
    idempotency_key: str
    target: Target
    card: Card
    #: No attempt of this message is older than this (when it was queued): how far back a
    #: "did it arrive?" check must look.
    first_attempt_at: datetime | None = None
    #: Set by a pacing dispatcher for notifiers that pace themselves (`paces_itself = True`):
    #: awaited right before the rate-limited call (after any uploads), it waits for the
    #: target's turn. None: send at once.
    pace: Callable[[], Awaitable[None]] | None = field(default=None, compare=False)


class DeliveryError(CloudOptimaError):
    title = "Delivery failed"

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after_seconds: float | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after_seconds = retry_after_seconds
        self.code = code


class Notifier(Protocol):
    """Sends cards to one kind of target."""

    kind: TargetKind

    async def send(self, delivery: Delivery) -> str:
        """Deliver; return the receiver's message id. Raises `DeliveryError`."""
        ...

    async def was_delivered(self, delivery: Delivery) -> bool:
        """After an uncertain send (timeout): did the message arrive? (False if unknowable.)"""
        ...

    async def update(self, delivery: Delivery, message_id: str) -> str:
        """Replace the message `message_id` (what `send` returned) with `delivery.card`; return
        the id of the message now showing it. Idempotent (an uncertain update is simply sent
        again). Receivers that cannot edit a message (webhook, e-mail) send a new one, and a
        message that no longer exists is posted anew. Raises `DeliveryError`."""
        ...
