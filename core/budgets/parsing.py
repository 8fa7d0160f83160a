"""Strict parsing of budget arguments: names, amounts, currencies, thresholds, targets, scopes.

Every function either returns a clean value or raises `UserInputError` saying what was wrong and
what is accepted. Nothing here trusts Python's number parsing alone: `Decimal()` and `int()` accept
underscores, exponents, NaN, Infinity and any Unicode digit, so the text is checked first.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from babel import Locale
from babel.numbers import get_currency_precision, get_territory_currencies

from core.errors import UserInputError
from core.models import BudgetPeriod
from core.notify import Target, TargetKind
from core.reports import FilterKind, parse_filter
from core.scopes import ScopeKind, parse_scope

#: Amounts must stay below this (and it keeps them far inside the store's 64-bit 1e-8 units).
MAX_AMOUNT = Decimal("10000000000")
MAX_AMOUNT_TEXT = "10,000,000,000"
if TYPE_CHECKING:  # core.commands imports this package: no import at run time
    from core.commands.context import Requester

_MAX_AMOUNT_CHARS = 32
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,2}(?:,[0-9]{3})+|[1-9][0-9]*)(?:\.([0-9]+))?")
_CURRENCY_SYMBOLS = "$€£¥₹₩₽₺₪฿₫₴₦₱"
AMOUNT_EXAMPLES = ("5000", "12,500", "12,500.50")

NAME_MAX = 64
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
NAME_RULE = "a letter, then up to 63 letters, digits, '-', '_' or '.' (e.g. prod-web)"

MAX_THRESHOLDS = 10
MAX_PERCENT = 1000
DEFAULT_THRESHOLDS = (50, 80, 100)
DEFAULT_FORECAST_THRESHOLDS = (100,)

MAX_TARGETS = 10
_SLACK_CHANNEL = re.compile(r"[CGD][A-Z0-9]{4,30}")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_TEAMS_ID = re.compile(r"[\x21-\x7e]{1,512}")
ACCEPTED_TARGETS = (
    "here (this channel)",
    "slack:<channel id, e.g. C0123ABCD>",
    "teams:<conversation id>",
    "webhook:https://…",
    "email:<address>",
)

_PERIODS = {
    "monthly": BudgetPeriod.MONTHLY,
    "month": BudgetPeriod.MONTHLY,
    "quarterly": BudgetPeriod.QUARTERLY,
    "quarter": BudgetPeriod.QUARTERLY,
    "yearly": BudgetPeriod.YEARLY,
    "year": BudgetPeriod.YEARLY,
    "annual": BudgetPeriod.YEARLY,
    "annually": BudgetPeriod.YEARLY,
}
ACCEPTED_SCOPES = (
    "sub:<name or id>",
    "rg:<resource group>",
    "service:<name>",
    "location:<region>",
    "meter:<category>",
    "tag:<key>=<value>",
    "mg:<management group id>",
    "scope:<ingested ARM scope path>",
)
_FILTER_VALUE_MAX = 128


# -- names ---------------------------------------------------------------------------------------


def parse_name(text: str) -> str:
    """A budget name: ASCII letter first, then letters, digits, '-', '_', '.'; at most 64."""
    if not text:
        raise UserInputError("The budget needs a name.", hint=f"Names are {NAME_RULE}.")
    if len(text) > NAME_MAX:
        raise UserInputError(
            f"The name '{text[:24]}…' is {len(text)} characters long; names have at most "
            f"{NAME_MAX}.",
            hint=f"Names are {NAME_RULE}.",
        )
    if not _NAME.fullmatch(text):
        raise UserInputError(
            f"'{text}' is not a valid budget name.", hint=f"Names are {NAME_RULE}."
        )
    return text


def name_key(name: str) -> str:
    """Names are unique case-insensitively: `Prod` and `prod` are one budget."""
    return name.lower()


# -- currencies and amounts ----------------------------------------------------------------------


@functools.cache
def active_currencies() -> frozenset[str]:
    """ISO 4217 codes legal tender somewhere today (CLDR data shipped with babel)."""
    territories = [str(code) for code in Locale("en").territories if str(code).isalpha()]
    codes: set[str] = set()
    for territory in territories:
        codes.update(get_territory_currencies(territory))
    return frozenset(codes)


def looks_like_currency(token: str) -> bool:
    return len(token) == 3 and token.isascii() and token.isalpha()


def parse_currency(token: str) -> str:
    """An ISO 4217 code in use today (`eur` → `EUR`)."""
    code = token.upper()
    if not looks_like_currency(token) or code not in active_currencies():
        raise UserInputError(
            f"'{token[:12]}' is not an ISO 4217 currency code in use.",
            hint="Use a three-letter code such as EUR, USD, GBP or JPY.",
        )
    return code


def minor_unit_digits(currency: str) -> int:
    """Decimals a currency has (EUR 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(currency))


def _nonascii_digit(text: str) -> str | None:
    for ch in text:
        if not ch.isascii() and (ch.isdigit() or unicodedata.category(ch) == "Nd"):
            return ch
    return None


def parse_amount(text: str, currency: str) -> Decimal:
    """An amount in `currency`: ASCII digits, optional thousands commas and minor-unit decimals.

    Refused, each with its own message: empty, too long, NaN/Infinity, negative, a sign, non-ASCII
    digits, currency symbols, exponents, underscores, bad grouping, leading zeros, more decimals
    than the currency has, zero, and anything at or above `MAX_AMOUNT`.
    """
    raw = text.strip()
    accepted = [*AMOUNT_EXAMPLES, f"up to {MAX_AMOUNT_TEXT}"]
    shown = raw if len(raw) <= 20 else raw[:20] + "…"
    if not raw:
        raise UserInputError("The budget needs an amount.", accepted=accepted)
    if len(raw) > _MAX_AMOUNT_CHARS:
        raise UserInputError(
            f"The amount '{shown}' is {len(raw):,} characters long; amounts are below "
            f"{MAX_AMOUNT_TEXT}.",
            accepted=accepted,
        )
    lowered = raw.lower().lstrip("+-")
    if lowered in ("nan", "snan", "qnan", "inf", "infinity") or "nan" in lowered:
        raise UserInputError(f"'{shown}' is not an amount of money.", accepted=accepted)
    if raw.startswith("-"):
        raise UserInputError(
            f"The amount {shown} is negative; a budget must be more than zero.", accepted=accepted
        )
    if raw.startswith("+"):
        raise UserInputError(f"Write the amount without a sign: {raw[1:21]}.", accepted=accepted)
    digit = _nonascii_digit(raw)
    if digit is not None:
        raise UserInputError(
            f"The amount '{shown}' uses non-ASCII digits (like '{digit}'); write it with the "
            "digits 0-9.",
            accepted=accepted,
        )
    if any(ch in _CURRENCY_SYMBOLS for ch in raw):
        raise UserInputError(
            f"Write the currency as a code after the amount, not a symbol: e.g. `5000 {currency}`.",
            accepted=accepted,
        )
    if re.search(r"[0-9.][eE][+-]?[0-9]", raw):
        raise UserInputError(
            f"The amount '{shown}' uses an exponent; write the number out in full (1e5 → 100000).",
            accepted=accepted,
        )
    if "_" in raw:
        raise UserInputError(
            f"The amount '{shown}' contains '_'; group thousands with commas (12,500).",
            accepted=accepted,
        )
    stray = next((ch for ch in raw if ch not in "0123456789,."), None)
    if stray is not None:
        raise UserInputError(
            f"The amount '{shown}' contains {stray!r}; amounts use only the digits 0-9, ',' for "
            "thousands and '.' for decimals.",
            accepted=accepted,
        )
    match = _AMOUNT.fullmatch(raw)
    if match is None:
        if raw.count(".") > 1:
            problem = "has more than one decimal point"
        elif re.fullmatch(r"0[0-9][0-9,]*(\.[0-9]*)?", raw):
            problem = "starts with a zero; write it without leading zeros"
        elif "," in raw:
            problem = "groups thousands wrongly; commas separate groups of three digits (12,500.50)"
        else:
            problem = "is not an amount; write digits with optional decimals"
        raise UserInputError(f"The amount '{shown}' {problem}.", accepted=accepted)
    decimals = match.group(2) or ""
    allowed = minor_unit_digits(currency)
    if len(decimals) > allowed:
        rule = f"at most {allowed} decimal(s)" if allowed else "no decimals"
        raise UserInputError(
            f"The amount {shown} has {len(decimals)} decimals; {currency} amounts have {rule}.",
            accepted=accepted,
        )
    value = Decimal(raw.replace(",", ""))
    if value <= 0:
        raise UserInputError(
            f"The amount is {shown}; a budget must be more than zero.", accepted=accepted
        )
    if value >= MAX_AMOUNT:
        raise UserInputError(
            f"The amount {shown} is too large; budgets are below {MAX_AMOUNT_TEXT}.",
            accepted=accepted,
        )
    return value


# -- periods -------------------------------------------------------------------------------------


def parse_period_word(token: str) -> BudgetPeriod | None:
    return _PERIODS.get(token.lower())


def parse_start(token: str) -> date:
    """`2026-04-01` or `2026-04`: the first day of a month (periods start on the 1st)."""
    text = token.strip()
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})(?:-([0-9]{2}))?", text)
    accepted = ["start YYYY-MM-01", "start YYYY-MM"]
    if match is None:
        raise UserInputError(f"'{text[:20]}' is not a start date.", accepted=accepted)
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
    if not 2000 <= year <= 2100:
        raise UserInputError(f"The start year {year} is out of range (2000-2100).")
    try:
        start = date(year, month, day)
    except ValueError:
        raise UserInputError(f"'{text}' is not a date that exists.", accepted=accepted) from None
    if start.day != 1:
        raise UserInputError(
            f"Budgets start on the first of a month; {text} is not.",
            hint=f"Try start {start:%Y-%m}-01.",
        )
    return start


# -- thresholds ----------------------------------------------------------------------------------


def looks_like_threshold_list(token: str) -> bool:
    return bool(token) and all(ch in "0123456789,%" for ch in token) and token[0].isdigit()


def parse_thresholds(text: str) -> tuple[int, ...]:
    """`50,80,100` (or `80%`) → sorted whole percentages from 1 to 1000, at most 10."""
    accepted = ["thresholds 50,80,100", f"whole percentages 1-{MAX_PERCENT}"]
    parts = [p.strip() for p in text.split(",")]
    if len(parts) > MAX_THRESHOLDS:
        raise UserInputError(
            f"{len(parts)} thresholds given; a budget has at most {MAX_THRESHOLDS} per kind.",
            accepted=accepted,
        )
    values: list[int] = []
    for part in parts:
        digits = part.removesuffix("%")
        if not digits:
            raise UserInputError(f"'{text[:40]}' has an empty threshold.", accepted=accepted)
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 4:
            raise UserInputError(
                f"The threshold '{part[:12]}' is not a whole percentage.", accepted=accepted
            )
        value = int(digits)
        if not 1 <= value <= MAX_PERCENT:
            raise UserInputError(
                f"The threshold {value}% is out of range (1-{MAX_PERCENT}%).", accepted=accepted
            )
        if value in values:
            raise UserInputError(f"The threshold {value}% is listed twice.", accepted=accepted)
        values.append(value)
    return tuple(sorted(values))


# -- targets -------------------------------------------------------------------------------------


def here_target(requester: Requester) -> Target | None:
    """The conversation a request came from, when alerts can be delivered there."""
    if requester.conversation_id and requester.platform == "slack":
        return Target(TargetKind.SLACK, requester.conversation_id)
    if requester.conversation_id and requester.platform == "teams":
        return Target(TargetKind.TEAMS, requester.conversation_id)
    return None


def _webhook(url: str) -> Target:
    accepted = ["webhook:https://host/path"]
    if len(url) > 1024:
        raise UserInputError("The webhook URL is longer than 1024 characters.", accepted=accepted)
    if not url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise UserInputError(
            "The webhook URL contains spaces or non-ASCII characters; percent-encode them.",
            accepted=accepted,
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        raise UserInputError(f"'{url[:60]}' is not a valid URL.", accepted=accepted) from None
    local = host in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise UserInputError(
            "Webhooks must use https:// (plain http only to localhost).", accepted=accepted
        )
    if not host:
        raise UserInputError(f"'{url[:60]}' has no host name.", accepted=accepted)
    if parts.username or parts.password:
        raise UserInputError(
            "Put no user name or password in the webhook URL; the webhook is signed instead.",
            accepted=accepted,
        )
    return Target(TargetKind.WEBHOOK, url)


def _email(address: str) -> Target:
    if len(address) > 254 or not _EMAIL.fullmatch(address):
        raise UserInputError(
            f"'{address[:60]}' is not an e-mail address.", accepted=["email:name@example.com"]
        )
    local, _, domain = address.rpartition("@")
    return Target(TargetKind.EMAIL, f"{local}@{domain.lower()}")


def parse_target(token: str, requester: Requester) -> Target:
    """One notification target (see `ACCEPTED_TARGETS`)."""
    text = token.strip()
    lowered = text.lower()
    if lowered in ("here", "this-channel", "this"):
        target = here_target(requester)
        if target is None:
            raise UserInputError(
                "'here' means this Slack channel or Teams conversation, and this conversation "
                "cannot receive alerts.",
                accepted=ACCEPTED_TARGETS,
            )
        return target
    kind, sep, value = text.partition(":")
    kind = kind.lower()
    if lowered.startswith(("https://", "http://")):
        return _webhook(text)
    if sep and kind == "webhook":
        return _webhook(value)
    if sep and kind == "slack":
        if value.startswith("#"):
            raise UserInputError(
                f"Use the Slack channel id, not its name ({value[:40]}): run the command in the "
                "channel with `here`, or copy the id from the channel details.",
                accepted=ACCEPTED_TARGETS,
            )
        if not _SLACK_CHANNEL.fullmatch(value):
            raise UserInputError(
                f"'{value[:40]}' is not a Slack channel id.", accepted=ACCEPTED_TARGETS
            )
        return Target(TargetKind.SLACK, value)
    if sep and kind == "teams":
        if not _TEAMS_ID.fullmatch(value):
            raise UserInputError(
                "A Teams conversation id is 1-512 printable ASCII characters without spaces.",
                accepted=ACCEPTED_TARGETS,
            )
        return Target(TargetKind.TEAMS, value)
    if sep and kind in ("email", "mailto"):
        return _email(value)
    if "@" in text and not sep:
        return _email(text)
    raise UserInputError(f"'{text[:60]}' is not a notification target.", accepted=ACCEPTED_TARGETS)


def parse_targets(tokens: list[str], requester: Requester) -> list[Target]:
    """Targets from words and comma lists (`here,email:a@b.example`), duplicates dropped."""
    targets: list[Target] = []
    for token in tokens:
        for part in token.split(","):
            if not part.strip():
                continue
            target = parse_target(part, requester)
            if target not in targets:
                targets.append(target)
    if len(targets) > MAX_TARGETS:
        raise UserInputError(
            f"{len(targets)} targets given; a budget notifies at most {MAX_TARGETS}."
        )
    return targets


def describe_target(target: Target) -> str:
    """A target for display: webhook URLs lose their path and query (they often carry keys)."""
    if target.kind is TargetKind.WEBHOOK:
        parts = urlsplit(target.address)
        return f"webhook {parts.scheme}://{parts.netloc}/…"
    if target.kind is TargetKind.SLACK:
        return f"Slack <#{target.address}>"
    if target.kind is TargetKind.TEAMS:
        return "Teams conversation"
    return f"e-mail {target.address}"


# -- scope filters -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BudgetScope:
    """What a budget counts: every used filter must match (AND); '' means not filtered.

    Values are stored lower-cased (matching is case-insensitive) except tag values (exact).
    """

    scope_path: str = ""
    subscription: str = ""
    resource_group: str = ""
    service: str = ""
    location: str = ""
    meter: str = ""
    tags: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        parts = [
            f"{label}:{value}"
            for label, value in (
                ("scope", self.scope_path),
                ("sub", self.subscription),
                ("rg", self.resource_group),
                ("service", self.service),
                ("location", self.location),
                ("meter", self.meter),
            )
            if value
        ]
        parts.extend(f"tag {k}={v}" for k, v in self.tags)
        return ", ".join(parts) or "all ingested costs"


def _filter_value(text: str, token: str) -> str:
    if len(text) > _FILTER_VALUE_MAX:
        raise UserInputError(
            f"The filter '{token[:30]}…' is longer than {_FILTER_VALUE_MAX} characters."
        )
    if any(not ch.isprintable() for ch in text):
        raise UserInputError(f"The filter '{token[:30]}' contains unprintable characters.")
    return text


def is_scope_token(token: str) -> bool:
    name = token.partition(":")[0].lower()
    return ":" in token and name in (
        "sub",
        "subscription",
        "rg",
        "resource-group",
        "service",
        "location",
        "region",
        "meter",
        "tag",
        "mg",
        "scope",
    )


def parse_scope_tokens(tokens: list[str]) -> BudgetScope:
    """`sub:prod rg:web tag:env=prod mg:contoso` → a `BudgetScope`; each filter at most once."""
    fields: dict[str, str] = {}
    tags: dict[str, str] = {}

    def put(field: str, value: str, token: str) -> None:
        if field in fields:
            raise UserInputError(
                f"Two {field.replace('_', ' ')} filters given ('{token[:40]}' and an earlier "
                "one); a budget has one of each.",
                accepted=ACCEPTED_SCOPES,
            )
        fields[field] = value

    for token in tokens:
        name, _, value = token.partition(":")
        lowered = name.lower()
        if lowered in ("mg", "scope"):
            raw = value.strip()
            if not raw:
                raise UserInputError(f"'{token}' needs a value.", accepted=ACCEPTED_SCOPES)
            path = (
                f"/providers/Microsoft.Management/managementGroups/{raw}"
                if lowered == "mg"
                else raw
            )
            scope = parse_scope(path)
            if lowered == "mg" and scope.kind is not ScopeKind.MANAGEMENT_GROUP:
                raise UserInputError(f"'{token[:60]}' is not a management group id.")
            put("scope_path", scope.path, token)
            continue
        try:
            parsed = parse_filter(token)
        except UserInputError:
            raise UserInputError(
                f"'{token[:60]}' is not a budget scope filter.", accepted=ACCEPTED_SCOPES
            ) from None
        _filter_value(parsed.value, token)
        if parsed.kind is FilterKind.TAG:
            assert parsed.tag_key is not None
            if parsed.tag_key in tags:
                raise UserInputError(
                    f"The tag '{parsed.tag_key}' is filtered twice.", accepted=ACCEPTED_SCOPES
                )
            tags[parsed.tag_key] = parsed.value
            continue
        field = {
            FilterKind.SUBSCRIPTION: "subscription",
            FilterKind.RESOURCE_GROUP: "resource_group",
            FilterKind.SERVICE: "service",
            FilterKind.LOCATION: "location",
            FilterKind.METER: "meter",
        }[parsed.kind]
        put(field, parsed.value.lower(), token)
    return BudgetScope(tags=tuple(sorted(tags.items())), **fields)
