"""The approvals feature's types: the decision state machine, scoped roles, and its settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class DecisionState(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    DISMISSED = "dismissed"
    SNOOZED = "snoozed"
    IMPLEMENTED = "implemented"


class Verb(StrEnum):
    APPROVE = "approve"
    DISMISS = "dismiss"
    SNOOZE = "snooze"
    REOPEN = "re-open"
    IMPLEMENT = "implemented"


#: verb → (states it may start from, the state it leads to). Everything else is refused.
TRANSITIONS: Mapping[Verb, tuple[frozenset[DecisionState], DecisionState]] = {
    Verb.APPROVE: (frozenset({DecisionState.OPEN}), DecisionState.APPROVED),
    Verb.DISMISS: (frozenset({DecisionState.OPEN}), DecisionState.DISMISSED),
    Verb.SNOOZE: (frozenset({DecisionState.OPEN}), DecisionState.SNOOZED),
    Verb.REOPEN: (
        frozenset({DecisionState.DISMISSED, DecisionState.SNOOZED, DecisionState.APPROVED}),
        DecisionState.OPEN,
    ),
    Verb.IMPLEMENT: (frozenset({DecisionState.APPROVED}), DecisionState.IMPLEMENTED),
}
#: Dismissed and snoozed items leave `recs` until they re-open.
HIDDEN = frozenset({DecisionState.DISMISSED, DecisionState.SNOOZED})
SNOOZE_MIN_DAYS = 7
SNOOZE_MAX_DAYS = 90
SNOOZE_CHOICES = (7, 14, 30, 60, 90)
#: Where a decision came from: a person in chat, or the Azure portal (an Advisor suppression).
SOURCE_CHAT = "chat"
SOURCE_PORTAL = "portal"


class ApprovalRole(StrEnum):
    """Per Azure scope. viewer: see and ask for an approval; approver: approve, dismiss, snooze;
    admin: also re-open decisions. Higher roles include the lower ones."""

    VIEWER = "viewer"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return ("viewer", "approver", "admin").index(self.value)


#: A grant's `who` for a Slack user group (its members are resolved through the Web API).
SLACK_GROUP_PREFIX = "slack-group:"


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """`role` over `scope` for `who`: a principal exactly as the requester's (`slack:U123`,
    `teams:<aad object id>` — ids, never names), or `slack-group:<usergroup id>`."""

    role: ApprovalRole
    who: str
    #: A lower-cased ARM path (`/subscriptions/<id>`, `…/resourcegroups/<rg>`,
    #: `/providers/microsoft.management/managementgroups/<id>`) or "*" for every scope.
    scope: str = "*"


@dataclass(frozen=True, slots=True)
class ApprovalsConfig:
    grants: tuple[RoleGrant, ...] = ()
    #: Management group id (lower-cased) → its subscriptions (lower-cased ids).
    management_groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: The approver may not be the person who asked for the approval.
    two_person_rule: bool = False
    #: Where `rec <id> request-approval` posts the card (`slack:C…`, `teams:…`).
    approvers_channel: str | None = None
    #: How long a Slack user group's members are trusted before asking Slack again.
    group_cache_seconds: int = 300
    #: Dismiss and snooze also suppress the Advisor recommendation in Azure.
    advisor_sync: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """A recommendation's decision as stored (no row yet: open at version 0)."""

    rec_id: int
    state: DecisionState = DecisionState.OPEN
    version: int = 0
    decided_at: datetime | None = None
    decided_by: str | None = None
    decided_by_name: str | None = None
    reason: str | None = None
    snoozed_until: datetime | None = None
    source: str = SOURCE_CHAT
    requested_by: str | None = None
    requested_by_name: str | None = None
    requested_at: datetime | None = None
    approved_at: datetime | None = None
    implemented_at: datetime | None = None
    implemented_how: str | None = None
    expected_monthly: Decimal | None = None
    currency: str | None = None
    baseline_daily: Decimal | None = None
    realized_monthly: Decimal | None = None
    realized_through: date | None = None
