"""Who may decide on which recommendation: viewer / approver / admin per Azure scope.

Grants name principals as the kernel's policy matches them (`slack:T123:U456`, or the short
`slack:U456` in a deployment serving one workspace), Teams AAD object ids
(`teams:<tenant>:<oid>`, or `teams:<oid>` with one tenant) or Slack user groups
(`slack-group:S0123`, resolved through Slack's Web API and cached) — ids, never display names. A
grant covers its scope and everything under it: a management group its subscriptions (as
configured), a subscription its resource groups. The kernel's admins (`CLOUDOPTIMA_ADMINS`) are
admins everywhere. Everything else is denied: deciding needs a grant. The check runs when the
button is pressed (the handler calls it), not when the card was drawn.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from core.approvals.model import SLACK_GROUP_PREFIX, ApprovalRole, ApprovalsConfig, RoleGrant
from core.approvals.ports import GroupDirectory
from core.kernel.authz import Role, has_role, is_principal
from core.kernel.clock import Clock
from core.kernel.context import CommandContext, Platform
from core.kernel.errors import CloudOptimaError, PermissionDeniedError

log = logging.getLogger(__name__)

MANAGEMENT_GROUP_PATH = "/providers/microsoft.management/managementgroups/"


class GroupCache:
    """Slack user groups' members, asked again after `ttl`; a failed refresh keeps the last
    answer for another `ttl` (and denies when there is none)."""

    def __init__(self, directory: GroupDirectory, clock: Clock, ttl: timedelta) -> None:
        self.directory = directory
        self.clock = clock
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[datetime, frozenset[str]]] = {}
        self._lock = threading.Lock()
        self.lookups = 0

    def members(self, workspace_id: str, group_id: str) -> frozenset[str]:
        key = (workspace_id, group_id)
        now = self.clock.now()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        try:
            self.lookups += 1
            found = self.directory.members(workspace_id, group_id)
        except Exception as exc:
            if cached is not None:
                log.warning(
                    "could not refresh Slack user group %s; using the last answer", group_id
                )
                with self._lock:
                    self._cache[key] = (now, cached[1])
                return cached[1]
            raise CloudOptimaError(
                f"I could not check the members of Slack user group {group_id}.",
                hint="Nothing was decided; try again in a minute.",
            ) from exc
        with self._lock:
            self._cache[key] = (now, found)
        return found


def rec_scope(subscription_id: str, resource_group: str) -> str:
    """The ARM scope a recommendation is decided in (lower-cased)."""
    if not subscription_id:
        return ""
    scope = f"/subscriptions/{subscription_id.lower()}"
    return f"{scope}/resourcegroups/{resource_group.lower()}" if resource_group else scope


def covers(grant_scope: str, scope: str, config: ApprovalsConfig) -> bool:
    """Whether a grant over `grant_scope` reaches `scope`."""
    grant_scope = grant_scope.lower().rstrip("/")
    if grant_scope == "*":
        return True
    if not scope:
        return False
    if grant_scope.startswith(MANAGEMENT_GROUP_PATH):
        subscriptions = config.management_groups.get(
            grant_scope[len(MANAGEMENT_GROUP_PATH) :], frozenset()
        )
        parts = scope.split("/")
        return len(parts) > 2 and parts[2] in subscriptions
    return scope == grant_scope or scope.startswith(grant_scope + "/")


class Policy:
    def __init__(self, config: ApprovalsConfig, groups: GroupCache | None) -> None:
        self.config = config
        self.groups = groups

    def _is(self, grant: RoleGrant, ctx: CommandContext) -> bool:
        who = ctx.requester
        if grant.who.startswith(SLACK_GROUP_PREFIX):
            if who.platform is not Platform.SLACK or self.groups is None:
                return False
            group = grant.who[len(SLACK_GROUP_PREFIX) :]
            return who.user_id in self.groups.members(who.workspace_id, group)
        return is_principal(ctx.config, grant.who, who)

    def role(self, ctx: CommandContext, scope: str) -> ApprovalRole | None:
        """The highest role `ctx.requester` holds over `scope` (None: no grant)."""
        if has_role(ctx, Role.ADMIN):
            return ApprovalRole.ADMIN
        best: ApprovalRole | None = None
        # Direct grants first: a group lookup (a Slack call) only when they do not settle it.
        ordered = sorted(self.config.grants, key=lambda g: g.who.startswith(SLACK_GROUP_PREFIX))
        for grant in ordered:
            if best is not None and grant.role.rank <= best.rank:
                continue
            if covers(grant.scope, scope, self.config) and self._is(grant, ctx):
                best = grant.role
        return best

    def require(self, ctx: CommandContext, scope: str, needed: ApprovalRole, purpose: str) -> None:
        held = self.role(ctx, scope)
        if held is not None and held.rank >= needed.rank:
            return
        where = scope or "this recommendation's scope"
        raise PermissionDeniedError(
            f"You are not allowed to {purpose}: that needs the {needed} role over {where}"
            + (f" (you are a {held} there)." if held else "."),
            hint=f"Ask a CloudOptima admin to grant {ctx.requester.principal} {needed} on "
            f"{where} (CLOUDOPTIMA_APPROVAL_ROLES).",
        )
