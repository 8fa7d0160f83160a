"""Azure Advisor kept in sync (behind `ApprovalsConfig.advisor_sync`): a dismissal or snooze
decided here suppresses the Advisor recommendation (a snooze with its TTL, a dismissal without),
and an Advisor item suppressed in the portal shows here as dismissed (or snoozed), with the
portal as its source.

The suppression is sent after the decision committed (by the decisions job), never inside it:
Azure being slow or refusing never loses or blocks a decision, and a failed call is tried again
on the next pass (the row remembers which version Advisor was told of).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select

from core.approvals.model import SOURCE_CHAT, SOURCE_PORTAL, DecisionState
from core.approvals.ports import AdvisorSuppressions, PortalSuppression
from core.approvals.store import (
    DECISIONS,
    decisions_in,
    read_decisions,
    set_values,
    transition,
)
from core.audit.model import Actor, AuditAction, AuditEntry
from core.audit.store import append
from core.kernel.db.engine import write_transaction
from core.recommendations.model import Status
from core.recommendations.store import all_recommendations

PORTAL = Actor.system("azure-portal")


@dataclass(frozen=True, slots=True)
class PendingSuppression:
    rec_id: int
    version: int
    resource_id: str
    advisor_id: str
    #: None: dismissed (for good).
    ttl: timedelta | None

    @property
    def name(self) -> str:
        """The suppression's name in Advisor: one per recommendation, so a re-decision
        replaces the previous one."""
        return f"cloudoptima-{self.rec_id}"


def pending_suppressions(engine: Engine, now: datetime) -> list[PendingSuppression]:
    """Dismissals and snoozes decided here that Advisor was not told of yet."""
    with engine.connect() as conn:
        decided = [
            d
            for d in decisions_in(conn, [DecisionState.DISMISSED, DecisionState.SNOOZED])
            if d.source == SOURCE_CHAT and _synced(conn, d.rec_id) != d.version
        ]
    if not decided:
        return []
    recs = {s.id: s for s in all_recommendations(engine)}
    pending: list[PendingSuppression] = []
    for d in decided:
        rec = recs.get(d.rec_id)
        note = rec.recommendation.evidence.advisor if rec else None
        if rec is None or note is None:
            continue
        ttl = None
        if d.state is DecisionState.SNOOZED and d.snoozed_until is not None:
            ttl = d.snoozed_until - now
            if ttl <= timedelta(0):
                continue  # it ends anyway
        pending.append(
            PendingSuppression(
                d.rec_id, d.version, rec.recommendation.resource_id, note.recommendation_id, ttl
            )
        )
    return pending


def _synced(conn: Connection, rec_id: int) -> int | None:
    value = conn.execute(
        select(DECISIONS.c.advisor_synced_version).where(DECISIONS.c.rec_id == rec_id)
    ).scalar()
    return None if value is None else int(value)


async def push_suppressions(
    engine: Engine, suppressions: AdvisorSuppressions, now: datetime
) -> tuple[int, list[str]]:
    """Tell Advisor of every pending dismissal and snooze: (how many were sent, the errors)."""
    sent, errors = 0, []
    for p in pending_suppressions(engine, now):
        try:
            await suppressions.suppress(p.resource_id, p.advisor_id, p.name, p.ttl)
        except Exception as exc:  # a failure is tried again next pass
            errors.append(f"#{p.rec_id}: {getattr(exc, 'message', None) or type(exc).__name__}")
            continue
        with write_transaction(engine) as conn:
            set_values(conn, p.rec_id, p.version, {"advisor_synced_version": p.version}, now)
        sent += 1
    return sent, errors


def apply_portal_suppressions(
    engine: Engine, suppressed: Iterable[PortalSuppression], now: datetime
) -> int:
    """Items suppressed in Advisor (the portal) and open here become dismissed, source portal."""
    by_resource: dict[str, PortalSuppression] = {s.resource_id.lower(): s for s in suppressed}
    if not by_resource:
        return 0
    candidates = [
        s
        for s in all_recommendations(engine)
        if s.recommendation.resource_id.lower() in by_resource and s.status is Status.OPEN
    ]
    if not candidates:
        return 0
    with engine.connect() as conn:
        current = read_decisions(conn, [s.id for s in candidates])
    marked = 0
    for rec in candidates:
        d = current.get(rec.id)
        if d is not None and d.state is not DecisionState.OPEN:
            continue  # decided here already (our own suppression shows up here too)
        version = 0 if d is None else d.version
        item = by_resource[rec.recommendation.resource_id.lower()]
        with write_transaction(engine) as conn:
            if not transition(
                conn,
                rec.id,
                expected_state=DecisionState.OPEN,
                expected_version=version,
                new_state=DecisionState.DISMISSED,
                values={
                    "decided_at": now,
                    "decided_by": PORTAL.principal,
                    "decided_by_name": "the Azure portal",
                    "reason": "suppressed in Azure Advisor",
                    "source": SOURCE_PORTAL,
                },
                now=now,
            ):
                continue
            append(
                conn,
                AuditEntry(
                    at=now,
                    request_id="",
                    actor=PORTAL,
                    action=AuditAction.DISMISS,
                    subject=f"rec:{rec.id}",
                    reason="suppressed in Azure Advisor (the portal)",
                    previous_state=str(DecisionState.OPEN),
                    new_state=str(DecisionState.DISMISSED),
                    rec_id=rec.id,
                    detail={"source": SOURCE_PORTAL, "advisor_id": item.recommendation_id},
                ),
            )
            marked += 1
    return marked
