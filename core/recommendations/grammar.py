"""The words of `recs [category] [min <amount>] [scope filters] [top N]` and `rec <id>`."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

from core.kernel.errors import UserInputError
from core.kernel.grammar import Term, Vocabulary, help_text
from core.recommendations.model import Category

CATEGORIES: Vocabulary[Category] = Vocabulary(
    "category",
    [
        Term("compute", Category.COMPUTE, ("vm", "vms"), "VMs: idle, oversized, stopped"),
        Term("storage", Category.STORAGE, ("disks", "disk"), "unattached disks"),
        Term("network", Category.NETWORK, ("ip", "ips"), "unused public IPs"),
        Term("web", Category.WEB, ("appservice", "app-service"), "empty App Service plans"),
        Term(
            "commitments",
            Category.COMMITMENTS,
            ("reservations", "savings-plans", "ri"),
            "reservations, savings plans",
        ),
        Term("other", Category.OTHER, (), "other Advisor cost items"),
    ],
)
FILTERS: Vocabulary[str] = Vocabulary(
    "filter",
    [
        Term("sub", "sub", ("subscription",), form="sub:<id>"),
        Term("rg", "rg", ("resource-group",), form="rg:<name>"),
        Term("location", "location", ("region",), form="location:<region>"),
    ],
)
MAX_TOP = 50
USAGE = "recs [category] [min <amount>] [sub:|rg:|location:] [top N]"
REC_USAGE = (
    "rec <id> [approve | dismiss <reason> | snooze <N>d <reason> | reopen | request-approval]"
)
HELP = help_text(
    "Savings recommendations, largest monthly saving first, each with its fit score; totals "
    "per currency (never summed across currencies).",
    "",
    f"Categories: {CATEGORIES.listing()}.",
    f"Filters: {FILTERS.listing()}. `min 50` hides smaller savings; `top N` shows more rows.",
    "`rec <id>` shows one with its evidence, prices, formula and what Advisor said, and its "
    "Approve / Dismiss / Snooze buttons. `rec 3 approve [reason]`, `rec 3 dismiss <reason>`, "
    "`rec 3 snooze 14d <reason>` (7–90 days) decide from the command line; `rec 3 reopen` "
    "re-opens a decision (admins); `rec 3 request-approval` asks the approvers. Dismissed and "
    "snoozed items leave `recs` until they re-open.",
    "",
    "Examples: `recs`, `recs compute min 20`, `recs rg:rg-prod-web top 20`, `rec 3`.",
)
_AMOUNT = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,2})?$")
_VALUE = re.compile(r"^[\w.\-()]{1,128}$")


@dataclass(frozen=True, slots=True)
class RecsQuery:
    category: Category | None = None
    minimum: Decimal | None = None
    subscription: str | None = None
    resource_group: str | None = None
    location: str | None = None
    top_n: int = 10

    def describe(self) -> str:
        parts = [
            f"{label}{value}"
            for label, value in (
                ("", self.category),
                ("min ", self.minimum),
                ("sub:", self.subscription),
                ("rg:", self.resource_group),
                ("location:", self.location),
            )
            if value is not None
        ]
        return " ".join(parts) or "all"


def _number_after(word: str, following: str | None, accepted: list[str]) -> str:
    if following is None:
        raise UserInputError(f"'{word}' needs a number after it.", accepted=accepted)
    return following


def _min(query: RecsQuery, following: str | None) -> RecsQuery:
    accepted = ["min 50", "min 12.50"]
    text = _number_after("min", following, accepted)
    if not _AMOUNT.match(text):
        raise UserInputError(f"'min {text[:20]}' needs a plain amount.", accepted=accepted)
    return replace(query, minimum=Decimal(text))


def _top(query: RecsQuery, following: str | None) -> RecsQuery:
    accepted = [f"top 1…{MAX_TOP}"]
    text = _number_after("top", following, accepted)
    if not text.isascii() or not text.isdigit() or not 1 <= int(text[:4]) <= MAX_TOP:
        raise UserInputError(f"'top {text[:12]}' is out of range.", accepted=accepted)
    return replace(query, top_n=int(text))


def _filter(query: RecsQuery, word: str) -> RecsQuery:
    name, _, value = word.partition(":")
    kind = FILTERS.get(name)
    value = value.strip()
    if kind is None or not _VALUE.match(value):
        raise UserInputError(f"'{word[:40]}' is not a filter I know.", accepted=FILTERS.accepted())
    value = value.lower()
    if kind == "sub":
        return replace(query, subscription=value)
    if kind == "rg":
        return replace(query, resource_group=value)
    return replace(query, location=value)


def parse_recs_args(args: tuple[str, ...], top_n: int) -> RecsQuery:
    """The words after `recs`, in any order, each at most once."""
    query = RecsQuery(top_n=top_n)
    i = 0
    while i < len(args):
        word = args[i].lower()
        following = args[i + 1] if i + 1 < len(args) else None
        if word in ("min", "top"):
            query = _min(query, following) if word == "min" else _top(query, following)
            i += 2
            continue
        if ":" in word:
            query = _filter(query, args[i])
        elif (category := CATEGORIES.get(word)) is not None:
            if query.category is not None:
                raise UserInputError("Give one category at a time.", accepted=CATEGORIES.accepted())
            query = replace(query, category=category)
        else:
            raise UserInputError(
                f"I don't understand '{args[i][:40]}' in a recs command.",
                hint=f"Usage: {USAGE}\nCategories: {', '.join(CATEGORIES.accepted())}",
            )
        i += 1
    return query


def parse_rec_id(args: tuple[str, ...]) -> int:
    """`rec 12` or `rec #12`."""
    if len(args) != 1:
        raise UserInputError(
            "`rec` takes one recommendation id.",
            hint=f"Usage: {REC_USAGE}; `recs` lists them with their ids.",
        )
    text = args[0].lstrip("#")
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise UserInputError(
            f"'{args[0][:20]}' is not a recommendation id.",
            hint="Ids are numbers, as `recs` lists them: `rec 3`.",
        )
    return int(text)
