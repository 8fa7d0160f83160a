"""Who may do what: the roles a command or button declares, and the policy that grants them.

Reading costs can be limited to a list of people; admin actions always are. Every command,
subcommand and button names its role (`core.kernel.routing`); the front door checks it before
anything runs, so no handler checks a role by hand. Rules about one object (only a budget's
owner may change it) stay with the feature that owns the object.
"""

from __future__ import annotations

from enum import StrEnum

from core.kernel.context import CommandContext, CoreConfig, Requester
from core.kernel.errors import PermissionDeniedError


class Role(StrEnum):
    #: Anyone who can reach the bot (help).
    ANYONE = "anyone"
    VIEWER = "viewer"  # see costs, budgets, recommendations
    ADMIN = "admin"  # change budgets, approve or dismiss recommendations


def _listed(principal: str, platform: str, allowed: frozenset[str]) -> bool:
    return principal in allowed or f"{platform}:*" in allowed or "*" in allowed


def grants(config: CoreConfig, who: Requester, role: Role) -> bool:
    """Whether the policy gives `who` the `role`."""
    if role is Role.ANYONE or _listed(who.principal, who.platform, config.admins):
        return True
    if role is Role.ADMIN:
        return False
    return config.viewers is None or _listed(who.principal, who.platform, config.viewers)


def has_role(ctx: CommandContext, role: Role) -> bool:
    return grants(ctx.config, ctx.requester, role)


def require(ctx: CommandContext, role: Role, purpose: str) -> None:
    """Raise a refusal the user understands unless the requester has `role`."""
    if not has_role(ctx, role):
        raise PermissionDeniedError(
            f"You are not allowed to {purpose}.",
            hint=f"Ask a CloudOptima admin to add {ctx.requester.principal} as {role}.",
        )
