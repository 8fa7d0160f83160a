"""The words of `audit [rec <id> | user <id> | last <N>d]`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.kernel.errors import UserInputError
from core.kernel.grammar import help_text

USAGE = "audit [rec <id> | user <id> | last 30d]"
HELP = help_text(
    "The audit trail: every approve, dismiss, snooze, re-open, request for approval and "
    "implemented item, and every refused attempt of any command or button — who (platform, "
    "user id, name at the time), from where (workspace, channel), when, the reason, the state "
    "before and after, and the request id. Rows are never changed or deleted.",
    "",
    "`audit` shows the last 30 days; `audit rec 12` one recommendation's history; "
    "`audit user U0123ABC` one person's (a user id or a principal such as slack:U0123ABC); "
    "`audit last 7d` another window (1–366 days).",
    "",
    "`cloudoptima audit export --since 2026-11-01 --format csv|jsonl` exports everything.",
)
DEFAULT_DAYS = 30
MAX_DAYS = 366
_DAYS = re.compile(r"^([0-9]{1,3})d$")
_ID = re.compile(r"^[A-Za-z0-9:_.@\-]{1,300}$")


@dataclass(frozen=True, slots=True)
class AuditWords:
    rec_id: int | None = None
    user: str | None = None
    days: int = DEFAULT_DAYS


def parse_audit_args(args: tuple[str, ...]) -> AuditWords:
    if not args:
        return AuditWords()
    word = args[0].lower()
    if len(args) != 2 or word not in ("rec", "user", "last"):
        raise UserInputError(
            "I don't understand that audit question.",
            accepted=["audit", "audit rec <id>", "audit user <id>", "audit last 30d"],
        )
    value = args[1]
    if word == "rec":
        text = value.lstrip("#")
        if not text.isascii() or not text.isdigit() or len(text) > 12:
            raise UserInputError(
                f"'{value[:20]}' is not a recommendation id.", hint="`audit rec 12`"
            )
        return AuditWords(rec_id=int(text))
    if word == "user":
        if not _ID.match(value):
            raise UserInputError(
                f"'{value[:40]}' is not a user id.",
                hint="Give the platform's id (Slack U…, a Teams AAD object id) or a principal "
                "such as slack:U0123ABC — never a display name.",
            )
        return AuditWords(user=value)
    match = _DAYS.match(value.lower())
    if not match or not 1 <= int(match.group(1)) <= MAX_DAYS:
        raise UserInputError(
            f"'last {value[:20]}' is not a window I know.",
            accepted=["last 7d", "last 30d", f"last {MAX_DAYS}d"],
        )
    return AuditWords(days=int(match.group(1)))
