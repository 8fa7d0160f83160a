"""The words of `rec <id> approve|dismiss|snooze|reopen|request-approval …` and
`savings [period]`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from core.approvals.model import SNOOZE_MAX_DAYS, SNOOZE_MIN_DAYS, ApprovalRole, RoleGrant, Verb
from core.kernel.errors import UserInputError
from core.kernel.grammar import Term, Vocabulary, help_text
from core.kernel.scopes import parse_scope

REQUEST = "request-approval"
VERBS: Vocabulary[str] = Vocabulary(
    "decision",
    [
        Term("approve", str(Verb.APPROVE), (), "[reason]"),
        Term("dismiss", str(Verb.DISMISS), (), "<reason>"),
        Term("snooze", str(Verb.SNOOZE), (), "<7-90>d <reason>"),
        Term("reopen", str(Verb.REOPEN), ("re-open",), "[reason] (admins)"),
        Term(REQUEST, REQUEST, ("request",), "[note]"),
    ],
)
_DAYS = re.compile(r"^([0-9]{1,3})(d|days?)?$")
MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class DecisionWords:
    verb: str
    reason: str = ""
    snooze_days: int | None = None


def parse_days(text: str) -> int:
    match = _DAYS.match(text.strip().lower())
    if not match or not SNOOZE_MIN_DAYS <= int(match.group(1)) <= SNOOZE_MAX_DAYS:
        raise UserInputError(
            f"'{text[:20]}' is not a snooze duration.",
            accepted=[f"{SNOOZE_MIN_DAYS}d … {SNOOZE_MAX_DAYS}d, e.g. 14d or 30d"],
        )
    return int(match.group(1))


def clean_reason(text: str) -> str:
    reason = " ".join(text.split())
    if len(reason) > MAX_REASON:
        raise UserInputError(f"A reason is at most {MAX_REASON} characters ({len(reason)} given).")
    return reason


def parse_decision(rec_id: int, args: tuple[str, ...]) -> DecisionWords:
    verb = VERBS.resolve(
        args[0],
        message=f"I don't know `rec {rec_id} {args[0][:30]}`.",
    )
    rest = list(args[1:])
    days = None
    if verb == Verb.SNOOZE:
        if not rest:
            raise UserInputError(
                "Snooze needs a duration and a reason.", hint=f"`rec {rec_id} snooze 14d <reason>`"
            )
        days = parse_days(rest.pop(0))
    reason = clean_reason(" ".join(rest))
    if verb in (Verb.DISMISS, Verb.SNOOZE) and not reason:
        raise UserInputError(
            f"Say why you {verb} #{rec_id}: the reason is kept in the audit trail.",
            hint=f"`rec {rec_id} {verb}{' 14d' if days else ''} <reason>`",
        )
    return DecisionWords(verb, reason, days)


SAVINGS_USAGE = "savings [30d | 90d | this month | last month | ytd | all]"
SAVINGS_HELP = help_text(
    "What decisions saved: recommendations approved in the period with their expected monthly "
    "saving, the ones implemented since (the resource deleted, resized to the recommended size, "
    "or its daily effective cost at least the expected amount lower 7 days in a row) with the "
    "saving they realized, expected against realized, and the items approved but never "
    "implemented.",
    "",
    "Realized = mean daily effective cost of the 30 days before approval − mean of the days "
    "since implementation (up to 90), × 730 ÷ 24 per month; per currency, never summed across.",
    "",
    "Default: the last 90 days. Examples: `savings`, `savings 30d`, `savings ytd`, `savings all`.",
)


@dataclass(frozen=True, slots=True)
class SavingsPeriod:
    label: str
    start: date | None
    end: date


def parse_savings_period(args: tuple[str, ...], today: date) -> SavingsPeriod:
    text = " ".join(args).lower().strip() or "90d"
    if text == "all":
        return SavingsPeriod("all time", None, today)
    if text in ("this month", "mtd"):
        return SavingsPeriod("this month", today.replace(day=1), today)
    if text == "last month":
        end = today.replace(day=1) - timedelta(days=1)
        return SavingsPeriod("last month", end.replace(day=1), end)
    if text == "ytd":
        return SavingsPeriod("this year", today.replace(month=1, day=1), today)
    match = re.fullmatch(r"([0-9]{1,3})d", text)
    if match and 1 <= int(match.group(1)) <= 366:
        days = int(match.group(1))
        return SavingsPeriod(f"last {days} days", today - timedelta(days=days - 1), today)
    raise UserInputError(
        f"'{text[:30]}' is not a period `savings` knows.",
        accepted=["30d", "90d", "this month", "last month", "ytd", "all"],
    )


# -- configuration (CLOUDOPTIMA_APPROVAL_ROLES, CLOUDOPTIMA_MANAGEMENT_GROUPS) --------------------

GRANT_FORMS = (
    "approver=slack:U0123ABC@/subscriptions/<id>",
    "admin=slack-group:S0123ABC@*",
    "viewer=teams:<aad object id>@/subscriptions/<id>/resourceGroups/<rg>",
    "approver=slack:U0123ABC@/providers/Microsoft.Management/managementGroups/<id>",
)
_WHO = re.compile(r"^[a-z][a-z0-9-]*:[A-Za-z0-9:_.\-]{1,256}$")


def parse_grant(text: str) -> RoleGrant:
    """`<role>=<who>[@<scope>]`: who by id (`slack:U…`, `teams:<oid>`, `slack-group:S…`),
    scope an ARM path or `*` (the default)."""
    role_text, sep, rest = text.strip().partition("=")
    try:
        role = ApprovalRole(role_text.strip().lower())
    except ValueError:
        raise ValueError(
            f"{text!r}: the role is viewer, approver or admin (e.g. {GRANT_FORMS[0]})"
        ) from None
    who, _, scope = rest.strip().partition("@")
    if not sep or not _WHO.match(who):
        raise ValueError(
            f"{text!r}: name who by id — slack:U…, slack-group:S…, teams:<aad object id> "
            "(never a display name)"
        )
    scope = scope.strip() or "*"
    if scope != "*":
        try:
            parsed = parse_scope(scope)
        except UserInputError as exc:
            raise ValueError(f"{text!r}: {exc.message}") from None
        scope = parsed.path
    return RoleGrant(role, who, scope)


def parse_management_group(text: str) -> tuple[str, frozenset[str]]:
    """`<management group id>=<subscription id>|<subscription id>…`."""
    name, sep, subs = text.strip().partition("=")
    ids = frozenset(s.strip().lower() for s in subs.split("|") if s.strip())
    if not sep or not name.strip() or not ids:
        raise ValueError(f"{text!r}: write <management group id>=<subscription id>|<id>…")
    return name.strip().lower(), ids
