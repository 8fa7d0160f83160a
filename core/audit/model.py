"""What an audit entry says: who (platform, user id, name at the time), from where (workspace,
channel), when, what, why, the state before and after, and the request id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.kernel.context import Requester


class AuditAction(StrEnum):
    APPROVE = "approve"
    DISMISS = "dismiss"
    SNOOZE = "snooze"
    REOPEN = "re-open"
    IMPLEMENTED = "implemented"
    REQUEST_APPROVAL = "request-approval"
    #: A command or button the policy (or a feature's own rule) refused.
    REFUSED = "refused"


class Outcome(StrEnum):
    DONE = "done"
    REFUSED = "refused"


#: Who acts when nobody clicked: the snooze expiry, the realized-savings watcher, Azure's portal.
SYSTEM_PLATFORM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it, as it was at the time."""

    platform: str
    user_id: str
    principal: str
    user_name: str = ""
    workspace_id: str = ""
    channel_id: str = ""

    @staticmethod
    def of(requester: Requester) -> Actor:
        return Actor(
            platform=str(requester.platform),
            user_id=requester.user_id,
            principal=requester.principal,
            user_name=requester.user_name,
            workspace_id=requester.workspace_id,
            channel_id=requester.conversation_id,
        )

    @staticmethod
    def system(name: str) -> Actor:
        return Actor(SYSTEM_PLATFORM, name, f"{SYSTEM_PLATFORM}:{name}", name)

    @property
    def shown(self) -> str:
        return self.user_name or self.user_id


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    request_id: str
    actor: Actor
    action: AuditAction
    subject: str
    outcome: Outcome = Outcome.DONE
    reason: str = ""
    previous_state: str | None = None
    new_state: str | None = None
    rec_id: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredAuditEntry:
    id: int
    entry: AuditEntry
