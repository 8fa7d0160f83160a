"""The words of the anomalies commands.

`anomalies [period] [scope filters]`, `anomalies notify here|<target> [scope filters]
[min <amount>]`, `anomalies notify off`, `anomaly <id>`. Periods are those of `costs`; filters
`sub:`, `rg:`, `service:`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from core.costs.grammar import FILTERS, parse_filter
from core.costs.model import CostFilter, FilterKind
from core.costs.periods import PERIODS, Period, looks_like_period, parse_period
from core.kernel.errors import UserInputError
from core.kernel.grammar import help_text

USAGE = "anomalies [period] [scope filters] · anomalies notify here [scope filters] [min <amount>]"
SCOPE_FILTERS = ("sub:<name or id>", "rg:<name>", "service:<name>")
ALLOWED_FILTERS = frozenset(
    {FilterKind.SUBSCRIPTION, FilterKind.RESOURCE_GROUP, FilterKind.SERVICE}
)
DEFAULT_PERIOD = "30d"
_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
HELP = help_text(
    "Cost anomalies: days a series cost more (or less) than its weekday-aware expected range, "
    "per subscription and per service × resource group, one incident per run of days.",
    "",
    "anomalies [period] [scope filters]   incidents with a day in the period (default 30d), "
    "open and closed, with their impact.",
    f"  Periods: {PERIODS.listing()}. Filters: {', '.join(SCOPE_FILTERS)}.",
    "anomaly <id>   one incident: expected range, actual, impact, a 60-day chart with the band, "
    "the resources and meters that drove it, and its buttons (Expected / new normal, Too "
    "small, Acknowledge, Investigate).",
    "anomalies notify here [scope filters] [min <amount>]   post new incidents here (updating "
    "the same message on later days); `anomalies notify off` stops posting here.",
    "",
    "Example: `anomalies notify here sub:Production min 100`.",
)


@dataclass(frozen=True, slots=True)
class ListRequest:
    period: Period
    period_text: str
    filters: tuple[CostFilter, ...]


@dataclass(frozen=True, slots=True)
class NotifyRequest:
    target_tokens: tuple[str, ...]
    filters: tuple[CostFilter, ...]
    min_impact: Decimal | None
    off: bool = False


def _scope_filter(word: str) -> CostFilter:
    f = parse_filter(word)
    if f.kind not in ALLOWED_FILTERS:
        raise UserInputError(
            f"Anomalies are per subscription, service and resource group; '{word[:40]}' is "
            "not one of those.",
            accepted=SCOPE_FILTERS,
        )
    return f


def _check_unique(filters: list[CostFilter]) -> tuple[CostFilter, ...]:
    kinds = [f.kind for f in filters]
    if len(set(kinds)) != len(kinds):
        raise UserInputError("Give each filter once.", accepted=SCOPE_FILTERS)
    return tuple(filters)


def parse_list(args: tuple[str, ...], today: date) -> ListRequest:
    period_token: str | None = None
    filters: list[CostFilter] = []
    for word in args:
        if looks_like_period(word):
            if period_token is not None:
                raise UserInputError("Give one period.", accepted=PERIODS.accepted())
            period_token = word
        elif ":" in word and word.split(":", 1)[0].lower() in FILTERS:
            filters.append(_scope_filter(word))
        else:
            raise UserInputError(
                f"I don't understand '{word[:40]}' in `anomalies`.", hint=f"Usage: {USAGE}"
            )
    token = (period_token or DEFAULT_PERIOD).lower()
    pair = parse_period(token, today)
    return ListRequest(pair.current, pair.current.label, _check_unique(filters))


def parse_amount(text: str) -> Decimal:
    cleaned = text.replace(",", "")
    if not _AMOUNT.match(cleaned):
        raise UserInputError(
            f"'{text[:20]}' is not an amount; give it in your billing currency.",
            accepted=["min 100", "min 2,500.50"],
        )
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern already refused it
        raise UserInputError(f"'{text[:20]}' is not an amount.") from None


def parse_notify(args: tuple[str, ...]) -> NotifyRequest:
    """The words after `anomalies notify`."""
    words = list(args)
    if words and words[0].lower() in ("off", "stop", "none"):
        return NotifyRequest(tuple(words[1:]) or ("here",), (), None, off=True)
    targets: list[str] = []
    filters: list[CostFilter] = []
    minimum: Decimal | None = None
    i = 0
    while i < len(words):
        word = words[i]
        if word.lower() == "min":
            if i + 1 >= len(words):
                raise UserInputError("'min' needs an amount after it, e.g. min 100.")
            minimum = parse_amount(words[i + 1])
            i += 2
            continue
        if ":" in word and word.split(":", 1)[0].lower() in (
            "sub",
            "rg",
            "service",
            "subscription",
            "resource-group",
        ):
            filters.append(_scope_filter(word))
        else:
            targets.append(word)
        i += 1
    return NotifyRequest(tuple(targets) or ("here",), _check_unique(filters), minimum)


def parse_incident_id(args: tuple[str, ...]) -> int:
    text = args[0].lstrip("#") if len(args) == 1 else ""
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise UserInputError(
            "`anomaly` takes one incident number, e.g. `anomaly 12`.",
            hint="Type `anomalies` to list them.",
        )
    return int(text)
