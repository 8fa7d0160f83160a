"""The kernel's audit hook (`core.kernel.service.Auditor`) writing to the audit trail.

The front door calls it for every authorization decision; refused ones — by the policy on the
command's or button's role, or by a feature's own rule (only an approver of the item's scope may
decide) — become `refused` rows. Allowed requests are not written here: what they change is
audited by the feature that changes it, in the same transaction as the change (a decision and
its row commit together or not at all).
"""

from __future__ import annotations

from sqlalchemy import Engine

from core.audit.model import Actor, AuditAction, AuditEntry, Outcome
from core.audit.store import append_now
from core.kernel.service import AuditEvent


def subject_of(name: str, target: str) -> str:
    """`rec.approve rec:12` style: the route or action, and what it was about."""
    return f"{name} {target}".strip()


def rec_id_of(name: str, target: str) -> int | None:
    """The recommendation a refused request was about, when it names one (`rec 12 approve`,
    a `rec.approve` button worth "12:3")."""
    words = target.split()
    if name.startswith("rec.") and target:
        head = target.split(":", 1)[0]
        return int(head) if head.isascii() and head.isdigit() and len(head) < 13 else None
    if name == "rec" and len(words) >= 2:
        head = words[1].lstrip("#")
        return int(head) if head.isascii() and head.isdigit() and len(head) < 13 else None
    return None


class AuditTrail:
    """Records refused attempts of any command or button."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, event: AuditEvent) -> None:
        if event.allowed:
            return
        append_now(
            self.engine,
            AuditEntry(
                at=event.at,
                request_id=event.request_id,
                actor=Actor.of(event.requester),
                action=AuditAction.REFUSED,
                subject=subject_of(event.name, event.target),
                outcome=Outcome.REFUSED,
                reason=event.reason,
                rec_id=rec_id_of(event.name, event.target),
                detail={"route": event.name, "role": str(event.role)},
            ),
        )
