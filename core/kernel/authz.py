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


def is_principal(config: CoreConfig, principal: str, who: Requester) -> bool:
    """Does `principal` (a stored owner, a listed person) name `who`?

    The full form `platform:workspace:user` names one user of one workspace. The short form
    `platform:user` names that user only in the deployment's single configured workspace
    (`CoreConfig.home_workspaces`), or a requester without a workspace (the terminal): the same
    user id in another Slack team or Teams tenant is somebody else.
    """
    if principal == who.principal:
        return True
    platform, _, rest = principal.partition(":")
    if platform != who.platform or not who.workspace_id or rest != who.user_id:
        return False
    return config.home_workspaces.get(platform) == who.workspace_id


def _listed(config: CoreConfig, who: Requester, allowed: frozenset[str]) -> bool:
    if "*" in allowed or f"{who.platform}:*" in allowed:
        return True
    if who.workspace_id and f"{who.platform}:{who.workspace_id}:*" in allowed:
        return True
    return any(is_principal(config, entry, who) for entry in allowed)


def grants(config: CoreConfig, who: Requester, role: Role) -> bool:
    """Whether the policy gives `who` the `role`."""
    if role is Role.ANYONE or _listed(config, who, config.admins):
        return True
    if role is Role.ADMIN:
        return False
    return config.viewers is None or _listed(config, who, config.viewers)


def has_role(ctx: CommandContext, role: Role) -> bool:
    return grants(ctx.config, ctx.requester, role)


def require(ctx: CommandContext, role: Role, purpose: str) -> None:
    """Raise a refusal the user understands unless the requester has `role`."""
    if not has_role(ctx, role):
        raise PermissionDeniedError(
            f"You are not allowed to {purpose}.",
            hint=f"Ask a CloudOptima admin to add {ctx.requester.principal} as {role}.",
        )
