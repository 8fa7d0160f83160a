"""The words of a costs question: periods, dimensions, filters, cost types, `top N`, `asof:`.

`costs [period] [by <dimension>] [filters] [top N] [actual|amortized]`, parts in any order, each
at most once. Every accepted word is declared once, in a `Vocabulary` (periods in
`core.costs.periods.PERIODS`): lookups, refusals' accepted lists and the help text come from it.
"""

from __future__ import annotations

import re
import shlex
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
from core.costs.periods import (
    DEFAULT_PERIOD,
    EARLIEST_DAY,
    PERIODS,
    SUPPORTED_DAYS,
    PeriodPair,
    PeriodRequest,
    looks_like_period,
    match_period,
    periods_help,
    resolve_period,
)
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
        Term("meter", DimensionKind.METER, ("meter-category", "meters")),
        Term("charge-type", DimensionKind.CHARGE_TYPE, ("charge", "chargetype", "charge-types")),
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
        Term(
            "charge",
            FilterKind.CHARGE_TYPE,
            ("charge-type", "chargetype"),
            form="charge:<Usage|Purchase|Refund…>",
        ),
        Term("tag", FilterKind.TAG, form="tag:<key>=<value>"),
    ],
)
COST_TYPES: Vocabulary[CostType] = Vocabulary(
    "cost type",
    [Term("actual", CostType.ACTUAL), Term("amortized", CostType.AMORTIZED)],
    default=CostType.ACTUAL,
)
MAX_TOP = 50
USAGE = "costs [period] [by <dimension>] [filters] [top N] [actual|amortized]"
HELP = "\n".join(
    [
        help_text(
            "Show what was spent, where, and how it changed.",
            "",
            "Periods (default 30d; days are UTC days; rolling periods end yesterday, the last "
            "complete day):",
        ),
        *periods_help(),
        help_text(
            "",
            "Comparisons are like for like: the same days of the period before. Today is still "
            "being reported: it is shown apart and not compared. A period reaching before the "
            "first or after the last ingested day is clipped to the data, and the answer says "
            "so. `this month` and `this quarter` show the forecast to the period end.",
            "",
            f"Dimensions (after `by`): {DIMENSIONS.listing()}.",
            f"Filters: {FILTERS.listing()}. `sub:` takes a subscription id, a name, or a unique "
            "prefix of either.",
            "Add `top N` for more rows, `amortized` for amortized cost (purchases spread over "
            "their term). Press a row to see what is behind it.",
            "",
            "Examples: `costs`, `costs this month by resource-group`, `costs last week by "
            "tag:team sub:prod`, `costs november by charge-type`.",
        ),
    ]
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
    """A parsed costs command: what to show, and how to reproduce it in a button."""

    period: PeriodRequest
    dimension: Dimension
    cost_type: CostType
    filters: tuple[CostFilter, ...]
    top_n: int
    #: The day relative periods were computed from (buttons pin it: a click tomorrow shows
    #: the same period as the message it sits on).
    as_of: date

    @property
    def period_token(self) -> str:
        return self.period.token

    def query_for(
        self, periods: PeriodPair, *, history: tuple[date, date] | None = None
    ) -> BreakdownQuery:
        return BreakdownQuery(
            periods=periods,
            dimension=self.dimension,
            cost_type=self.cost_type,
            filters=self.filters,
            top_n=self.top_n,
            history=history,
        )

    @property
    def query(self) -> BreakdownQuery:
        """The query when every day through yesterday has data (`PeriodRequest.plan`)."""
        return self.query_for(self.period.plan(self.as_of))


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
    """Turn the words after `costs` into a request; any order, each part at most once."""
    parts = _Parts(
        as_of=_as_of(args, today), top_n=config.top_n, cost_type=config.default_cost_type
    )
    words = list(args)
    i = 0
    while i < len(words):
        word = words[i].lower()
        if word in ("by", "top"):
            following = words[i + 1] if i + 1 < len(words) else None
            parts = _by(parts, following) if word == "by" else _top(parts, following)
            i += 2
            continue
        period = match_period(words, i, parts.as_of)
        if period is not None:
            parts = _period(parts, period[0], " ".join(words[i : i + period[1]]))
            i += period[1]
            continue
        parts = _word(parts, words[i])
        i += 1
    period_request = resolve_period(parts.period_token or DEFAULT_PERIOD, parts.as_of)
    return CostsRequest(
        period=period_request,
        dimension=parts.dimension or Dimension(DimensionKind.SERVICE),
        cost_type=parts.cost_type,
        filters=parts.filters,
        top_n=parts.top_n,
        as_of=parts.as_of,
    )


def _as_of(args: tuple[str, ...], today: date) -> date:
    """The `asof:` day, read first: relative periods (`november`) are computed from it."""
    found = [w for w in args if w.lower().startswith("asof:")]
    if len(found) > 1:
        raise UserInputError("Give `asof:` once.", accepted=["asof:YYYY-MM-DD"])
    return _parse_as_of(found[0], today) if found else today


def _period(parts: _Parts, token: str, said: str) -> _Parts:
    if parts.period_token is not None:
        raise UserInputError(
            f"Two periods given ('{parts.period_token}' and '{said[:40]}'); give one.",
            accepted=PERIODS.accepted(),
        )
    return replace(parts, period_token=token)


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


def _word(parts: _Parts, word: str) -> _Parts:
    """A part that is one word: a cost type, `asof:` (read already), a filter, or a word that
    looks like a period but is not one."""
    lowered = word.lower()
    cost_type = COST_TYPES.get(lowered)
    if cost_type is not None:
        return replace(parts, cost_type=cost_type)
    if lowered.startswith("asof:"):
        return parts
    if ":" in word and not looks_like_period(word):
        if lowered.startswith("tag:") and "=" not in word:
            raise UserInputError(
                f"'{word}' alone is ambiguous.",
                hint=f"Group with `by {word}`, or filter with `{word}=<value>`.",
            )
        return replace(parts, filters=(*parts.filters, parse_filter(word)))
    if looks_like_period(word):
        # Not a period `match_period` knows, so a malformed one (`0d`, `2026-13-01..x`):
        # resolving it says what is wrong.
        resolve_period(word, parts.as_of)
    raise UserInputError(
        f"I don't understand '{word[:40]}' in a costs command.",
        hint=f"Usage: {USAGE}\nPeriods: {', '.join(PERIODS.accepted())}\n"
        f"Dimensions: {', '.join(DIMENSIONS.accepted())}\nFilters: {', '.join(FILTERS.accepted())}",
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
    if day < EARLIEST_DAY:
        raise UserInputError(
            f"'{word}' is outside the dates CloudOptima answers for ({SUPPORTED_DAYS}).",
            accepted=["asof:YYYY-MM-DD"],
        )
    return day


def command_text(
    request: CostsRequest,
    dimension: Dimension,
    filters: tuple[CostFilter, ...] | None = None,
) -> str:
    """The command that re-runs `request` grouped by `dimension` (and with `filters` instead of
    its own): a button's value. The period is its canonical token, pinned with `asof:`."""
    parts = ["costs", request.period.token, f"asof:{request.as_of.isoformat()}"]
    parts += ["by", dimension.token]
    for f in request.filters if filters is None else filters:
        value = f"{f.tag_key}={f.value}" if f.tag_key else f.value
        parts.append(shlex.quote(f"{f.kind}:{value}"))
    # The cost type always: a drill-down of an actual answer stays actual whatever the default.
    parts.append(COST_TYPES.term_of(request.cost_type).word)
    return " ".join(parts)
