"""Deciding: the state machine applied with one conditional UPDATE, and its audit row written in
the same transaction (a decision and its record commit together or not at all).

A press carries the version the card was drawn at. Of any number of concurrent presses, the one
whose UPDATE matches (state, version) wins; every other one is told who won (`Lost`), or, when
the item changed for another reason since its card was drawn, gets a fresh card (`Stale`). Both
are refused attempts and audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from core.approvals.model import (
    SOURCE_CHAT,
    TRANSITIONS,
    Decision,
    DecisionState,
    Verb,
)
from core.approvals.store import read_decision, transition
from core.audit.model import Actor, AuditAction, AuditEntry, Outcome
from core.audit.store import append
from core.kernel.db.engine import write_transaction
from core.kernel.errors import PermissionDeniedError, UserInputError
from core.recommendations.model import StoredRecommendation

_AUDIT_ACTION = {
    Verb.APPROVE: AuditAction.APPROVE,
    Verb.DISMISS: AuditAction.DISMISS,
    Verb.SNOOZE: AuditAction.SNOOZE,
    Verb.REOPEN: AuditAction.REOPEN,
    Verb.IMPLEMENT: AuditAction.IMPLEMENTED,
}


@dataclass(frozen=True, slots=True)
class Decided:
    decision: Decision
    previous: DecisionState


@dataclass(frozen=True, slots=True)
class Lost:
    """Another decision was made first; `current` says whose."""

    current: Decision


@dataclass(frozen=True, slots=True)
class Stale:
    """The card was drawn before the item changed (and nobody decided in between)."""

    current: Decision


Result = Decided | Lost | Stale


@dataclass(frozen=True, slots=True)
class Request:
    """One attempt to decide."""

    rec: StoredRecommendation
    verb: Verb
    actor: Actor
    request_id: str
    now: datetime
    #: The version the card was drawn at; None for a typed command (the current one).
    version: int | None = None
    reason: str = ""
    snooze_days: int | None = None
    #: Set on approval: the mean daily effective cost of the 30 days before, for realized savings.
    baseline_daily: Decimal | None = None
    #: Two-person rule: approving needs someone else's request first.
    two_person_rule: bool = False
    source: str = SOURCE_CHAT


def _values(req: Request) -> dict[str, Any]:
    saving = req.rec.recommendation.saving
    values: dict[str, Any] = {
        "decided_at": req.now,
        "decided_by": req.actor.principal[:300],
        "decided_by_name": (req.actor.user_name or req.actor.user_id)[:256],
        "reason": req.reason[:1000] or None,
        "source": req.source,
        "snoozed_until": None,
    }
    if req.verb is Verb.SNOOZE:
        assert req.snooze_days is not None
        values["snoozed_until"] = req.now + timedelta(days=req.snooze_days)
    if req.verb is Verb.APPROVE:
        values |= {
            "approved_at": req.now,
            "expected_monthly": None if saving is None else saving.amount,
            "currency": None if saving is None else saving.currency,
            "baseline_daily": req.baseline_daily,
            "implemented_at": None,
            "implemented_how": None,
            "realized_monthly": None,
            "realized_through": None,
        }
    if req.verb is Verb.REOPEN:
        values |= {
            "approved_at": None,
            "requested_by": None,
            "requested_by_name": None,
            "requested_at": None,
        }
    return values


def _entry(
    req: Request,
    outcome: Outcome,
    previous: DecisionState,
    new: DecisionState | None,
    reason: str,
    detail: Mapping[str, Any],
) -> AuditEntry:
    return AuditEntry(
        at=req.now,
        request_id=req.request_id,
        actor=req.actor,
        action=_AUDIT_ACTION[req.verb],
        subject=f"rec:{req.rec.id}",
        outcome=outcome,
        reason=reason,
        previous_state=str(previous),
        new_state=None if new is None else str(new),
        rec_id=req.rec.id,
        detail=dict(detail),
    )


def _check(req: Request, current: Decision) -> None:
    """Refusals that are not races: a state the verb cannot start from, the two-person rule."""
    allowed_from, _ = TRANSITIONS[req.verb]
    if current.state not in allowed_from:
        raise UserInputError(
            f"Recommendation #{req.rec.id} is {current.state}; it cannot be {req.verb}d now."
            if req.verb is not Verb.REOPEN
            else f"Recommendation #{req.rec.id} is {current.state}; there is nothing to re-open.",
            hint="`rec <id> reopen` re-opens a decision first (admins)."
            if req.verb is not Verb.REOPEN
            else None,
        )
    if req.verb is Verb.APPROVE and req.two_person_rule:
        if current.requested_by is None:
            raise PermissionDeniedError(
                f"Recommendation #{req.rec.id} needs a request for approval first "
                "(two-person rule).",
                hint=f"Someone asks with `rec {req.rec.id} request-approval`; another "
                "approver then approves.",
            )
        if current.requested_by == req.actor.principal:
            raise PermissionDeniedError(
                f"You asked for the approval of #{req.rec.id}: another approver must approve it "
                "(two-person rule).",
                hint="The approvers' channel has the card.",
            )


def decide(engine: Engine, req: Request) -> Result:
    """Apply `req` with one conditional UPDATE; audit what happened in the same transaction.

    Raises `PermissionDeniedError` (two-person rule) or `UserInputError` (a state the verb
    cannot start from) before anything is written; the caller's front door audits refusals.
    """
    _, new_state = TRANSITIONS[req.verb]
    with write_transaction(engine) as conn:
        current = read_decision(conn, req.rec.id)
        expected = current.version if req.version is None else req.version
        if expected == current.version:
            _check(req, current)
            if transition(
                conn,
                req.rec.id,
                expected_state=current.state,
                expected_version=expected,
                new_state=new_state,
                values=_values(req),
                now=req.now,
            ):
                decided = read_decision(conn, req.rec.id)
                detail: dict[str, Any] = {"version": decided.version}
                if decided.snoozed_until is not None:
                    detail["snoozed_until"] = decided.snoozed_until.isoformat()
                saving = req.rec.recommendation.saving
                if saving is not None:
                    detail["saving_monthly"] = str(saving.amount)
                    detail["currency"] = saving.currency
                if req.source != SOURCE_CHAT:
                    detail["source"] = req.source
                append(
                    conn, _entry(req, Outcome.DONE, current.state, new_state, req.reason, detail)
                )
                return Decided(decided, current.state)
            current = read_decision(conn, req.rec.id)  # someone else's UPDATE won meanwhile
        decided_since = current.version > expected and current.state is not DecisionState.OPEN
        result: Result = Lost(current) if decided_since else Stale(current)
        why = (
            f"lost: already {current.state} by {current.decided_by_name or current.decided_by}"
            if isinstance(result, Lost)
            else f"stale card (version {expected}, now {current.version})"
        )
        append(
            conn,
            _entry(
                req,
                Outcome.REFUSED,
                current.state,
                None,
                why,
                {"card_version": expected, "version": current.version},
            ),
        )
        return result
