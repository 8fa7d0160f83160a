"""Strict parsing of budget arguments: names, amounts, currencies, thresholds, scopes, and the
whole `budget create` line.

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

from babel import Locale
from babel.numbers import get_currency_precision, get_territory_currencies

from core.budgets.model import BudgetPeriod, BudgetScope
from core.costs.grammar import COST_TYPES, FILTERS, parse_filter
from core.costs.model import CostType, FilterKind
from core.kernel.errors import UserInputError
from core.kernel.grammar import Term, Vocabulary
from core.kernel.scopes import ScopeKind, parse_scope

#: Amounts must stay below this (and it keeps them far inside the store's 64-bit 1e-8 units).
MAX_AMOUNT = Decimal("10000000000")
MAX_AMOUNT_TEXT = "10,000,000,000"
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

BUDGET_PERIODS: Vocabulary[BudgetPeriod] = Vocabulary(
    "budget period",
    [
        Term("monthly", BudgetPeriod.MONTHLY, ("month",)),
        Term("quarterly", BudgetPeriod.QUARTERLY, ("quarter",)),
        Term("yearly", BudgetPeriod.YEARLY, ("year", "annual", "annually")),
    ],
    default=BudgetPeriod.MONTHLY,
)
#: What a budget counts: the costs filters, plus ingested scopes (management groups …).
#: A budget counts every charge type of its scope (purchases included in ActualCost, spread over
#: their term in AmortizedCost): the costs filter `charge:` is no budget scope filter.
SCOPE_FILTERS: Vocabulary[FilterKind | str] = Vocabulary(
    "budget scope filter",
    [
        *(term for term in FILTERS if term.value is not FilterKind.CHARGE_TYPE),
        Term("mg", "mg", form="mg:<management group id>"),
        Term("scope", "scope", form="scope:<ingested ARM scope path>"),
    ],
)
ACCEPTED_SCOPES = SCOPE_FILTERS.accepted()
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
    problem = _not_a_number(raw, shown, currency) or _badly_written(raw, shown)
    if problem is not None:
        raise UserInputError(problem, accepted=accepted)
    match = _AMOUNT.fullmatch(raw)
    assert match is not None  # `_badly_written` refused everything else
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


def _not_a_number(raw: str, shown: str, currency: str) -> str | None:
    """What makes `raw` no number of money at all (empty, NaN, signed, foreign digits …)."""
    lowered = raw.lower().lstrip("+-")
    digit = _nonascii_digit(raw)
    checks: list[tuple[bool, str]] = [
        (not raw, "The budget needs an amount."),
        (
            len(raw) > _MAX_AMOUNT_CHARS,
            f"The amount '{shown}' is {len(raw):,} characters long; amounts are below "
            f"{MAX_AMOUNT_TEXT}.",
        ),
        (
            lowered in ("nan", "snan", "qnan", "inf", "infinity") or "nan" in lowered,
            f"'{shown}' is not an amount of money.",
        ),
        (
            raw.startswith("-"),
            f"The amount {shown} is negative; a budget must be more than zero.",
        ),
        (raw.startswith("+"), f"Write the amount without a sign: {raw[1:21]}."),
        (
            digit is not None,
            f"The amount '{shown}' uses non-ASCII digits (like '{digit}'); write it with the "
            "digits 0-9.",
        ),
        (
            any(ch in _CURRENCY_SYMBOLS for ch in raw),
            f"Write the currency as a code after the amount, not a symbol: e.g. `5000 {currency}`.",
        ),
    ]
    return next((message for failed, message in checks if failed), None)


def _badly_written(raw: str, shown: str) -> str | None:
    """What is wrong with how the number is written (exponents, grouping, zeros …), if anything."""
    if re.search(r"[0-9.][eE][+-]?[0-9]", raw):
        return (
            f"The amount '{shown}' uses an exponent; write the number out in full (1e5 → 100000)."
        )
    if "_" in raw:
        return f"The amount '{shown}' contains '_'; group thousands with commas (12,500)."
    stray = next((ch for ch in raw if ch not in "0123456789,."), None)
    if stray is not None:
        return (
            f"The amount '{shown}' contains {stray!r}; amounts use only the digits 0-9, ',' for "
            "thousands and '.' for decimals."
        )
    if _AMOUNT.fullmatch(raw) is not None:
        return None
    if raw.count(".") > 1:
        problem = "has more than one decimal point"
    elif re.fullmatch(r"0[0-9][0-9,]*(\.[0-9]*)?", raw):
        problem = "starts with a zero; write it without leading zeros"
    elif "," in raw:
        problem = "groups thousands wrongly; commas separate groups of three digits (12,500.50)"
    else:
        problem = "is not an amount; write digits with optional decimals"
    return f"The amount '{shown}' {problem}."


# -- periods -------------------------------------------------------------------------------------


def parse_period_word(token: str) -> BudgetPeriod | None:
    return BUDGET_PERIODS.get(token)


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


# -- scope filters -------------------------------------------------------------------------------


def _filter_value(text: str, token: str) -> str:
    if len(text) > _FILTER_VALUE_MAX:
        raise UserInputError(
            f"The filter '{token[:30]}…' is longer than {_FILTER_VALUE_MAX} characters."
        )
    if any(not ch.isprintable() for ch in text):
        raise UserInputError(f"The filter '{token[:30]}' contains unprintable characters.")
    return text


def is_scope_token(token: str) -> bool:
    return ":" in token and token.partition(":")[0] in SCOPE_FILTERS


#: Which `BudgetScope` field each costs filter sets (tags have their own).
_SCOPE_FIELDS = {
    FilterKind.SUBSCRIPTION: "subscription",
    FilterKind.RESOURCE_GROUP: "resource_group",
    FilterKind.SERVICE: "service",
    FilterKind.LOCATION: "location",
    FilterKind.METER: "meter",
}


def parse_scope_tokens(tokens: list[str]) -> BudgetScope:
    """`sub:prod rg:web tag:env=prod mg:contoso` → a `BudgetScope`; each filter at most once."""
    fields: dict[str, str] = {}
    tags: dict[str, str] = {}
    for token in tokens:
        if token.partition(":")[0].lower() in ("mg", "scope"):
            _put(fields, "scope_path", _ingested_scope_path(token), token)
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
        else:
            _put(fields, _SCOPE_FIELDS[parsed.kind], parsed.value.lower(), token)
    return BudgetScope(tags=tuple(sorted(tags.items())), **fields)


def _put(fields: dict[str, str], field: str, value: str, token: str) -> None:
    if field in fields:
        raise UserInputError(
            f"Two {field.replace('_', ' ')} filters given ('{token[:40]}' and an earlier "
            "one); a budget has one of each.",
            accepted=ACCEPTED_SCOPES,
        )
    fields[field] = value


def _ingested_scope_path(token: str) -> str:
    """`mg:<id>` or `scope:<ARM path>` → the normalized scope path."""
    name, _, value = token.partition(":")
    lowered, raw = name.lower(), value.strip()
    if not raw:
        raise UserInputError(f"'{token}' needs a value.", accepted=ACCEPTED_SCOPES)
    path = f"/providers/Microsoft.Management/managementGroups/{raw}" if lowered == "mg" else raw
    scope = parse_scope(path)
    if lowered == "mg" and scope.kind is not ScopeKind.MANAGEMENT_GROUP:
        raise UserInputError(f"'{token[:60]}' is not a management group id.")
    return scope.path


# -- the whole `budget create` line --------------------------------------------------------------

CREATE_USAGE = (
    "budget create <name> <amount> [currency] [monthly|quarterly|yearly] [start YYYY-MM] "
    "[scope filters] [thresholds 50,80,100] [forecast [100]] [actual|amortized] "
    "[notify <targets>]"
)
USAGE = (
    f"{CREATE_USAGE} · budget list · budget show <name> · "
    "budget set <name> amount|thresholds|forecast|targets … · budget delete <name>"
)


def usage_error(message: str) -> UserInputError:
    return UserInputError(message, hint=f"Usage: {USAGE}")


@dataclass(frozen=True, slots=True)
class CreateRequest:
    """A `budget create` line, parsed; what needs the store (currency, scope) is checked later."""

    name: str
    amount_token: str
    currency_token: str | None = None
    period: BudgetPeriod | None = None
    start_token: str | None = None
    scope_tokens: tuple[str, ...] = ()
    actual: tuple[int, ...] | None = None
    forecast: tuple[int, ...] | None = None
    cost_type: CostType | None = None
    target_tokens: tuple[str, ...] = ()


#: Words that take the next word as their value, and the field it sets.
_VALUED = {
    "start": "start_token",
    "from": "start_token",
    "starting": "start_token",
    "thresholds": "actual",
    "threshold": "actual",
    "at": "actual",
    "alert": "actual",
    "forecast": "forecast",
}
_NOTIFY_WORDS = ("notify", "targets", "to")
_WHAT = {
    "period": "period",
    "cost_type": "cost type",
    "start_token": "start date",
    "actual": "threshold list",
    "forecast": "forecast list",
    "currency_token": "currency",
}


def parse_create_args(args: list[str]) -> CreateRequest:
    """`<name> <amount> [currency] [period] [start …] [scope filters] [thresholds …] [forecast
    […]] [actual|amortized] [notify <targets…>]`, in any order after the amount; each once."""
    if len(args) < 2:
        raise usage_error("`budget create` needs a name and an amount: `budget create web 5000`.")
    name = parse_name(args[0])
    found: dict[str, object] = {}
    scope_tokens: list[str] = []
    words = args[2:]
    i = 0
    while i < len(words):
        word, lowered = words[i], words[i].lower()
        following = words[i + 1] if i + 1 < len(words) else None
        if lowered in _NOTIFY_WORDS:
            if following is None:
                raise usage_error("`notify` needs targets after it.")
            found["target_tokens"] = tuple(words[i + 1 :])
            break
        if lowered in _VALUED:
            field = _VALUED[lowered]
            _not_yet(found, field, word)
            value, took = _valued(field, following)
            found[field] = value
            i += took
        elif is_scope_token(word):
            scope_tokens.append(word)
        else:
            field, value = _single_word_part(word)
            _not_yet(found, field, word)
            found[field] = value
        i += 1
    return CreateRequest(
        name=name,
        amount_token=args[1],
        scope_tokens=tuple(scope_tokens),
        **found,  # type: ignore[arg-type]
    )


def _not_yet(found: dict[str, object], field: str, word: str) -> None:
    if field in found:
        raise usage_error(f"The {_WHAT[field]} is given twice ('{word[:30]}').")


def _valued(field: str, following: str | None) -> tuple[object, int]:
    """The value after `start`, `thresholds` or `forecast`, and how many words it took."""
    if field == "forecast":
        if following is not None and looks_like_threshold_list(following):
            return parse_thresholds(following), 1
        return DEFAULT_FORECAST_THRESHOLDS, 0
    if following is None:
        if field == "start_token":
            raise usage_error("`start` needs a month after it: start 2026-01.")
        raise usage_error("`thresholds` needs a list after it: thresholds 50,80,100.")
    return (following if field == "start_token" else parse_thresholds(following)), 1


def _single_word_part(word: str) -> tuple[str, object]:
    """A period, a cost type or a currency."""
    period = BUDGET_PERIODS.get(word)
    if period is not None:
        return "period", period
    cost_type = COST_TYPES.get(word)
    if cost_type is not None:
        return "cost_type", cost_type
    if looks_like_currency(word):
        return "currency_token", word
    raise UserInputError(
        f"I don't understand '{word[:40]}' in `budget create`.",
        hint=f"Usage: {USAGE}\nScope filters: {', '.join(ACCEPTED_SCOPES)}",
    )
