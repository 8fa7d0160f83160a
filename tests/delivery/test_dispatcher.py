"""The dispatcher's rules on both databases, with an in-memory notifier (receivers: the proofs)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlalchemy import update

from core.delivery.dispatcher import (
    DispatchConfig,
    Dispatcher,
    backoff_delay,
    dead_letters,
    may_have_delivered,
    outbox_counts,
    outbox_status,
    retry_dead,
)
from core.delivery.ports import Delivery, DeliveryError
from core.delivery.tables import OutboxStatus
from core.delivery.targets import Target, TargetKind
from core.kernel.db.engine import write_transaction
from tests.support.outbox import OUTBOX, add_messages, rows

HOOK = Target(TargetKind.WEBHOOK, "https://hooks.example.test/finops")
CONFIG = DispatchConfig(
    max_attempts=4,
    lease=timedelta(seconds=60),
    send_timeout=timedelta(seconds=5),
    batch_size=5,
    backoff_base=timedelta(seconds=10),
    backoff_cap=timedelta(seconds=300),
)


def highest(a: float, b: float) -> float:
    return b


class FakeNotifier:
    """Answers from a script: "ok", a DeliveryError, or "deliver-then-timeout" (it arrived, but
    the sender saw a timeout). Knows what it delivered, so `was_delivered` can answer."""

    kind = TargetKind.WEBHOOK

    def __init__(self, *script, knows_deliveries: bool = True, pause: float = 0.0) -> None:
        self.script = list(script)
        self.knows_deliveries = knows_deliveries
        self.pause = pause
        self.delivered: list[str] = []
        self.checks: list[str] = []
        self.attempts = 0

    async def send(self, delivery: Delivery) -> str:
        self.attempts += 1
        if self.pause:
            await asyncio.sleep(self.pause)  # lets concurrent dispatchers interleave
        answer = self.script.pop(0) if self.script else "ok"
        if isinstance(answer, BaseException):
            raise answer
        self.delivered.append(delivery.idempotency_key)
        if answer == "deliver-then-timeout":
            raise DeliveryError("no answer", permanent=False, code="timeout")
        return f"id-{len(self.delivered)}"

    async def was_delivered(self, delivery: Delivery) -> bool:
        self.checks.append(delivery.idempotency_key)
        return self.knows_deliveries and delivery.idempotency_key in self.delivered


def throttled(after: float | None = 30.0) -> DeliveryError:
    return DeliveryError("slow down", permanent=False, retry_after_seconds=after, code="http_429")


def dispatcher(engine, clock, notifier, **kwargs) -> Dispatcher:
    kwargs.setdefault("uniform", highest)
    return Dispatcher(engine, {TargetKind.WEBHOOK: notifier}, clock, CONFIG, **kwargs)


async def test_due_message_is_sent_and_marked_with_the_receivers_id(engine, clock):
    [key] = add_messages(engine, HOOK, clock.now(), 1)
    notifier = FakeNotifier()

    assert await dispatcher(engine, clock, notifier).dispatch_once() == ["sent"]

    row = rows(engine)[key]
    assert notifier.delivered == [key]
    assert row["status"] == OutboxStatus.SENT
    assert row["provider_message_id"] == "id-1"
    assert row["sent_at"] == clock.now()
    assert row["claim_token"] is None and row["lease_until"] is None
    assert await dispatcher(engine, clock, notifier).dispatch_once() == []


async def test_retry_waits_for_exponential_backoff_and_at_least_retry_after(engine, clock):
    [key] = add_messages(engine, HOOK, clock.now(), 1)
    notifier = FakeNotifier(throttled(after=30.0), throttled(after=None), throttled(after=None))
    worker = dispatcher(engine, clock, notifier)
    start = clock.now()

    assert await worker.dispatch_once() == ["retry"]
    # Attempt 1: backoff ceiling 10 s, but the receiver asked for 30 s.
    assert rows(engine)[key]["next_attempt_at"] == start + timedelta(seconds=30)
    assert await worker.dispatch_once() == []  # not due yet

    clock.current = start + timedelta(seconds=30)
    assert await worker.dispatch_once() == ["retry"]
    # Attempt 2: ceiling 10·2 = 20 s (the injected jitter picks the ceiling).
    assert rows(engine)[key]["next_attempt_at"] == clock.now() + timedelta(seconds=20)

    clock.current += timedelta(seconds=20)
    assert await worker.dispatch_once() == ["retry"]
    assert rows(engine)[key]["next_attempt_at"] == clock.now() + timedelta(seconds=40)
    assert rows(engine)[key]["attempts"] == 3
    assert rows(engine)[key]["last_error"] == "http_429: slow down"


def test_full_jitter_draws_between_zero_and_the_capped_ceiling():
    draws: list[tuple[float, float]] = []

    def uniform(a: float, b: float) -> float:
        draws.append((a, b))
        return (a + b) / 2

    base, cap = timedelta(seconds=5), timedelta(seconds=60)
    delays = [backoff_delay(n, base=base, cap=cap, uniform=uniform) for n in (1, 2, 3, 4, 5, 9)]

    assert draws == [(0.0, 5.0), (0.0, 10.0), (0.0, 20.0), (0.0, 40.0), (0.0, 60.0), (0.0, 60.0)]
    assert delays[0] == timedelta(seconds=2.5)
    asked = backoff_delay(
        1,
        base=base,
        cap=cap,
        uniform=uniform,
        retry_after_seconds=10**9,
        max_retry_after=timedelta(hours=6),
    )
    assert asked == timedelta(hours=6)  # a receiver cannot park a message forever


async def test_permanent_failure_is_a_dead_letter_at_once(engine, clock, caplog):
    [key] = add_messages(engine, HOOK, clock.now(), 1)
    notifier = FakeNotifier(DeliveryError("channel gone", permanent=True, code="http_404"))

    with caplog.at_level(logging.WARNING, logger="core.delivery.dispatcher"):
        assert await dispatcher(engine, clock, notifier).dispatch_once() == ["dead"]

    status = outbox_status(engine, "budget_alert", ["0", "missing"])
    assert list(status) == ["0"]
    [message] = status["0"]
    assert message.key == key
    assert message.status == OutboxStatus.DEAD
    assert message.attempts == 1
    assert message.last_error == "http_404: channel gone"
    assert [m.key for m in dead_letters(engine)] == [key]
    assert key in caplog.text and "channel gone" in caplog.text


async def test_message_is_dead_after_max_attempts_with_a_warning(engine, clock, caplog):
    [key] = add_messages(engine, HOOK, clock.now(), 1)
    notifier = FakeNotifier(*[throttled(after=1.0) for _ in range(10)])
    worker = dispatcher(engine, clock, notifier)

    outcomes = []
    with caplog.at_level(logging.WARNING, logger="core.delivery.dispatcher"):
        for _ in range(10):
            outcomes += await worker.dispatch_once()
            clock.current += timedelta(hours=1)

    assert outcomes == ["retry", "retry", "retry", "dead"]
    assert notifier.attempts == CONFIG.max_attempts
    assert rows(engine)[key]["status"] == OutboxStatus.DEAD
    assert f"{key} to webhook is dead after 4 attempts" in caplog.text
    assert outbox_counts(engine)[OutboxStatus.DEAD] == 1

    assert retry_dead(engine, [key], clock.now()) == 1  # the receiver is fixed: try again
    assert await dispatcher(engine, clock, FakeNotifier()).dispatch_once() == ["sent"]


async def test_after_an_uncertain_send_the_next_attempt_asks_before_resending(engine, clock):
    [key] = add_messages(engine, HOOK, clock.now(), 1)
    notifier = FakeNotifier("deliver-then-timeout")
    worker = dispatcher(engine, clock, notifier)

    assert await worker.dispatch_once() == ["retry"]
    assert rows(engine)[key]["uncertain"] is True
    clock.current += timedelta(hours=1)
    assert await worker.dispatch_once() == ["already_delivered"]

    assert notifier.delivered == [key]  # sent once, not twice
    assert notifier.checks == [key]
    assert rows(engine)[key]["status"] == OutboxStatus.SENT


async def test_after_a_refusal_the_next_attempt_sends_without_asking(engine, clock):
    add_messages(engine, HOOK, clock.now(), 1)
    notifier = FakeNotifier(
        throttled(after=5.0), DeliveryError("x", permanent=False, code="http_408")
    )
    worker = dispatcher(engine, clock, notifier)

    for _ in range(3):
        await worker.dispatch_once()
        clock.current += timedelta(hours=1)

    assert notifier.checks == []
    assert len(notifier.delivered) == 1


def test_only_refusals_are_known_not_to_have_delivered():
    assert not may_have_delivered(throttled())
    assert not may_have_delivered(DeliveryError("x", permanent=False, code="smtp_451"))
    assert not may_have_delivered(DeliveryError("x", permanent=False, code="refused_connect"))
    assert may_have_delivered(DeliveryError("x", permanent=False, code="http_502"))
    assert may_have_delivered(DeliveryError("x", permanent=False, code="timeout"))
    assert may_have_delivered(DeliveryError("x", permanent=False))


async def test_a_row_whose_lease_was_taken_over_is_not_sent_by_the_first_claimer(engine, clock):
    [key] = add_messages(engine, HOOK, clock.now(), 1)
    slow, fast = FakeNotifier(), FakeNotifier()
    first, second = dispatcher(engine, clock, slow), dispatcher(engine, clock, fast)

    [claimed] = await asyncio.to_thread(first.claim)
    clock.current += CONFIG.lease + timedelta(seconds=1)  # the first one hung past its lease
    assert await second.dispatch_once() == ["sent"]
    assert await first.deliver(claimed) == "skipped"

    assert fast.checks == [key]  # the takeover asked first: the first claimer might have sent
    assert fast.delivered == [key]
    assert slow.delivered == []
    assert rows(engine)[key]["status"] == OutboxStatus.SENT


async def test_a_crash_after_sending_is_resolved_by_asking_not_by_resending(engine, clock):
    [key] = add_messages(engine, HOOK, clock.now(), 1)
    notifier = FakeNotifier()

    class SimulatedCrash(Exception):
        pass

    def crash(_message):
        raise SimulatedCrash("killed between sending and marking")

    with pytest.raises(SimulatedCrash):
        await dispatcher(engine, clock, notifier, after_send=crash).dispatch_once()
    assert rows(engine)[key]["status"] == OutboxStatus.SENDING

    assert await dispatcher(engine, clock, notifier).dispatch_once() == []  # lease still held
    clock.current += CONFIG.lease
    assert await dispatcher(engine, clock, notifier).dispatch_once() == ["already_delivered"]
    assert notifier.delivered == [key]


async def test_crash_takeovers_past_the_attempt_limit_end_dead_without_sending(engine, clock):
    [key] = add_messages(engine, HOOK, clock.now(), 1)
    with write_transaction(engine) as conn:
        conn.execute(
            update(OUTBOX).values(
                status=OutboxStatus.SENDING,
                attempts=CONFIG.max_attempts,
                lease_until=clock.now(),
                claim_token="dead-dispatcher",
            )
        )
    notifier = FakeNotifier(knows_deliveries=False)

    assert await dispatcher(engine, clock, notifier).dispatch_once() == ["dead"]
    assert notifier.checks == [key]
    assert notifier.delivered == []
    assert rows(engine)[key]["last_error"].startswith("crash:")


async def test_a_send_that_hangs_past_the_send_timeout_counts_as_uncertain(engine, clock):
    [key] = add_messages(engine, HOOK, clock.now(), 1)

    class HangingNotifier(FakeNotifier):
        async def send(self, delivery):
            await asyncio.Event().wait()

    config = DispatchConfig(send_timeout=timedelta(seconds=0.05), lease=timedelta(seconds=1))
    worker = Dispatcher(engine, {TargetKind.WEBHOOK: HangingNotifier()}, clock, config)

    assert await worker.dispatch_once() == ["retry"]
    assert rows(engine)[key]["uncertain"] is True
    assert rows(engine)[key]["last_error"] == "timeout: no answer within 0.05 s"


async def test_messages_of_a_kind_without_notifier_stay_pending(engine, clock):
    add_messages(engine, Target(TargetKind.TEAMS, "conv-1"), clock.now(), 2)
    [hook_key] = add_messages(engine, HOOK, clock.now(), 1, prefix="hook")

    assert await dispatcher(engine, clock, FakeNotifier()).dispatch_once() == ["sent"]
    statuses = {key: row["status"] for key, row in rows(engine).items()}
    assert statuses.pop(hook_key) == OutboxStatus.SENT
    assert set(statuses.values()) == {OutboxStatus.PENDING}


async def test_unreadable_card_is_a_dead_letter(engine, clock):
    [key] = add_messages(engine, HOOK, clock.now(), 1)
    with write_transaction(engine) as conn:
        conn.execute(update(OUTBOX).values(card={"v": 99}))
    notifier = FakeNotifier()

    assert await dispatcher(engine, clock, notifier).dispatch_once() == ["dead"]
    assert notifier.attempts == 0
    assert rows(engine)[key]["last_error"].startswith("bad_card:")


async def test_a_notifier_bug_is_retried_and_its_text_never_reaches_the_status(engine, clock):
    [key] = add_messages(engine, HOOK, clock.now(), 1)
    notifier = FakeNotifier(RuntimeError("secret-token-in-a-url"))

    assert await dispatcher(engine, clock, notifier).dispatch_once() == ["retry"]
    last_error = rows(engine)[key]["last_error"]
    assert "secret-token" not in last_error
    assert last_error.startswith("bug: unexpected error (log reference ")


async def test_concurrent_dispatchers_send_each_message_once(engine, clock):
    keys = add_messages(engine, HOOK, clock.now(), 40)
    notifier = FakeNotifier(pause=0.002)
    workers = [dispatcher(engine, clock, notifier) for _ in range(4)]

    results = await asyncio.gather(*(w.dispatch_until_idle() for w in workers))

    assert sorted(notifier.delivered) == sorted(keys)
    assert sum(r.count("sent") for r in results) == 40
    assert outbox_counts(engine)[OutboxStatus.SENT] == 40


def test_config_refuses_a_lease_shorter_than_two_send_timeouts():
    with pytest.raises(ValueError, match="lease"):
        DispatchConfig(lease=timedelta(seconds=15), send_timeout=timedelta(seconds=10))


async def test_the_loop_delivers_then_stops_when_told_even_mid_poll(engine, clock):
    [key] = add_messages(engine, HOOK, clock.now(), 1)
    notifier = FakeNotifier()
    observed: list[tuple[str, str]] = []
    delivered = asyncio.Event()

    def observe(kind, outcome) -> None:
        observed.append((kind, outcome))
        delivered.set()

    config = DispatchConfig(poll_interval=timedelta(hours=1))
    worker = Dispatcher(engine, {TargetKind.WEBHOOK: notifier}, clock, config, observer=observe)
    stop = asyncio.Event()

    loop = asyncio.create_task(worker.run(stop))
    await asyncio.wait_for(delivered.wait(), 10)
    stop.set()
    await asyncio.wait_for(loop, 10)  # does not wait out the hour-long poll

    assert notifier.delivered == [key]
    assert observed == [(TargetKind.WEBHOOK, "sent")]


async def test_a_stopped_batch_gives_its_rows_back_for_another_dispatcher_at_once(engine, clock):
    """Graceful shutdown: the rows of a batch still being sent are released (lease ends now),
    and the next dispatcher checks whether the interrupted send arrived before sending."""

    class HangingNotifier(FakeNotifier):
        async def send(self, delivery):
            self.delivered.append(delivery.idempotency_key)  # it may well have arrived
            await asyncio.Event().wait()

    keys = add_messages(engine, HOOK, clock.now(), 2)
    stopping = dispatcher(engine, clock, HangingNotifier())
    batch = asyncio.create_task(stopping.dispatch_once())
    for _ in range(200):
        if all(rows(engine)[k]["status"] == OutboxStatus.SENDING for k in keys):
            break
        await asyncio.sleep(0.01)
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await batch
    # Stopped mid-send: the batch's claim is still held, until released.
    assert stopping.release_leases() == 2
    assert {rows(engine)[k]["lease_until"] for k in keys} == {clock.now()}

    taker = FakeNotifier()
    taker.delivered.append(keys[0])  # the first one had arrived before the stop
    outcomes = await dispatcher(engine, clock, taker).dispatch_once()
    assert sorted(outcomes) == ["already_delivered", "sent"]
    # both were checked first (their sends were interrupted), in whichever order they ran
    assert sorted(taker.checks) == sorted(keys)
    assert {rows(engine)[k]["status"] for k in keys} == {OutboxStatus.SENT}
