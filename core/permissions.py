"""Who may do what. Reading costs can be limited to a list of people; admin actions always are."""

from __future__ import annotations

from enum import StrEnum

from core.commands.context import CommandContext
from core.errors import PermissionDeniedError


class Role(StrEnum):
    VIEWER = "viewer"  # see costs, budgets, recommendations
    ADMIN = "admin"  # change budgets, approve or dismiss recommendations


def _listed(principal: str, platform: str, allowed: frozenset[str]) -> bool:
    return principal in allowed or f"{platform}:*" in allowed or "*" in allowed


def has_role(ctx: CommandContext, role: Role) -> bool:
    who = ctx.requester
    config = ctx.config
    if _listed(who.principal, who.platform, config.admins):
        return True
    if role is Role.ADMIN:
        return False
    return config.viewers is None or _listed(who.principal, who.platform, config.viewers)


def require(ctx: CommandContext, role: Role, what: str) -> None:
    """Raise a refusal the user understands unless the requester has `role`."""
    if not has_role(ctx, role):
        raise PermissionDeniedError(
            f"You are not allowed to {what}.",
            hint=f"Ask a CloudOptima admin to add {ctx.requester.principal} as {role}.",
        )
