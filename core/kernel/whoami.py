"""`whoami`: the principal CloudOptima knows a person by, and the roles the policy gives them."""

from __future__ import annotations

from core.kernel.authz import Role, grants
from core.kernel.cards import Context, Fact, Facts, Header, Reply, Visibility, card
from core.kernel.context import CommandContext
from core.kernel.grammar import ParsedCommand
from core.kernel.routing import CommandSpec, Router


def whoami(cmd: ParsedCommand, ctx: CommandContext) -> Reply:
    who = ctx.requester
    roles = [
        str(role) for role in Role if role is not Role.ANYONE and grants(ctx.config, who, role)
    ]
    role_text = ", ".join(roles) if roles else "none (you may ask for help only)"
    facts = [
        Fact("Principal", who.principal),
        Fact("Platform", str(who.platform)),
        *([Fact("Workspace", who.workspace_id)] if who.workspace_id else []),
        Fact("User", f"{who.display_name} ({who.user_id})" if who.user_name else who.user_id),
        Fact("Roles", role_text),
    ]
    view = card(
        "whoami",
        f"You are {who.principal}; roles: {role_text}.",
        Header(f"You are {who.display_name}"),
        Facts(tuple(facts)),
        Context(
            f"Admins grant roles by principal: add {who.principal} to CLOUDOPTIMA_ADMINS or "
            "CLOUDOPTIMA_VIEWERS."
        ),
    )
    visibility = Visibility.PUBLIC if cmd.public else Visibility.PRIVATE
    return Reply(view, visibility)


def register(router: Router) -> None:
    router.add_command(
        CommandSpec(
            name="whoami",
            usage="whoami",
            summary="Who I think you are, and what you may do",
            help="Shows your principal (platform, workspace and user id, the form admins list "
            "in CLOUDOPTIMA_ADMINS and CLOUDOPTIMA_VIEWERS) and the roles you have.",
            role=Role.ANYONE,
            purpose="ask who you are",
            handler=whoami,
        )
    )
