"""The contract every `Notifier` keeps (core/delivery/ports.py), run against each real notifier
and the real receiver it talks to, the way the Agents SDK runs `CRUDStorageTests` against every
storage backend.

A subclass (tests/contracts/test_notifiers.py) declares what its medium can do (the class
attributes below: a difference by design is a declaration, checked both ways, never a skipped
test) and provides one fixture, `channel`: a `ChannelUnderTest` — the notifier, a target the
receiver accepts, one it refuses for good, a way to script the receiver's next answers, and
probes of what the receiver got.

Per notifier: a send arrives exactly once and returns the receiver's id for it; the card's
summary and content arrive (its title where the medium sends one); `was_delivered` is False
before a send and tells after it where the medium can be asked; a permanent refusal is a
permanent `DeliveryError` with the receiver's code; throttling and server errors are retryable
(throttling with the receiver's Retry-After, where it gives one) and deliver nothing; the
idempotency key travels with the message where the protocol has room for it; every catalogue
card is delivered. With the outbox dispatcher on both databases: bursts of throttling and errors
still deliver each message once, a permanent refusal is a dead letter after one attempt, a
receiver that keeps failing ends in a dead letter.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

import pytest

from core.delivery.dispatcher import DispatchConfig, Dispatcher, outbox_status
from core.delivery.ports import Delivery, DeliveryError, Notifier
from core.delivery.tables import OutboxStatus
from core.delivery.targets import Target
from tests.support.cards import CATALOGUE
from tests.support.outbox import ClockDrivenSleep, add_messages, alert_card, rows, run_until_done

#: The Retry-After (seconds) a throttling receiver sends (SMTP has no such thing).
RETRY_AFTER_SECONDS = 3


@dataclass
class ChannelUnderTest:
    notifier: Notifier
    #: A target the receiver accepts.
    target: Target
    #: A target the receiver refuses for good (deleted channel, removed bot, gone endpoint,
    #: unknown mailbox), and the `DeliveryError.code` that refusal is reported with.
    refused_target: Target
    refusal_code: str
    #: The receiver answers its next requests with these, in order, then accepts again:
    #: "throttle" (429 with Retry-After: RETRY_AFTER_SECONDS; SMTP 451) or "error" (5xx; SMTP 451).
    script: Callable[[list[str]], None]
    #: Messages the receiver accepted for this delivery.
    received: Callable[[Delivery], int]
    #: The id the receiver gave the message it accepted for this delivery (None: none accepted).
    message_id: Callable[[Delivery], str | None]
    #: Everything of the accepted message a reader (or a receiving program) gets, as text.
    arrived_text: Callable[[Delivery], str]
    #: The delivery's idempotency key reached the receiver with the message.
    key_received: Callable[[Delivery], bool]

    def delivery(self, n: int = 1, *, target: Target | None = None) -> Delivery:
        """A budget alert (`alert_card(n)`) with a key of its own."""
        target = target or self.target
        return Delivery(f"contract:{n}:{target.kind}", target, alert_card(n))


def outbox_delivery(key: str, n: int, target: Target) -> Delivery:
    """The delivery the dispatcher makes of `add_messages`' n-th message."""
    return Delivery(key, target, alert_card(n))


OUTBOX_CONFIG = DispatchConfig(
    max_attempts=25,
    batch_size=5,
    backoff_base=timedelta(seconds=2),
    backoff_cap=timedelta(seconds=60),
    poll_interval=timedelta(seconds=1),
)


def make_dispatcher(engine, clock, channel, config=OUTBOX_CONFIG):
    """The dispatcher's loop as in production; only its sleep moves the fixed clock instead."""
    sleep = ClockDrivenSleep(clock, engine, asyncio.Event())
    dispatcher = Dispatcher(
        engine,
        {channel.target.kind: channel.notifier},
        clock,
        config,
        uniform=random.Random(5).uniform,
        sleep=sleep,
    )
    return dispatcher, sleep


class NotifierContract:
    """Subclass, declare the capabilities, provide the `channel` fixture."""

    #: `was_delivered` can find out (Slack reads the channel; a webhook asks its receiver when
    #: configured to). Otherwise it answers False: unknowable (Teams, SMTP).
    answers_was_delivered: ClassVar[bool]
    #: The message carries the card's title (a webhook's `title`, an e-mail's Subject). Slack
    #: and Teams show the summary and the card's Header block instead.
    sends_title: ClassVar[bool]
    #: The idempotency key travels in the protocol (Slack metadata, a webhook header, e-mail
    #: headers). The Bot Connector has no field for it.
    carries_idempotency_key: ClassVar[bool]
    #: A throttled send hands the receiver's Retry-After back (SMTP has none to give).
    hands_back_retry_after: ClassVar[bool]
    #: `update` edits the message in place (Slack `chat.update`, Teams' activity update);
    #: otherwise it sends the new card as a new message (webhook, e-mail).
    edits_messages: ClassVar[bool]
    #: Throttling answers and server errors one `send` absorbs by retrying itself (Slack's SDK
    #: retry handlers, Teams' backoff); the outbox sees a failure only after them.
    throttles_absorbed_per_send: ClassVar[int] = 0
    server_errors_absorbed_per_send: ClassVar[int] = 0

    @pytest.fixture
    def notifier_engine(self, request):
        """For a notifier that keeps state (Teams: conversation references): the test's own
        `engine` where it has one (the outbox proofs, on both databases), else SQLite."""
        name = "engine" if "engine" in request.fixturenames else "sqlite_engine"
        return request.getfixturevalue(name)

    # -- one send --------------------------------------------------------------------------

    async def test_a_send_arrives_once_and_returns_the_receivers_id(self, channel):
        first, second = channel.delivery(1), channel.delivery(2)

        first_id = await channel.notifier.send(first)
        second_id = await channel.notifier.send(second)

        assert (channel.received(first), channel.received(second)) == (1, 1)
        assert isinstance(first_id, str) and first_id
        assert first_id == channel.message_id(first)
        assert second_id == channel.message_id(second) != first_id

    async def test_the_summary_and_content_arrive_and_the_title_where_sent(self, channel):
        delivery = channel.delivery(4)

        await channel.notifier.send(delivery)

        text = channel.arrived_text(delivery)
        assert delivery.card.summary in text
        assert "8,100.00 EUR" in text and "rg-data" in text  # a fact, a table cell
        assert (delivery.card.title in text) is self.sends_title

    async def test_was_delivered_is_false_before_a_send_and_tells_after_it(self, channel):
        sent, never_sent = channel.delivery(1), channel.delivery(2)
        assert await channel.notifier.was_delivered(sent) is False

        await channel.notifier.send(sent)

        assert await channel.notifier.was_delivered(sent) is self.answers_was_delivered
        assert await channel.notifier.was_delivered(never_sent) is False

    async def test_the_idempotency_key_travels_where_the_protocol_has_room(self, channel):
        delivery = channel.delivery(1)

        await channel.notifier.send(delivery)

        assert channel.key_received(delivery) is self.carries_idempotency_key

    async def test_every_catalogue_card_is_delivered_once(self, channel):
        deliveries = [
            Delivery(f"catalogue:{name}", channel.target, card) for name, card in CATALOGUE.items()
        ]
        for delivery in deliveries:
            assert await channel.notifier.send(delivery)
        assert [channel.received(d) for d in deliveries] == [1] * len(deliveries)

    # -- failures --------------------------------------------------------------------------

    async def test_an_update_edits_the_message_where_the_medium_can_or_sends_it_anew(self, channel):
        first = channel.delivery(6)
        message_id = await channel.notifier.send(first)
        later = Delivery(first.idempotency_key, first.target, alert_card(7))

        updated_id = await channel.notifier.update(later, message_id)

        assert isinstance(updated_id, str) and updated_id
        assert channel.received(first) == (1 if self.edits_messages else 2)
        if self.edits_messages:
            assert updated_id == message_id
        assert alert_card(7).summary in channel.arrived_text(later)

    async def test_a_permanent_refusal_is_a_permanent_error_with_the_receivers_code(self, channel):
        refused = channel.delivery(1, target=channel.refused_target)

        with pytest.raises(DeliveryError) as caught:
            await channel.notifier.send(refused)

        assert caught.value.permanent is True
        assert caught.value.code == channel.refusal_code
        assert caught.value.message
        assert channel.received(refused) == 0
        assert await channel.notifier.was_delivered(refused) is False

    async def test_throttling_is_retryable_and_says_when_to_retry(self, channel):
        delivery = channel.delivery(1)
        channel.script(["throttle"] * (1 + self.throttles_absorbed_per_send))

        with pytest.raises(DeliveryError) as caught:
            await channel.notifier.send(delivery)

        assert caught.value.permanent is False
        assert caught.value.code
        expected = float(RETRY_AFTER_SECONDS) if self.hands_back_retry_after else None
        assert caught.value.retry_after_seconds == expected
        assert channel.received(delivery) == 0
        assert await channel.notifier.was_delivered(delivery) is False
        # The send used exactly the declared attempts: the receiver accepts the next one.
        await channel.notifier.send(delivery)
        assert channel.received(delivery) == 1

    async def test_a_server_error_is_retryable(self, channel):
        delivery = channel.delivery(1)
        channel.script(["error"] * (1 + self.server_errors_absorbed_per_send))

        with pytest.raises(DeliveryError) as caught:
            await channel.notifier.send(delivery)

        assert caught.value.permanent is False
        assert caught.value.code
        assert channel.received(delivery) == 0
        await channel.notifier.send(delivery)
        assert channel.received(delivery) == 1

    # -- through the outbox, on both databases ---------------------------------------------

    async def test_bursts_of_throttling_and_errors_still_deliver_each_message_once(
        self, engine, clock, channel
    ):
        keys = add_messages(engine, channel.target, clock.now(), 12)
        channel.script(["throttle"] * 6 + ["error"] * 6 + ["throttle", "error"] * 4)
        dispatcher, sleep = make_dispatcher(engine, clock, channel)

        await run_until_done(dispatcher, sleep)

        deliveries = [outbox_delivery(key, n, channel.target) for n, key in enumerate(keys)]
        assert [channel.received(d) for d in deliveries] == [1] * 12
        stored = rows(engine)
        assert {stored[key]["status"] for key in keys} == {OutboxStatus.SENT}
        if not (self.throttles_absorbed_per_send or self.server_errors_absorbed_per_send):
            assert sum(stored[key]["attempts"] for key in keys) == 12 + 20  # each failure retried
            assert sum(sleep.slept) > 0  # backoff happened, on the injected clock

    async def test_a_permanent_refusal_is_a_dead_letter_listed_by_outbox_status(
        self, engine, clock, channel
    ):
        [refused] = add_messages(engine, channel.refused_target, clock.now(), 1, prefix="gone")
        [accepted] = add_messages(engine, channel.target, clock.now(), 1, first=1)
        dispatcher, sleep = make_dispatcher(engine, clock, channel)

        await run_until_done(dispatcher, sleep)  # one batch sends both

        status = outbox_status(engine, "budget_alert", ["0", "1"])
        [dead], [sent] = status["0"], status["1"]
        assert (dead.key, dead.status, dead.attempts) == (refused, OutboxStatus.DEAD, 1)
        assert dead.last_error.startswith(channel.refusal_code)
        assert (sent.key, sent.status) == (accepted, OutboxStatus.SENT)
        assert channel.received(outbox_delivery(refused, 0, channel.refused_target)) == 0
        assert channel.received(outbox_delivery(accepted, 1, channel.target)) == 1

    async def test_a_receiver_that_keeps_failing_ends_in_a_dead_letter(
        self, engine, clock, channel
    ):
        [key] = add_messages(engine, channel.target, clock.now(), 1)
        channel.script(["error"] * 3 * (1 + self.server_errors_absorbed_per_send))
        config = DispatchConfig(
            max_attempts=3, backoff_base=timedelta(seconds=1), poll_interval=timedelta(seconds=1)
        )
        dispatcher, sleep = make_dispatcher(engine, clock, channel, config)

        await run_until_done(dispatcher, sleep)

        [message] = outbox_status(engine, "budget_alert", ["0"])["0"]
        assert (message.status, message.attempts) == (OutboxStatus.DEAD, 3)
        assert channel.received(outbox_delivery(key, 0, channel.target)) == 0
