"""`audit [rec <id> | user <id> | last 30d]`."""

from __future__ import annotations

from datetime import timedelta

from core.audit.grammar import HELP, USAGE, parse_audit_args
from core.audit.presenters import MAX_ROWS, audit_card
from core.audit.store import AuditQuery, count, entries
from core.kernel.authz import Role
from core.kernel.cards import Reply, Visibility
from core.kernel.context import CommandContext
from core.kernel.grammar import ParsedCommand
from core.kernel.routing import CommandSpec, Router


def audit(cmd: ParsedCommand, ctx: CommandContext) -> Reply:
    words = parse_audit_args(cmd.args)
    if words.rec_id is not None:
        query, title = AuditQuery(rec_id=words.rec_id), f"Audit — recommendation #{words.rec_id}"
    elif words.user is not None:
        query, title = AuditQuery(user=words.user), f"Audit — {words.user}"
    else:
        since = ctx.clock.now() - timedelta(days=words.days)
        query, title = AuditQuery(since=since), f"Audit — last {words.days} days"
    total = count(ctx.engine, query)
    found = entries(
        ctx.engine,
        AuditQuery(query.rec_id, query.user, query.since, limit=MAX_ROWS),
    )
    view = audit_card(title, found, total)
    return Reply(view, visibility=Visibility.PUBLIC if cmd.public else Visibility.PRIVATE)


def register(router: Router) -> None:
    router.add_command(
        CommandSpec(
            name="audit",
            usage=USAGE,
            summary="The audit trail: decisions and refused attempts, who, when, why",
            help=HELP,
            role=Role.ADMIN,
            purpose="read the audit trail",
            handler=audit,
        )
    )
