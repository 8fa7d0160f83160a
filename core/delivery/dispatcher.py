"""Delivering the outbox: claims with a lease and a token, retries with backoff, dead letters.

How a message travels (one row of `outbox_message`):

1. **Claim.** A dispatcher takes a small batch of due rows — `pending` whose `next_attempt_at` has
   come, or `sending` whose lease expired (a dispatcher died or hung) — and stamps them `sending`
   with `lease_until` and a fresh random `claim_token`, counting the attempt. PostgreSQL:
   `SELECT … FOR UPDATE SKIP LOCKED` inside the `UPDATE`, so concurrent dispatchers take disjoint
   rows without waiting; SQLite: the same statement under `BEGIN IMMEDIATE` (one writer at a time).
2. **Re-check.** Just before sending, the token is checked again and the lease renewed in one
   `UPDATE … WHERE claim_token = :token`. A row whose lease another dispatcher took over is not
   sent (measured: a 2 s lease with a client's own retry sleeps sent twice; a long lease plus
   this check did not). The lease must outlast one send: `send_timeout` bounds it.
3. **Send** through the `Notifier` for the row's target kind.
4. **Mark** `sent` (provider message id, `sent_at`) only if the token still matches. On
   `DeliveryError`: permanent → `dead` at once; otherwise `pending` again after an exponential
   backoff with full jitter (at least the receiver's `retry_after_seconds`), and `dead` after
   `max_attempts` attempts, logged at WARNING with the key and the error.

**Updates.** A row with `updates_key` edits the message that the row with that key produced
(`notifier.update` with the first row's `provider_message_id`): an incident's later days change
its first post instead of posting again. While the first row is not sent yet the update waits
(`pending`, its attempt not counted); when the first row is dead, or was sent without a known
message id, the update is sent as a new message. An update whose key has a newer update row is
superseded: it is marked sent without sending, so an older card never overwrites a newer one.
Updates are idempotent, so an uncertain one is simply sent again (no `was_delivered` check).

**Uncertain outcomes.** A timeout or a dropped connection after the request went out, a crash
between sending and marking, or a lease taken over leave the row `uncertain`. The next attempt
first asks `notifier.was_delivered(delivery)` and marks the row sent without resending when it
answers yes. A retryable `DeliveryError` is taken as uncertain unless the receiver certainly did
not take the message: it asked for a pause (`retry_after_seconds`), or the notifier's `code` starts
with one of `REFUSAL_CODE_PREFIXES` (`http_4…` an HTTP 4xx answer, `smtp_…` an SMTP reply code
refusing the message, `refused…` the connection was never made).

The core is synchronous SQL; sending is async. Database calls run in a worker thread
(`asyncio.to_thread`) so the event loop keeps serving while a batch is delivered. Each is one
transaction conditioned on the claim token, retried when the connection drops under it
(`core.kernel.db.retry`): a dispatcher survives a database restart mid-batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import secrets
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, func, or_, select, update
from sqlalchemy.engine import Row

from core.delivery.pacer import Pacer
from core.delivery.ports import Delivery, DeliveryError, Notifier
from core.delivery.tables import OutboxMessage, OutboxStatus
from core.delivery.targets import Target, TargetKind
from core.kernel.cards_json import card_from_dict
from core.kernel.clock import Clock
from core.kernel.db.engine import is_sqlite, write_transaction
from core.kernel.db.retry import retrying

log = logging.getLogger(__name__)

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
LAST_ERROR_MAX = 2000
#: With a pacer: messages of one target claimed at a time (the rest wait in the table).
PACED_PER_TARGET = 2
REFUSAL_CODE_PREFIXES = ("http_4", "smtp_", "refused")

#: What happened to one claimed message: sent, already_delivered (found by `was_delivered`),
#: retry, dead, lost_claim (another dispatcher took the row over), skipped (lost before sending),
#: waiting (an update whose first message is not sent yet), superseded (a newer update exists).
Outcome = str
Sleep = Callable[[float], Awaitable[None]]
#: `uniform(a, b)`: a random float in [a, b] (injectable for tests).
Uniform = Callable[[float, float], float]
#: Test hook called after a send succeeded and before the row is marked sent (crash injection).
AfterSend = Callable[["ClaimedMessage"], None]
#: Told each outcome with the target kind (metrics live in bot/).
Observer = Callable[[TargetKind, Outcome], None]


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    """Tuning of one dispatcher; `cloudoptima` fills it from the `OUTBOX_*` settings."""

    max_attempts: int = 8
    #: How long a claim holds a row. Longer than `send_timeout` plus marking, with a margin.
    lease: timedelta = timedelta(seconds=60)
    #: The longest one send (or one `was_delivered` check) may take before it counts as failed.
    send_timeout: timedelta = timedelta(seconds=20)
    batch_size: int = 10
    backoff_base: timedelta = timedelta(seconds=5)
    backoff_cap: timedelta = timedelta(hours=1)
    #: A receiver's Retry-After is honoured up to this (a hostile one could park messages forever).
    max_retry_after: timedelta = timedelta(hours=6)
    poll_interval: timedelta = timedelta(seconds=5)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.lease < 2 * self.send_timeout:
            raise ValueError("the lease must be at least twice the send timeout")


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A row this dispatcher holds until `lease_until`, identified by (`id`, `claim_token`)."""

    id: int
    key: str
    target: Target
    card: dict[str, Any]
    #: This attempt's number (1 for the first).
    attempt: int
    #: An earlier attempt may have delivered: check before sending.
    uncertain: bool
    claim_token: str
    lease_until: datetime
    #: The key of the message this one edits (None: a new message).
    updates_key: str | None = None
    #: When it was queued (no attempt is older).
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class UpdateTarget:
    """Where an update stands: the message to edit, or why there is none."""

    #: The first message's id at the receiver; None: send as a new message.
    message_id: str | None
    #: The first message is not sent yet: wait.
    waiting: bool = False
    #: A newer update of the same message exists: skip this one.
    superseded: bool = False


@dataclass(frozen=True, slots=True)
class MessageStatus:
    """Where one outbox message stands, for the `alerts` command and operators."""

    key: str
    target: Target
    status: OutboxStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    sent_at: datetime | None
    source: str
    source_id: str


def backoff_delay(
    attempt: int,
    *,
    base: timedelta,
    cap: timedelta,
    uniform: Uniform = random.uniform,
    retry_after_seconds: float | None = None,
    max_retry_after: timedelta = timedelta(hours=6),
) -> timedelta:
    """Full-jitter backoff: uniform(0, min(cap, base·2^(attempt-1))), at least the Retry-After.

    Full jitter spreads the retries of many messages that failed together (a receiver's outage)
    instead of sending them back in synchronized waves.
    """
    ceiling = min(cap.total_seconds(), base.total_seconds() * 2 ** max(attempt - 1, 0))
    delay = uniform(0.0, ceiling)
    if retry_after_seconds is not None:
        asked = min(max(retry_after_seconds, 0.0), max_retry_after.total_seconds())
        delay = max(delay, asked)
    return timedelta(seconds=delay)


def may_have_delivered(error: DeliveryError) -> bool:
    """Could the failed attempt still have reached the receiver? (See the module docstring.)"""
    if error.permanent or error.retry_after_seconds is not None:
        return False
    code = error.code or ""
    return not code.startswith(REFUSAL_CODE_PREFIXES)


class Dispatcher:
    """Delivers due outbox messages through one `Notifier` per target kind.

    Rows whose kind has no notifier here are left alone (they wait, `pending`, until a dispatcher
    that can deliver them runs). Several dispatchers — threads, processes, replicas — may run
    against one database at once.
    """

    def __init__(
        self,
        engine: Engine,
        notifiers: Mapping[TargetKind, Notifier],
        clock: Clock,
        config: DispatchConfig | None = None,
        *,
        uniform: Uniform = random.uniform,
        sleep: Sleep | None = None,
        token_factory: Callable[[], str] = lambda: secrets.token_hex(16),
        after_send: AfterSend | None = None,
        observer: Observer | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.engine = engine
        self.notifiers = dict(notifiers)
        self.clock = clock
        self.config = config or DispatchConfig()
        self._uniform = uniform
        self._sleep = sleep
        self._token_factory = token_factory
        self._after_send = after_send
        self._observer = observer
        self._pacer = pacer
        #: Messages being delivered here, per target (a paced target gets no more claims
        #: while it has some).
        self._in_flight: Counter[Target] = Counter()
        #: Claim tokens of the batches being delivered (released on shutdown).
        self._held: set[str] = set()

    # -- the loop ------------------------------------------------------------------------------
    async def dispatch_once(self) -> list[Outcome]:
        """Claim one batch of due messages and deliver it; the outcomes, one per message."""
        # Held from before the claim: cancelled at any point (a shutdown past its grace), the
        # token stays held and `release_leases` gives its rows back.
        token = self._token_factory()
        self._held.add(token)
        claimed = await asyncio.to_thread(retrying(self.claim), (), token)
        if claimed:
            outcomes = list(await asyncio.gather(*(self.deliver(m) for m in claimed)))
        else:
            outcomes = []
        self._held.discard(token)
        return outcomes

    def release_leases(self) -> int:
        """Give back the rows of batches still being delivered (shutdown stopped them): their
        leases end now, so another dispatcher takes them at once — checking first whether an
        interrupted send arrived. Returns how many rows."""
        tokens = list(self._held)
        if not tokens:
            return 0
        with write_transaction(self.engine) as conn:
            released = conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.claim_token.in_(tokens), OUTBOX.c.status == OutboxStatus.SENDING)
                .values(lease_until=self.clock.now())
                .returning(OUTBOX.c.id)
            ).all()
        self._held.clear()
        return len(released)

    async def dispatch_until_idle(self, *, max_batches: int = 1000) -> list[Outcome]:
        """Deliver batches until none is due now (messages retried later stay for later)."""
        if self._pacer is not None:
            return await self._dispatch_paced(max_batches)
        outcomes: list[Outcome] = []
        for _ in range(max_batches):
            batch = await self.dispatch_once()
            outcomes.extend(batch)
            if len(batch) < self.config.batch_size:
                break
        return outcomes

    async def _dispatch_paced(self, max_batches: int) -> list[Outcome]:
        """Keep claiming while messages are due, each delivered in its own task as soon as its
        target's turn comes: a channel waiting for its turn holds up no other channel, and a
        target with messages in flight here is left out of the next claims (its next message
        is claimed when they are done, well within the turn's wait)."""
        pacer = self._pacer
        assert pacer is not None
        # A message waits for its turn at most this long (inside its lease and send timeout).
        horizon = min(
            self.config.lease.total_seconds() / 4, self.config.send_timeout.total_seconds() / 4
        )
        running: set[asyncio.Task[Outcome]] = set()
        outcomes: list[Outcome] = []
        # Held while this runs: a shutdown past its grace gives the rows back (`release_leases`).
        token = self._token_factory()
        self._held.add(token)
        for _ in range(max_batches):
            busy = {t for t, n in self._in_flight.items() if n > 0}
            busy.update(pacer.saturated(horizon))
            claimed = await asyncio.to_thread(retrying(self.claim), sorted(busy, key=str), token)
            kept, extra = _per_target(claimed, PACED_PER_TARGET)
            if extra:
                await asyncio.to_thread(self._give_back, extra)
            for message in kept:
                self._in_flight[message.target] += 1
                running.add(asyncio.create_task(self._deliver_tracked(message)))
            if len(claimed) >= self.config.batch_size:
                continue
            if not running:
                break
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            outcomes.extend(task.result() for task in done)
        if running:
            outcomes.extend(await asyncio.gather(*running))
        self._held.discard(token)
        return outcomes

    def _give_back(self, messages: Sequence[ClaimedMessage]) -> None:
        """Unclaim messages this dispatcher took beyond its share of one target (the attempt
        does not count); they are claimed again when the target's earlier ones are done."""
        for message in messages:
            self._finish(
                message,
                status=OutboxStatus.PENDING,
                attempts=message.attempt - 1,
                next_attempt_at=self.clock.now(),
            )

    async def _deliver_tracked(self, message: ClaimedMessage) -> Outcome:
        try:
            return await self.deliver(message)
        finally:
            self._in_flight[message.target] -= 1
            if self._in_flight[message.target] <= 0:
                del self._in_flight[message.target]

    async def _send(self, notifier: Notifier, delivery: Delivery) -> str:
        """`notifier.send`, in the target's turn when pacing: a notifier that paces itself
        (`paces_itself`, e.g. Slack after its uploads) takes the turn through `delivery.pace`
        right before its rate-limited call; others get it before `send`."""
        pacer = self._pacer
        if pacer is None or not pacer.paced(delivery.target):
            return await self._with_timeout(notifier.send(delivery))
        target = delivery.target
        taken = False

        async def pace() -> None:
            nonlocal taken
            if not taken:
                await pacer.turn(target)
                taken = True

        try:
            if getattr(notifier, "paces_itself", False):
                delivery = dataclasses.replace(delivery, pace=pace)
            else:
                await pace()
            return await self._with_timeout(notifier.send(delivery))
        finally:
            if taken:
                pacer.done(target)

    async def _update(self, notifier: Notifier, delivery: Delivery, message_id: str) -> str:
        pacer = self._pacer
        if pacer is None or not pacer.paced(delivery.target):
            return await self._with_timeout(notifier.update(delivery, message_id))
        await pacer.turn(delivery.target)
        try:
            return await self._with_timeout(notifier.update(delivery, message_id))
        finally:
            pacer.done(delivery.target)

    def _hold(self, message: ClaimedMessage, error: DeliveryError) -> None:
        if self._pacer is not None and error.retry_after_seconds is not None:
            self._pacer.hold(message.target, error.retry_after_seconds)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until `stop` is set, polling every `poll_interval` when idle."""
        stop = stop or asyncio.Event()
        kinds = ", ".join(sorted(self.notifiers)) or "none"
        log.info("outbox dispatcher started (delivers: %s)", kinds)
        while not stop.is_set():
            try:
                batch = await self.dispatch_once()
            except Exception:
                # The database may be restarting: keep the loop alive and try again later.
                log.exception("outbox dispatch failed; retrying after the poll interval")
                batch = []
            if len(batch) < self.config.batch_size:
                await self._idle(stop)

    async def _idle(self, stop: asyncio.Event) -> None:
        seconds = self.config.poll_interval.total_seconds()
        if self._sleep is not None:
            await self._sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):  # woken early by `stop`
            await asyncio.wait_for(stop.wait(), seconds)

    # -- claiming (synchronous, in a worker thread) --------------------------------------------
    def claim(
        self, exclude: Sequence[Target] = (), token: str | None = None
    ) -> list[ClaimedMessage]:
        """Take up to `batch_size` due rows for this dispatcher (lease + `token`, fresh unless
        given), none for the targets in `exclude` (paced ones that are busy)."""
        if not self.notifiers:
            return []
        now = self.clock.now()
        token = token or self._token_factory()
        lease_until = now + self.config.lease
        due = (
            select(OUTBOX.c.id)
            .where(
                OUTBOX.c.target_kind.in_([str(kind) for kind in self.notifiers]),
                or_(
                    (OUTBOX.c.status == OutboxStatus.PENDING) & (OUTBOX.c.next_attempt_at <= now),
                    (OUTBOX.c.status == OutboxStatus.SENDING) & (OUTBOX.c.lease_until <= now),
                ),
            )
            .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
            .limit(self.config.batch_size)
        )
        if exclude:
            due = due.where(OUTBOX.c.target_address.not_in(sorted({t.address for t in exclude})))
        if not is_sqlite(self.engine):
            # Rows another dispatcher is claiming right now are skipped, not waited for.
            due = due.with_for_update(skip_locked=True)
        statement = (
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(due.scalar_subquery()))
            .values(
                status=OutboxStatus.SENDING,
                claim_token=token,
                lease_until=lease_until,
                attempts=OUTBOX.c.attempts + 1,
                # A `sending` row whose lease ran out: its dispatcher may have sent it and died.
                uncertain=case(
                    (OUTBOX.c.status == OutboxStatus.SENDING, True), else_=OUTBOX.c.uncertain
                ),
            )
            .returning(
                OUTBOX.c.id,
                OUTBOX.c.idempotency_key,
                OUTBOX.c.target_kind,
                OUTBOX.c.target_address,
                OUTBOX.c.card,
                OUTBOX.c.attempts,
                OUTBOX.c.uncertain,
                OUTBOX.c.updates_key,
                OUTBOX.c.created_at,
            )
        )
        with write_transaction(self.engine) as conn:
            rows = conn.execute(statement).all()
        return sorted((self._claimed(row, token, lease_until) for row in rows), key=lambda m: m.id)

    @staticmethod
    def _claimed(row: Row[Any], token: str, lease_until: datetime) -> ClaimedMessage:
        return ClaimedMessage(
            id=row.id,
            key=row.idempotency_key,
            target=Target(TargetKind(row.target_kind), row.target_address),
            card=row.card,
            attempt=row.attempts,
            uncertain=bool(row.uncertain),
            claim_token=token,
            lease_until=lease_until,
            updates_key=row.updates_key,
            created_at=row.created_at,
        )

    def update_target(self, message: ClaimedMessage) -> UpdateTarget:
        """What an update edits: the first message's id, or wait, or skip (see the module doc)."""
        key = message.updates_key
        with self.engine.connect() as conn:
            first = conn.execute(
                select(OUTBOX.c.status, OUTBOX.c.provider_message_id).where(
                    OUTBOX.c.idempotency_key == key
                )
            ).first()
            newer = conn.execute(
                select(OUTBOX.c.id)
                .where(OUTBOX.c.updates_key == key, OUTBOX.c.id > message.id)
                .limit(1)
            ).first()
        if newer is not None:
            return UpdateTarget(None, superseded=True)
        if first is not None and first.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            return UpdateTarget(None, waiting=True)
        if first is not None and first.status == OutboxStatus.SENT:
            return UpdateTarget(first.provider_message_id or None)
        return UpdateTarget(None)  # dead or gone: post it as a new message

    def _wait_for_first(self, message: ClaimedMessage) -> Outcome:
        """Put an update back until its first message is sent (the attempt does not count)."""
        done = self._finish(
            message,
            status=OutboxStatus.PENDING,
            attempts=message.attempt - 1,
            next_attempt_at=self.clock.now() + self.config.backoff_base,
        )
        return "waiting" if done else "lost_claim"

    def _recheck(self, message: ClaimedMessage) -> bool:
        """Still ours? Renew the lease for one send; False when another dispatcher took it over."""
        now = self.clock.now()
        with write_transaction(self.engine) as conn:
            still_ours = conn.execute(
                update(OUTBOX)
                .where(
                    OUTBOX.c.id == message.id,
                    OUTBOX.c.claim_token == message.claim_token,
                    OUTBOX.c.status == OutboxStatus.SENDING,
                )
                .values(lease_until=now + self.config.lease)
                .returning(OUTBOX.c.id)
            ).first()
        return still_ours is not None

    def _finish(self, message: ClaimedMessage, **values: Any) -> bool:
        """Write the outcome if the row is still ours; False when the claim was lost."""
        with write_transaction(self.engine) as conn:
            written = conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == message.id, OUTBOX.c.claim_token == message.claim_token)
                .values(lease_until=None, claim_token=None, **values)
                .returning(OUTBOX.c.id)
            ).first()
        return written is not None

    def _mark_sent(self, message: ClaimedMessage, provider_message_id: str | None) -> bool:
        return self._finish(
            message,
            status=OutboxStatus.SENT,
            provider_message_id=provider_message_id,
            sent_at=self.clock.now(),
            uncertain=False,
        )

    def _mark_failed(self, message: ClaimedMessage, error: DeliveryError) -> Outcome:
        reason = _error_text(error)
        if error.permanent or message.attempt >= self.config.max_attempts:
            why = "permanent failure" if error.permanent else f"{message.attempt} attempts"
            if not self._finish(
                message,
                status=OutboxStatus.DEAD,
                last_error=reason,
                uncertain=message.uncertain or may_have_delivered(error),
            ):
                return "lost_claim"
            log.warning(
                "outbox message %s to %s is dead after %s: %s",
                message.key,
                message.target.kind,
                why,
                reason,
            )
            return "dead"
        delay = backoff_delay(
            message.attempt,
            base=self.config.backoff_base,
            cap=self.config.backoff_cap,
            uniform=self._uniform,
            retry_after_seconds=error.retry_after_seconds,
            max_retry_after=self.config.max_retry_after,
        )
        if not self._finish(
            message,
            status=OutboxStatus.PENDING,
            next_attempt_at=self.clock.now() + delay,
            last_error=reason,
            uncertain=message.uncertain or may_have_delivered(error),
        ):
            return "lost_claim"
        log.info(
            "outbox message %s attempt %d failed (%s); next in %.1f s",
            message.key,
            message.attempt,
            reason,
            delay.total_seconds(),
        )
        return "retry"

    # -- delivering one message ----------------------------------------------------------------
    async def deliver(self, message: ClaimedMessage) -> Outcome:
        """Deliver one claimed message and record the outcome (never raises for a send failure)."""
        outcome = await self._deliver(message)
        if self._observer is not None:
            self._observer(message.target.kind, outcome)
        return outcome

    async def _deliver(self, message: ClaimedMessage) -> Outcome:
        notifier = self.notifiers[message.target.kind]
        try:
            card = card_from_dict(message.card)
        except (KeyError, TypeError, ValueError) as exc:
            error = DeliveryError(f"unreadable card: {exc}", permanent=True, code="bad_card")
            return await asyncio.to_thread(retrying(self._mark_failed), message, error)
        delivery = Delivery(
            idempotency_key=message.key,
            target=message.target,
            card=card,
            first_attempt_at=message.created_at,
        )
        if not await asyncio.to_thread(retrying(self._recheck), message):
            log.info("outbox message %s was taken over by another dispatcher", message.key)
            return "skipped"
        if message.updates_key is not None:
            return await self._deliver_update(message, notifier, delivery)
        try:
            if message.uncertain and await self._with_timeout(notifier.was_delivered(delivery)):
                sent = await asyncio.to_thread(retrying(self._mark_sent), message, None)
                log.info("outbox message %s had been delivered; not resending", message.key)
                return "already_delivered" if sent else "lost_claim"
            if message.attempt > self.config.max_attempts:
                # Only crash takeovers count past the limit; nothing says it arrived: give up.
                error = DeliveryError(
                    "the dispatcher stopped during the last attempt", permanent=True, code="crash"
                )
                return await asyncio.to_thread(retrying(self._mark_failed), message, error)
            provider_id = await self._send(notifier, delivery)
        except DeliveryError as exc:
            self._hold(message, exc)
            return await asyncio.to_thread(retrying(self._mark_failed), message, exc)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("notifier bug %s delivering outbox message %s", reference, message.key)
            error = DeliveryError(
                f"unexpected error (log reference {reference})", permanent=False, code="bug"
            )
            return await asyncio.to_thread(retrying(self._mark_failed), message, error)
        if self._after_send is not None:
            self._after_send(message)
        if not await asyncio.to_thread(retrying(self._mark_sent), message, provider_id):
            log.warning(
                "outbox message %s was sent but its claim was lost before marking it; the "
                "dispatcher that took it over checks delivery before resending",
                message.key,
            )
            return "lost_claim"
        return "sent"

    async def _deliver_update(
        self, message: ClaimedMessage, notifier: Notifier, delivery: Delivery
    ) -> Outcome:
        """Edit the first message (or post anew, wait, or skip: see `update_target`)."""
        where = await asyncio.to_thread(retrying(self.update_target), message)
        if where.waiting:
            return await asyncio.to_thread(retrying(self._wait_for_first), message)
        if where.superseded:
            marked = await asyncio.to_thread(retrying(self._mark_sent), message, None)
            return "superseded" if marked else "lost_claim"
        try:
            if where.message_id is None:
                provider_id = await self._send(notifier, delivery)
            else:
                provider_id = await self._update(notifier, delivery, where.message_id)
        except DeliveryError as exc:
            self._hold(message, exc)
            return await asyncio.to_thread(retrying(self._mark_failed), message, exc)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("notifier bug %s updating outbox message %s", reference, message.key)
            error = DeliveryError(
                f"unexpected error (log reference {reference})", permanent=False, code="bug"
            )
            return await asyncio.to_thread(retrying(self._mark_failed), message, error)
        if not await asyncio.to_thread(retrying(self._mark_sent), message, provider_id):
            return "lost_claim"
        return "sent"

    async def _with_timeout[T](self, awaitable: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(awaitable, self.config.send_timeout.total_seconds())
        except TimeoutError:
            raise DeliveryError(
                f"no answer within {self.config.send_timeout.total_seconds():g} s",
                permanent=False,
                code="timeout",
            ) from None


def _per_target(
    messages: Sequence[ClaimedMessage], limit: int
) -> tuple[list[ClaimedMessage], list[ClaimedMessage]]:
    """(the first `limit` messages of each target, the rest)."""
    seen: Counter[Target] = Counter()
    kept: list[ClaimedMessage] = []
    extra: list[ClaimedMessage] = []
    for message in messages:
        seen[message.target] += 1
        (kept if seen[message.target] <= limit else extra).append(message)
    return kept, extra


def _error_text(error: DeliveryError) -> str:
    text = f"{error.code}: {error.message}" if error.code else error.message
    return text[:LAST_ERROR_MAX]


# -- queries ---------------------------------------------------------------------------------
def outbox_status(
    engine: Engine, source: str, source_ids: Sequence[str]
) -> dict[str, list[MessageStatus]]:
    """The messages of each `source_id` (e.g. alert ids of `budget_alert`), oldest first.

    Ids without any message are absent from the result.
    """
    result: dict[str, list[MessageStatus]] = {}
    if not source_ids:
        return result
    statement = (
        select(OUTBOX)
        .where(OUTBOX.c.source == source, OUTBOX.c.source_id.in_(list(source_ids)))
        .order_by(OUTBOX.c.id)
    )
    with engine.connect() as conn:
        for row in conn.execute(statement):
            result.setdefault(row.source_id, []).append(_status(row))
    return result


def dead_letters(engine: Engine, *, limit: int = 50) -> list[MessageStatus]:
    """The newest messages that were given up on."""
    statement = (
        select(OUTBOX)
        .where(OUTBOX.c.status == OutboxStatus.DEAD)
        .order_by(OUTBOX.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_status(row) for row in conn.execute(statement)]


def outbox_counts(engine: Engine) -> dict[OutboxStatus, int]:
    """How many messages are in each state (metrics, `cloudoptima dispatch --once`)."""
    statement = select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status)
    with engine.connect() as conn:
        counts = {OutboxStatus(status): int(n) for status, n in conn.execute(statement)}
    return {status: counts.get(status, 0) for status in OutboxStatus}


@dataclass(frozen=True, slots=True)
class Backlog:
    """What waits in the outbox: messages not delivered yet, the oldest of them, dead ones."""

    waiting: int
    oldest_queued_at: datetime | None
    dead: int


def outbox_backlog(engine: Engine) -> Backlog:
    """The outbox's backlog (metrics): one aggregate query."""
    waiting = OUTBOX.c.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
    statement = select(
        func.count().filter(waiting),
        func.min(OUTBOX.c.created_at).filter(waiting),
        func.count().filter(OUTBOX.c.status == OutboxStatus.DEAD),
    )
    with engine.connect() as conn:
        count, oldest, dead = conn.execute(statement).one()
    if isinstance(oldest, str):  # SQLite answers an aggregate of dates as text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return Backlog(int(count or 0), oldest, int(dead or 0))


def retry_dead(engine: Engine, keys: Sequence[str], now: datetime) -> int:
    """Give dead messages a fresh set of attempts (after fixing a target); returns how many."""
    if not keys:
        return 0
    with write_transaction(engine) as conn:
        revived = conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.idempotency_key.in_(list(keys)), OUTBOX.c.status == OutboxStatus.DEAD)
            .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now)
            .returning(OUTBOX.c.id)
        ).all()
    return len(revived)


def _status(row: Row[Any]) -> MessageStatus:
    return MessageStatus(
        key=row.idempotency_key,
        target=Target(TargetKind(row.target_kind), row.target_address),
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        source=row.source,
        source_id=row.source_id,
    )


__all__ = [
    "REFUSAL_CODE_PREFIXES",
    "ClaimedMessage",
    "DispatchConfig",
    "Dispatcher",
    "MessageStatus",
    "backoff_delay",
    "dead_letters",
    "may_have_delivered",
    "outbox_backlog",
    "outbox_counts",
    "outbox_status",
    "retry_dead",
]
