"""Reporting periods (`7d`, `30d`, `mtd`, `last-month`, `ytd`, `2026-01-01..2026-01-31`).

Days are UTC calendar days, like Azure's cost data. Rolling periods (`7d`, `30d`) end yesterday, the
last complete day, so that they compare like for like with the period before them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from core.kernel.errors import UserInputError
from core.kernel.grammar import Term, Vocabulary

#: Rolling periods (`<N>d`) go back at most this many days.
MAX_ROLLING_DAYS = 366
PERIODS: Vocabulary[str] = Vocabulary(
    "period",
    [
        Term("7d", "7d"),
        Term("30d", "30d"),
        Term("Nd", "Nd", help=f"1-{MAX_ROLLING_DAYS}", form="<N>d"),
        Term("mtd", "mtd"),
        Term("last-month", "last-month", ("lastmonth",)),
        Term("ytd", "ytd"),
        Term("range", "range", form="YYYY-MM-DD..YYYY-MM-DD"),
    ],
    default="30d",
)
#: The named periods (the others are patterns: `<N>d`, ranges).
_NAMED = frozenset({"mtd", "last-month", "ytd"})
MAX_DAYS = 366 * 3
_ROLLING = re.compile(r"^(\d{1,4})d$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # inclusive
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


@dataclass(frozen=True, slots=True)
class PeriodPair:
    """A period and the one it is compared with."""

    current: Period
    previous: Period


def _first_of_previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def looks_like_period(token: str) -> bool:
    token = token.lower()
    return bool(PERIODS.get(token) in _NAMED or _ROLLING.match(token) or ".." in token)


def parse_period(token: str, today: date) -> PeriodPair:
    """Parse a period token relative to `today` (UTC) into it and its comparison period."""
    text = token.strip().lower()
    if m := _ROLLING.match(text):
        return _rolling(token, int(m.group(1)), today)
    named = PERIODS.get(text)
    if named in _NAMED:
        return _named(str(named), today)
    if m := _RANGE.match(text):
        return _range(token, m.group(1), m.group(2), today)
    raise UserInputError(f"'{token}' is not a period I know.", accepted=PERIODS.accepted())


def _rolling(token: str, n: int, today: date) -> PeriodPair:
    """The last `n` complete days (ending yesterday) and the `n` days before them."""
    if not 1 <= n <= MAX_ROLLING_DAYS:
        raise UserInputError(
            f"'{token}' is out of range: rolling periods go from 1d to {MAX_ROLLING_DAYS}d.",
            accepted=PERIODS.accepted(),
        )
    end = today - timedelta(days=1)
    current = Period(end - timedelta(days=n - 1), end, f"last {n} days")
    return PeriodPair(current, _before(current, f"previous {n} days"))


def _named(name: str, today: date) -> PeriodPair:
    """`mtd`, `last-month`, `ytd`, each with the same days of the period before."""
    if name == "mtd":
        start = today.replace(day=1)
        current = Period(start, today, f"{today:%B %Y} to date")
        prev_start = _first_of_previous_month(today)
        prev_end = min(prev_start + (today - start), start - timedelta(days=1))
        return PeriodPair(current, Period(prev_start, prev_end, f"{prev_start:%B} same days"))
    if name == "last-month":
        start = _first_of_previous_month(today)
        current = Period(start, today.replace(day=1) - timedelta(days=1), f"{start:%B %Y}")
        prev_start = _first_of_previous_month(start)
        return PeriodPair(
            current, Period(prev_start, start - timedelta(days=1), f"{prev_start:%B %Y}")
        )
    start = today.replace(month=1, day=1)
    current = Period(start, today, f"{today.year} to date")
    previous = Period(
        _shift_years(start, -1), _shift_years(today, -1), f"{today.year - 1} same days"
    )
    return PeriodPair(current, previous)


def _range(token: str, first: str, last: str, today: date) -> PeriodPair:
    """`YYYY-MM-DD..YYYY-MM-DD` and the range of equal length before it."""
    accepted = PERIODS.accepted()
    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        raise UserInputError(
            f"'{token}' has a date that does not exist.", accepted=accepted
        ) from None
    if end < start:
        raise UserInputError(
            f"'{token}' ends before it starts; write the earlier date first.", accepted=accepted
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise UserInputError(
            f"'{token}' spans more than {MAX_DAYS} days; choose a shorter range.",
            accepted=accepted,
        )
    if start > today:
        raise UserInputError(
            f"'{token}' lies in the future; there is no cost data for it yet.", accepted=accepted
        )
    current = Period(start, end, f"{start:%Y-%m-%d} to {end:%Y-%m-%d}")
    return PeriodPair(current, _before(current, "previous period"))


def _before(period: Period, label: str) -> Period:
    """The period of equal length that ends the day before `period` starts."""
    end = period.start - timedelta(days=1)
    return Period(end - timedelta(days=period.days - 1), end, label)
