"""The digest tick: every replica runs it (a `claim=False` scheduler job, every 30 s or so).

Each tick leases the subscriptions whose slot is due (`store.claim_due`), and for each:

- paused through the slot: recorded `paused`, advanced, nothing sent;
- due longer ago than the grace (every replica was down): recorded `skipped`, and the next
  digest says so (`missed_note`);
- otherwise the digest is built from the features' read APIs and `store.finish_slot` records
  the run (unique per subscription and slot), queues the message in the outbox and advances to
  the next slot in one transaction. The outbox delivers it (per-channel pacing, retries).

Subscriptions over the same filters share one build per tick (channels that follow the same
scope get the same figures). A tick leases up to `batch_size` due subscriptions at once and
commits them in chunks of `commit_size`, taking the channels in turn, so every channel's first
digest is queued before any channel's second.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Engine

from core.delivery.targets import Target
from core.digests.content import DigestContent, DigestSources, build_content
from core.digests.model import DigestsConfig, Subscription
from core.digests.presenters import digest_card, skipped_note
from core.digests.schedule import advance
from core.digests.store import (
    RunStatus,
    SlotOutcome,
    SlotResult,
    claim_due,
    finish_slots,
    release,
    scope_key,
)
from core.kernel.cards import Card
from core.kernel.clock import Clock

log = logging.getLogger(__name__)

#: Test hook: called after a subscription is leased and its digest built, before it is
#: recorded (a replica killed here commits nothing).
BeforeFinish = Callable[[Subscription], None]


@dataclass
class TickSummary:
    claimed: int = 0
    delivered: int = 0
    paused: int = 0
    skipped: int = 0
    #: Another replica had recorded the slot first (its lease was taken over).
    lost: int = 0
    failed: int = 0
    #: Milliseconds per digest actually built (shared builds counted once).
    build_ms: list[float] = field(default_factory=list)

    def count(self, outcome: SlotOutcome) -> None:
        if not outcome.won:
            self.lost += 1
        elif outcome.status == RunStatus.DELIVERED:
            self.delivered += 1
        elif outcome.status == RunStatus.PAUSED:
            self.paused += 1
        else:
            self.skipped += 1

    def describe(self) -> str:
        return (
            f"{self.claimed} due: {self.delivered} queued, {self.paused} paused, "
            f"{self.skipped} skipped, {self.lost} done elsewhere, {self.failed} failed"
        )


def round_robin(subscriptions: list[Subscription]) -> list[Subscription]:
    """One subscription of each target, then the next of each…: every channel's first digest
    is queued (and can be on its way) before any channel's second."""
    by_target: dict[Target, list[Subscription]] = {}
    for s in subscriptions:
        by_target.setdefault(s.target, []).append(s)
    queues = list(by_target.values())
    out: list[Subscription] = []
    for depth in range(max((len(q) for q in queues), default=0)):
        out.extend(q[depth] for q in queues if depth < len(q))
    return out


class DigestRunner:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        config: DigestsConfig,
        *,
        owner: str = "",
        token_factory: Callable[[], str] = lambda: secrets.token_hex(16),
        before_finish: BeforeFinish | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.config = config
        self.sources = DigestSources(
            cost_type=config.cost_type,
            forecast_provider=config.forecast_provider,
            movers=config.movers,
            resources_per_mover=config.resources_per_mover,
            recommendations=config.recommendations,
            realized_savings=config.realized_savings,
            rec_decisions=config.rec_decisions,
        )
        self.owner = owner or "digests"
        self._token_factory = token_factory
        self._before_finish = before_finish

    def tick(self) -> TickSummary:
        """Run every due slot (sync: the scheduler runs it in a worker thread)."""
        summary = TickSummary()
        built: dict[tuple[str, date], DigestContent] = {}
        while True:
            token = self._token_factory()
            now = self.clock.now()
            due = claim_due(self.engine, now, token, self.config.lease, self.config.batch_size)
            summary.claimed += len(due)
            ordered = round_robin(due)
            for first in range(0, len(ordered), self.config.commit_size):
                chunk = ordered[first : first + self.config.commit_size]
                results = [
                    r
                    for subscription in chunk
                    if (r := self._decide(subscription, token, built, summary)) is not None
                ]
                outcomes = finish_slots(
                    self.engine, results, owner=self.owner, now=self.clock.now()
                )
                for outcome in outcomes:
                    summary.count(outcome)
            if len(due) < self.config.batch_size:
                break
        if summary.claimed:
            log.info("digests: %s", summary.describe())
        return summary

    def build(self, subscription: Subscription, slot: date) -> DigestContent:
        return build_content(self.engine, subscription, slot, self.sources)

    def _status(self, subscription: Subscription, now: datetime) -> str:
        if (
            subscription.paused_until is not None
            and subscription.next_slot < subscription.paused_until
        ):
            return RunStatus.PAUSED
        if now - subscription.next_run_at > self.config.grace:
            return RunStatus.SKIPPED
        return RunStatus.DELIVERED

    def _card(
        self,
        subscription: Subscription,
        built: dict[tuple[str, date], DigestContent],
        summary: TickSummary,
    ) -> tuple[Card, float]:
        key = (scope_key(subscription.filters), subscription.next_slot)
        began = time.perf_counter()
        build_ms = 0.0
        content = built.get(key)
        if content is None:
            content = built[key] = self.build(subscription, subscription.next_slot)
            build_ms = (time.perf_counter() - began) * 1000
            summary.build_ms.append(build_ms)
        return digest_card(dataclasses.replace(content, subscription=subscription)), build_ms

    def _decide(
        self,
        subscription: Subscription,
        token: str,
        built: dict[tuple[str, date], DigestContent],
        summary: TickSummary,
    ) -> SlotResult | None:
        """Deliver (with the digest built), hold (paused) or skip (too late) the slot; None when
        the build failed (the lease is given back, the next tick tries again)."""
        now = self.clock.now()
        schedule = subscription.schedule
        following = advance(schedule, subscription.next_slot, now, self.config.grace)
        status = self._status(subscription, now)
        note = subscription.missed_note
        card: Card | None = None
        build_ms = 0.0
        if status == RunStatus.DELIVERED:
            try:
                card, build_ms = self._card(subscription, built, summary)
            except Exception:
                log.exception(
                    "digest %s for %s could not be built", subscription.id, subscription.next_slot
                )
                release(self.engine, subscription, token)
                summary.failed += 1
                return None
            note = None  # told in this digest
        missed = [subscription.next_slot] if status == RunStatus.SKIPPED else []
        missed += list(following.skipped)
        if missed:
            local_time = f"{schedule.at:%H:%M} {schedule.timezone}"
            note = ((f"{note} " if note else "") + skipped_note(missed, local_time))[:1000]
        if self._before_finish is not None:
            self._before_finish(subscription)
        return SlotResult(subscription, status, card, following.next, note, int(build_ms))
