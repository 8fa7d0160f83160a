"""The words of a costs question: dimensions, filters, cost types, `top N`, `asof:`.

`costs [period] [by <dimension>] [filters] [top N] [actual|amortized]`, parts in any order, each
at most once. Every accepted word is declared once, in a `Vocabulary`: lookups, refusals' accepted
lists and the help text come from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from core.costs.breakdown import BreakdownQuery
from core.costs.model import (
    CostFilter,
    CostsConfig,
    CostType,
    Dimension,
    DimensionKind,
    FilterKind,
)
from core.costs.periods import MAX_ROLLING_DAYS, PERIODS, looks_like_period, parse_period
from core.kernel.errors import UserInputError
from core.kernel.grammar import Term, Vocabulary, help_text

DIMENSIONS: Vocabulary[DimensionKind] = Vocabulary(
    "dimension",
    [
        Term("service", DimensionKind.SERVICE, ("services",)),
        Term("resource-group", DimensionKind.RESOURCE_GROUP, ("resourcegroup", "rg")),
        Term("resource", DimensionKind.RESOURCE, ("resources",)),
        Term("location", DimensionKind.LOCATION, ("region",)),
        Term("subscription", DimensionKind.SUBSCRIPTION, ("sub",)),
        Term("meter", DimensionKind.METER, ("meter-category",)),
        Term("tag", DimensionKind.TAG, form="tag:<key>"),
    ],
    default=DimensionKind.SERVICE,
)
FILTERS: Vocabulary[FilterKind] = Vocabulary(
    "filter",
    [
        Term("sub", FilterKind.SUBSCRIPTION, ("subscription",), form="sub:<name or id>"),
        Term("rg", FilterKind.RESOURCE_GROUP, ("resource-group",), form="rg:<name>"),
        Term("service", FilterKind.SERVICE, form="service:<name>"),
        Term("location", FilterKind.LOCATION, ("region",), form="location:<region>"),
        Term("meter", FilterKind.METER, form="meter:<category>"),
        Term("tag", FilterKind.TAG, form="tag:<key>=<value>"),
    ],
)
COST_TYPES: Vocabulary[CostType] = Vocabulary(
    "cost type",
    [Term("actual", CostType.ACTUAL), Term("amortized", CostType.AMORTIZED)],
    default=CostType.ACTUAL,
)
DEFAULT_PERIOD = "30d"
MAX_TOP = 50
USAGE = "costs [period] [by <dimension>] [filters] [top N] [actual|amortized]"
HELP = help_text(
    "Show what was spent, where, and how it changed.",
    "",
    f"Periods: 7d, 30d (default), any Nd up to {MAX_ROLLING_DAYS}d, mtd, last-month, ytd, or a "
    "range YYYY-MM-DD..YYYY-MM-DD. Rolling periods end yesterday (the last complete day).",
    f"Dimensions (after `by`): {DIMENSIONS.listing()}.",
    f"Filters: {FILTERS.listing()}. Add `top N` for more rows, `amortized` for amortized cost.",
    "",
    "Examples: `costs`, `costs 7d by resource-group`, `costs mtd by tag:team sub:prod`.",
)
_TAG_KEY = re.compile(r"^[\w.\- ]{1,128}$")


def parse_dimension(token: str) -> Dimension:
    text = token.strip()
    if text.lower().startswith("tag:"):
        key = text[4:].strip().lower()
        if not _TAG_KEY.match(key):
            raise UserInputError(
                f"'{token}' needs a tag name after 'tag:' (letters, digits, '_', '-', '.').",
                accepted=DIMENSIONS.accepted(),
            )
        return Dimension(DimensionKind.TAG, key)
    kind = DIMENSIONS.get(text)
    if kind is None or kind is DimensionKind.TAG:  # `tag` alone names no tag
        raise UserInputError(
            f"'{token}' is not a dimension I can group by.", accepted=DIMENSIONS.accepted()
        )
    return Dimension(kind)


def parse_filter(token: str) -> CostFilter:
    name, _, value = token.partition(":")
    kind = FILTERS.get(name)
    value = value.strip()
    if kind is None or not value:
        raise UserInputError(f"'{token}' is not a filter I know.", accepted=FILTERS.accepted())
    if kind is FilterKind.TAG:
        key, eq, tag_value = value.partition("=")
        key = key.strip().lower()
        if not eq or not _TAG_KEY.match(key) or not tag_value.strip():
            raise UserInputError(
                f"'{token}' should look like tag:<key>=<value>, e.g. tag:env=prod.",
                accepted=FILTERS.accepted(),
            )
        return CostFilter(kind, tag_value.strip(), key)
    return CostFilter(kind, value)


@dataclass(frozen=True, slots=True)
class CostsRequest:
    """A parsed costs command: the query, and how to reproduce its period in a button."""

    query: BreakdownQuery
    period_token: str
    #: The day relative periods were computed from (buttons pin it: a click tomorrow shows
    #: the same period as the message it sits on).
    as_of: date


@dataclass(frozen=True, slots=True)
class _Parts:
    """What the words said so far."""

    as_of: date
    top_n: int
    cost_type: CostType
    period_token: str | None = None
    dimension: Dimension | None = None
    filters: tuple[CostFilter, ...] = ()


def parse_costs_args(args: tuple[str, ...], today: date, config: CostsConfig) -> CostsRequest:
    """Turn the words after `costs` into a query; any order, each part at most once."""
    parts = _Parts(as_of=today, top_n=config.top_n, cost_type=config.default_cost_type)
    words = list(args)
    i = 0
    while i < len(words):
        word = words[i].lower()
        if word in ("by", "top"):
            following = words[i + 1] if i + 1 < len(words) else None
            parts = _by(parts, following) if word == "by" else _top(parts, following)
            i += 2
        else:
            parts = _word(parts, words[i], today)
            i += 1
    period_token = (parts.period_token or DEFAULT_PERIOD).lower()
    query = BreakdownQuery(
        periods=parse_period(period_token, parts.as_of),
        dimension=parts.dimension or Dimension(DimensionKind.SERVICE),
        cost_type=parts.cost_type,
        filters=parts.filters,
        top_n=parts.top_n,
    )
    return CostsRequest(query, period_token, parts.as_of)


def _by(parts: _Parts, following: str | None) -> _Parts:
    if following is None:
        raise UserInputError("'by' needs a dimension after it.", accepted=DIMENSIONS.accepted())
    if parts.dimension is not None:
        raise UserInputError("Group by one dimension at a time.", accepted=DIMENSIONS.accepted())
    return replace(parts, dimension=parse_dimension(following))


def _top(parts: _Parts, following: str | None) -> _Parts:
    accepted = [f"top 1…{MAX_TOP}"]
    if following is None or not following.isascii() or not following.isdigit():
        raise UserInputError("'top' needs a number after it, e.g. top 5.", accepted=accepted)
    top_n = int(following[:4])
    if not 1 <= top_n <= MAX_TOP:
        raise UserInputError(f"top {following[:12]} is out of range.", accepted=accepted)
    return replace(parts, top_n=top_n)


def _word(parts: _Parts, word: str, today: date) -> _Parts:
    """A part that is one word: a cost type, `asof:`, a filter or a period."""
    lowered = word.lower()
    cost_type = COST_TYPES.get(lowered)
    if cost_type is not None:
        return replace(parts, cost_type=cost_type)
    if lowered.startswith("asof:"):
        return replace(parts, as_of=_parse_as_of(word, today))
    if ":" in word and not looks_like_period(word):
        if lowered.startswith("tag:") and "=" not in word:
            raise UserInputError(
                f"'{word}' alone is ambiguous.",
                hint=f"Group with `by {word}`, or filter with `{word}=<value>`.",
            )
        return replace(parts, filters=(*parts.filters, parse_filter(word)))
    if looks_like_period(word):
        if parts.period_token is not None:
            raise UserInputError(
                f"Two periods given ('{parts.period_token}' and '{word}'); give one.",
                accepted=PERIODS.accepted(),
            )
        return replace(parts, period_token=word)
    raise UserInputError(
        f"I don't understand '{word[:40]}' in a costs command.",
        hint=f"Usage: {USAGE}\nDimensions: {', '.join(DIMENSIONS.accepted())}\n"
        f"Filters: {', '.join(FILTERS.accepted())}",
    )


def _parse_as_of(word: str, today: date) -> date:
    try:
        day = date.fromisoformat(word.partition(":")[2])
    except ValueError:
        raise UserInputError(
            f"'{word}' needs a date: asof:YYYY-MM-DD.", accepted=["asof:YYYY-MM-DD"]
        ) from None
    if day > today:
        raise UserInputError(f"'{word}' lies in the future.", accepted=["asof:YYYY-MM-DD"])
    return day


def command_text(request: CostsRequest, dimension: Dimension) -> str:
    """The command that re-runs `request` grouped by `dimension` (a drill-down button's value)."""
    query = request.query
    parts = ["costs", request.period_token, f"asof:{request.as_of.isoformat()}"]
    parts += ["by", dimension.token]
    for f in query.filters:
        value = f"{f.tag_key}={f.value}" if f.tag_key else f.value
        quoted = f'"{value}"' if " " in value else value
        parts.append(f"{f.kind}:{quoted}")
    if query.cost_type is CostType.AMORTIZED:
        parts.append("amortized")
    return " ".join(parts)
