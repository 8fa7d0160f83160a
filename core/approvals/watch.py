"""Jobs over decisions: snoozes that ended re-open, approved items are watched until implemented
and their realized saving measured (`core.approvals.realized`). Both run from the scheduler and
are safe on any number of replicas: every change is the same conditional UPDATE as a click, so
two replicas never both re-open or implement an item."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine

from core.approvals.model import Decision, DecisionState
from core.approvals.ports import ResourceState
from core.approvals.realized import (
    DailySeries,
    baseline_window,
    detect,
    measure,
    read_daily,
    still_watched,
)
from core.approvals.store import decisions_in, read_decision, set_values, transition
from core.audit.model import Actor, AuditAction, AuditEntry
from core.audit.store import append
from core.kernel.clock import Clock
from core.kernel.db.engine import write_transaction
from core.recommendations.model import StoredRecommendation
from core.recommendations.ports import Inventory
from core.recommendations.store import all_recommendations

SNOOZE_EXPIRY = Actor.system("snooze-expiry")
WATCHER = Actor.system("realized-savings")


def reopen_expired(engine: Engine, now: datetime, request_id: str = "") -> int:
    """Re-open every snoozed item whose snooze ended; how many."""
    with engine.connect() as conn:
        due = [
            d
            for d in decisions_in(conn, [DecisionState.SNOOZED])
            if d.snoozed_until is not None and d.snoozed_until <= now
        ]
    reopened = 0
    for d in due:
        with write_transaction(engine) as conn:
            if not transition(
                conn,
                d.rec_id,
                expected_state=DecisionState.SNOOZED,
                expected_version=d.version,
                new_state=DecisionState.OPEN,
                values={
                    "decided_at": now,
                    "decided_by": SNOOZE_EXPIRY.principal,
                    "decided_by_name": "the snooze's end",
                    "reason": None,
                    "snoozed_until": None,
                    "source": "chat",
                },
                now=now,
            ):
                continue  # someone re-opened or decided it meanwhile
            append(
                conn,
                AuditEntry(
                    at=now,
                    request_id=request_id,
                    actor=SNOOZE_EXPIRY,
                    action=AuditAction.REOPEN,
                    subject=f"rec:{d.rec_id}",
                    reason=f"snooze ended {d.snoozed_until:%Y-%m-%d %H:%M} UTC",
                    previous_state=str(DecisionState.SNOOZED),
                    new_state=str(DecisionState.OPEN),
                    rec_id=d.rec_id,
                    detail={"version": d.version + 1},
                ),
            )
            reopened += 1
    return reopened


def target_sku(rec: StoredRecommendation) -> str | None:
    """The size a rightsizing recommendation resizes to (its "Size" fact: `A → B (…)`)."""
    for label, value in rec.recommendation.evidence.facts:
        if label == "Size" and "→" in value:
            return value.split("→", 1)[1].split("(", 1)[0].strip() or None
    return None


@dataclass(frozen=True, slots=True)
class WatchSummary:
    implemented: int = 0
    measured: int = 0
    watched: int = 0

    def describe(self) -> str:
        return (
            f"{self.watched} approved item(s) watched, {self.implemented} newly implemented, "
            f"{self.measured} realized saving(s) measured"
        )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def watch_approved(
    engine: Engine,
    clock: Clock,
    states: Mapping[str, ResourceState] | None = None,
    request_id: str = "",
) -> WatchSummary:
    """Detect implemented items and measure realized savings (see `core.approvals.realized`).

    `states` are the resources as they are now (inventory); without them only the cost rule
    (7 days in a row at least the expected amount lower) can tell an item implemented.
    """
    now = clock.now()
    with engine.connect() as conn:
        watched = [
            d
            for d in decisions_in(conn, [DecisionState.APPROVED, DecisionState.IMPLEMENTED])
            if d.approved_at is not None and still_watched(d, now)
        ]
    if not watched:
        return WatchSummary()
    wanted = {d.rec_id for d in watched}
    recs = {s.id: s for s in all_recommendations(engine) if s.id in wanted}
    earliest = min(baseline_window(d.approved_at.date())[0] for d in watched if d.approved_at)
    resource_ids = [recs[d.rec_id].recommendation.resource_id for d in watched if d.rec_id in recs]
    series = read_daily(engine, resource_ids, earliest, now.date() - timedelta(days=1))
    implemented = measured = 0
    for d in watched:
        rec = recs.get(d.rec_id)
        if rec is None:
            continue
        rid = rec.recommendation.resource_id.lower()
        current: Decision | None = d
        if d.state is DecisionState.APPROVED:
            current = _maybe_implement(
                engine, d, rec, series.get(rid), (states or {}).get(rid), now, request_id
            )
            implemented += current is not None
        if current is not None and _measure(engine, current, series.get(rid), now):
            measured += 1
    return WatchSummary(implemented, measured, len(watched))


def _maybe_implement(
    engine: Engine,
    d: Decision,
    rec: StoredRecommendation,
    series: DailySeries | None,
    state: ResourceState | None,
    now: datetime,
    request_id: str,
) -> Decision | None:
    """The implemented decision when `d` became implemented just now, else None."""
    found = detect(d, series, state, target_sku(rec), now.date())
    if found is None or not _implement(engine, d, found.how, _start_of(found.day), now, request_id):
        return None
    return _reread(engine, d.rec_id)


def _measure(engine: Engine, d: Decision, series: DailySeries | None, now: datetime) -> bool:
    if d.implemented_at is None:
        return False
    result = measure(d, d.implemented_at.date(), series, now.date())
    if result is None:
        return False
    with write_transaction(engine) as conn:
        return set_values(
            conn,
            d.rec_id,
            d.version,
            {"realized_monthly": result.monthly, "realized_through": result.through},
            now,
        )


def _reread(engine: Engine, rec_id: int) -> Decision:
    with engine.connect() as conn:
        return read_decision(conn, rec_id)


def _implement(
    engine: Engine, d: Decision, how: str, since: datetime, now: datetime, request_id: str
) -> bool:
    with write_transaction(engine) as conn:
        if not transition(
            conn,
            d.rec_id,
            expected_state=DecisionState.APPROVED,
            expected_version=d.version,
            new_state=DecisionState.IMPLEMENTED,
            values={"implemented_at": since, "implemented_how": how[:32]},
            now=now,
        ):
            return False
        append(
            conn,
            AuditEntry(
                at=now,
                request_id=request_id,
                actor=WATCHER,
                action=AuditAction.IMPLEMENTED,
                subject=f"rec:{d.rec_id}",
                reason=how,
                previous_state=str(DecisionState.APPROVED),
                new_state=str(DecisionState.IMPLEMENTED),
                rec_id=d.rec_id,
                detail={"since": since.date().isoformat(), "version": d.version + 1},
            ),
        )
        return True


def resource_states(
    inventory: Inventory, resource_ids: Iterable[str], subscriptions: Iterable[str]
) -> dict[str, ResourceState]:
    """What the inventory says of `resource_ids`: present (with a VM's size), or gone — only for
    resources in `subscriptions`, the ones the inventory covered."""
    covered = {s.lower() for s in subscriptions}
    present = {r.resource_id.lower(): r for r in inventory.all()}
    states: dict[str, ResourceState] = {}
    for rid in {r.lower() for r in resource_ids}:
        found = present.get(rid)
        if found is not None:
            states[rid] = ResourceState(True, getattr(found, "size", None))
        elif len(rid.split("/")) > 2 and rid.split("/")[2] in covered:
            states[rid] = ResourceState(False)
    return states


def watched_resources(engine: Engine, now: datetime) -> list[str]:
    """The resource ids of approved items still watched (what the inventory must answer for)."""
    with engine.connect() as conn:
        ids = {
            d.rec_id for d in decisions_in(conn, [DecisionState.APPROVED]) if still_watched(d, now)
        }
    if not ids:
        return []
    return [s.recommendation.resource_id for s in all_recommendations(engine) if s.id in ids]
