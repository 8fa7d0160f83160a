"""Reporting periods, and how they are compared honestly.

Every way to say a period is declared once, in `PERIODS` (the costs help is generated from it):
`yesterday`, `7d`/`30 days`/`last 30 days`, `this week`, `last week`, `mtd`/`this month`,
`last month`, `this quarter`, `last quarter`, `ytd`, a month (`2026-11`, `november`), and a range
(`2026-11-01..2026-11-30`, `2026-11-01 to 2026-11-30`). Each has one canonical spelling in one
word (`PeriodRequest.token`), which buttons carry together with `asof:`.

Days are UTC calendar days, like Azure's cost data. "Data through" means one thing everywhere
(`data_through`): the last complete day, which is yesterday, or the last day with cost data if
Azure lags further behind. Comparisons are like for like (`PeriodRequest.plan`):

- the days compared are the period's days with complete data: clipped to the first day with data
  and to the data-through day; what is clipped is said ("data starts 2026-09-04");
- days of the period after the data-through day (today, still being reported) are summed apart
  and left out of the comparison;
- the comparison period has the same days one step earlier: the days just before (rolling
  periods and ranges), a week before, the same days of the month, quarter or year before (a whole
  month is compared with the whole month before). A comparison period that starts before the
  data is no comparison at all, and the card says so instead of showing a drop.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from core.kernel.errors import UserInputError
from core.kernel.grammar import Term, Vocabulary

#: Rolling periods (`<N>d`) go back at most this many days.
MAX_ROLLING_DAYS = 366
#: A range spans at most this many days.
MAX_DAYS = 366 * 3
DEFAULT_PERIOD = "30d"
#: Days a question may name (Azure's cost data starts well after the first; periods computed
#: from a day, and the ones compared with them, stay far from `date.min`).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
SUPPORTED_DAYS = f"{EARLIEST_DAY:%Y-%m-%d} to {LATEST_DAY:%Y-%m-%d}"


class PeriodKind(StrEnum):
    YESTERDAY = "yesterday"
    ROLLING = "rolling"
    THIS_WEEK = "this-week"
    LAST_WEEK = "last-week"
    THIS_MONTH = "mtd"
    LAST_MONTH = "last-month"
    THIS_QUARTER = "this-quarter"
    LAST_QUARTER = "last-quarter"
    THIS_YEAR = "ytd"
    MONTH = "month"
    RANGE = "range"


#: Every way to say a period: the one declaration (lookups, refusals and the help come from it).
#: Multi-word aliases are matched across words (`this week`).
PERIODS: Vocabulary[PeriodKind] = Vocabulary(
    "period",
    [
        Term("yesterday", PeriodKind.YESTERDAY, help="the last complete day"),
        Term(
            "Nd",
            PeriodKind.ROLLING,
            form="<N>d",
            help=f"the last N complete days, 1-{MAX_ROLLING_DAYS}; also `N days`, `last N days`",
        ),
        Term("this-week", PeriodKind.THIS_WEEK, ("this week", "wtd"), help="Monday to today"),
        Term("last-week", PeriodKind.LAST_WEEK, ("last week",), help="Monday to Sunday"),
        Term(
            "mtd",
            PeriodKind.THIS_MONTH,
            ("this month", "this-month"),
            help="the 1st of this month to today",
        ),
        Term("last-month", PeriodKind.LAST_MONTH, ("last month", "lastmonth")),
        Term(
            "this-quarter",
            PeriodKind.THIS_QUARTER,
            ("this quarter", "qtd"),
            help="the quarter to today",
        ),
        Term("last-quarter", PeriodKind.LAST_QUARTER, ("last quarter",)),
        Term("ytd", PeriodKind.THIS_YEAR, ("this year", "this-year"), help="Jan 1 to today"),
        Term(
            "month",
            PeriodKind.MONTH,
            form="YYYY-MM",
            help="a calendar month; or its name, e.g. `november`",
        ),
        Term(
            "range",
            PeriodKind.RANGE,
            form="YYYY-MM-DD..YYYY-MM-DD",
            help="also `YYYY-MM-DD to YYYY-MM-DD`",
        ),
    ],
)
_ROLLING = re.compile(r"^(\d{1,4})d$")
_NUMBER = re.compile(r"^\d{1,4}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_MONTH_NAMES = {
    name.lower(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
} | {"sept": 9}


class Compare(StrEnum):
    """What a period is compared with: the same days one step earlier."""

    BEFORE = "before"  # the same number of days just before
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    @property
    def months(self) -> int:
        return {"month": 1, "quarter": 3, "year": 12}.get(self.value, 0)


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

    def span(self) -> str:
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


@dataclass(frozen=True, slots=True)
class PeriodPair:
    """A period as answered: the days compared, what they are compared with, the days still
    being reported, and what the answer must say about them."""

    #: The days compared: complete data only (or only still-reported days: `partial_only`).
    current: Period
    #: The same days one step earlier; None when there is nothing comparable.
    previous: Period | None
    #: Days of the period after the data-through day (today): summed apart, not compared.
    partial: Period | None = None
    #: True when `current` itself is still being reported (no complete day in the period yet).
    partial_only: bool = False
    #: What was clipped or left out, in words ("data starts 2026-09-04").
    notes: tuple[str, ...] = ()
    #: How the comparison was made ("the same days of October").
    comparison: str = ""


def data_through(today: date, last_day: date | None) -> date:
    """The last complete day: yesterday, or the last day with cost data if Azure lags further
    behind. The one meaning of "data through" (cost answers, budgets, alerts)."""
    yesterday = today - timedelta(days=1)
    if last_day is None:
        return yesterday
    return min(yesterday, last_day)


@dataclass(frozen=True, slots=True)
class PeriodRequest:
    """A period as asked, before the data is known: its days, its canonical one-word token and
    what it is compared with."""

    token: str
    kind: PeriodKind
    period: Period
    compare: Compare

    @property
    def forecast_end(self) -> date | None:
        """The end of the month or quarter a to-date period runs in (its answer forecasts
        spend to there); None for other periods."""
        start = self.period.start
        if self.kind is PeriodKind.THIS_QUARTER:
            return _month_end(shift_months(start, 2))
        if self.kind in (PeriodKind.THIS_MONTH, PeriodKind.MONTH):
            end = _month_end(start)
            return end if self.period.end < end else None
        return None

    def plan(
        self, today: date, first_day: date | None = None, last_day: date | None = None
    ) -> PeriodPair:
        """The comparison, given the first and last day with cost data (None: unknown, taken
        as complete from the beginning through yesterday)."""
        through = data_through(today, last_day)
        if first_day is not None and self.period.end < first_day:
            raise UserInputError(
                f"There is no cost data for {self.period.label}: data starts {first_day:%Y-%m-%d}.",
                hint=f"Ask for a period from {first_day:%Y-%m-%d} on, or pull older costs with "
                "`cloudoptima ingest --since YYYY-MM-DD`.",
            )
        start = max(self.period.start, first_day) if first_day else self.period.start
        end = min(self.period.end, through)
        notes: list[str] = []
        if first_day is not None and self.period.start < first_day <= self.period.end:
            notes.append(f"clipped to the data: data starts {first_day:%Y-%m-%d}")
        partial = _partial(self.period, through, today)
        if start > end:
            return self._only_partial(start, partial, through, notes)
        if end < self.period.end and (partial is None or partial.end < self.period.end):
            notes.append(f"clipped to the data: data through {through:%Y-%m-%d}")
        current = Period(start, end, self.period.label)
        previous = _compare(current, self.compare, self.period)
        comparison = _comparison_words(self.compare, current, previous, self.period)
        if first_day is not None and previous.start < first_day:
            notes.append(
                f"no comparison: the period before ({previous.span()}) starts before the data "
                f"(data starts {first_day:%Y-%m-%d})"
            )
            return PeriodPair(current, None, partial, notes=tuple(notes))
        return PeriodPair(current, previous, partial, notes=tuple(notes), comparison=comparison)

    def _only_partial(
        self, start: date, partial: Period | None, through: date, notes: list[str]
    ) -> PeriodPair:
        """No complete day in the period: its days still being reported, compared with nothing."""
        if partial is None or partial.end < start:
            raise UserInputError(
                f"There is no cost data for {self.period.label} yet: data through "
                f"{through:%Y-%m-%d}.",
                hint="Ask for an earlier period, e.g. `costs 7d`, or ingest again later.",
            )
        current = Period(max(start, partial.start), partial.end, self.period.label)
        notes.append(f"{_days_text(current)} still being reported: partial, not compared")
        return PeriodPair(current, None, None, partial_only=True, notes=tuple(notes))


def _partial(period: Period, through: date, today: date) -> Period | None:
    """The period's days after the data-through day, up to today."""
    start, end = max(period.start, through + timedelta(days=1)), min(period.end, today)
    return Period(start, end, _days_text_of(start, end, today)) if start <= end else None


def _days_text_of(start: date, end: date, today: date) -> str:
    if start == end == today:
        return f"today ({today:%Y-%m-%d})"
    if start == end:
        return f"{start:%Y-%m-%d}"
    return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"


def _days_text(period: Period) -> str:
    if period.start == period.end:
        return f"{period.start:%Y-%m-%d} is"
    return f"{period.start:%Y-%m-%d} – {period.end:%Y-%m-%d} are"


# -- the comparison -------------------------------------------------------------------------------


def shift_months(day: date, months: int) -> date:
    """`day` `months` later (or earlier), on the same day of the month or the month's last."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _compare(current: Period, compare: Compare, asked: Period) -> Period:
    """The same days one step earlier (see `Compare`)."""
    if compare is Compare.BEFORE:
        end = current.start - timedelta(days=1)
        return Period(end - timedelta(days=current.days - 1), end, f"previous {current.days} days")
    if compare is Compare.WEEK:
        week = timedelta(days=7)
        return Period(current.start - week, current.end - week, "same days a week before")
    months = compare.months
    start = shift_months(current.start, -months)
    end = shift_months(current.end, -months)
    if current.end == _month_end(current.end):  # to a month's end: to the earlier month's end
        end = _month_end(end)
    whole = current.start == asked.start and current.end == asked.end
    return Period(start, end, _whole_label(start, end) if whole else f"same days of {start:%B}")


def _whole_label(start: date, end: date) -> str:
    if start.day == 1 and end == _month_end(start):
        return f"{start:%B %Y}"
    if start.day == 1 and start.month % 3 == 1 and end == _month_end(shift_months(start, 2)):
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"


def _short(day: date) -> str:
    return f"{day:%b} {day.day}"


def _comparison_words(compare: Compare, current: Period, previous: Period, asked: Period) -> str:
    """How the comparison was made, for the card ("the same days of October")."""
    span = f"{_short(previous.start)} – {_short(previous.end)}, {previous.end.year}"
    if compare is Compare.BEFORE:
        days = "the day" if current.days == 1 else f"the {current.days} days"
        return f"{days} just before ({span})"
    if compare is Compare.WEEK:
        return f"the same days a week before ({span})"
    whole = current.start == asked.start and current.end == asked.end
    if whole:
        return f"{previous.label} ({span})"
    unit = {Compare.MONTH: "month", Compare.QUARTER: "quarter", Compare.YEAR: "year"}[compare]
    return f"the same days of the {unit} before ({span})"


# -- parsing ---------------------------------------------------------------------------------------


def match_period(words: Sequence[str], at: int, today: date) -> tuple[str, int] | None:
    """The canonical token of a period said by `words[at:]`, and how many words it took; None
    when no period starts there. Tries the longest phrase first (`2026-11-01 to 2026-11-30`,
    `last 30 days`, `this week`, then one word)."""
    lowered = [w.lower() for w in words[at : at + 3]]
    if len(lowered) == 3 and lowered[1] == "to" and _DAY.match(lowered[0]):
        return f"{lowered[0]}..{lowered[2]}", 3
    last_n_days = len(lowered) == 3 and lowered[0] in ("last", "past")
    if last_n_days and lowered[2] in ("days", "day") and _NUMBER.match(lowered[1]):
        return f"{int(lowered[1])}d", 3
    if len(lowered) >= 2:
        if _NUMBER.match(lowered[0]) and lowered[1] in ("days", "day"):
            return f"{int(lowered[0])}d", 2
        kind = PERIODS.get(" ".join(lowered[:2]))
        if kind is not None:
            return PERIODS.term_of(kind).word, 2
    return _one_word(lowered[0], today) if lowered else None


def _one_word(word: str, today: date) -> tuple[str, int] | None:
    if _ROLLING.match(word) or _RANGE.match(word) or _MONTH.match(word):
        return word, 1
    if word in _MONTH_NAMES:
        month = _MONTH_NAMES[word]
        year = today.year if month <= today.month else today.year - 1
        return f"{year:04d}-{month:02d}", 1
    kind = PERIODS.get(word)
    if kind is not None and kind not in (PeriodKind.ROLLING, PeriodKind.MONTH, PeriodKind.RANGE):
        return PERIODS.term_of(kind).word, 1
    return None


def looks_like_period(token: str) -> bool:
    """Whether one word is meant as a period (even a wrong one, such as `0d` or `a..b`)."""
    text = token.lower()
    return bool(
        _ROLLING.match(text) or ".." in text or _MONTH.match(text) or text in _MONTH_NAMES
    ) or (PERIODS.get(text) is not None)


def resolve_period(token: str, today: date) -> PeriodRequest:
    """A canonical period token (see `match_period`) relative to `today` (UTC)."""
    text = token.strip().lower()
    if m := _ROLLING.match(text):
        return _rolling(token, int(m.group(1)), today)
    if m := _RANGE.match(text):
        return _range(token, m.group(1), m.group(2), today)
    if m := _MONTH.match(text):
        return _month(token, int(m.group(1)), int(m.group(2)), today)
    kind = PERIODS.get(text)
    if kind is not None and kind in _NAMED:
        return _NAMED[kind](today)
    raise UserInputError(f"'{token}' is not a period I know.", accepted=PERIODS.accepted())


def parse_period(token: str, today: date) -> PeriodPair:
    """`resolve_period(token, today).plan(today)`: the comparison when every day through
    yesterday has data."""
    return resolve_period(token, today).plan(today)


def _request(
    kind: PeriodKind, start: date, end: date, label: str, compare: Compare
) -> PeriodRequest:
    return PeriodRequest(PERIODS.term_of(kind).word, kind, Period(start, end, label), compare)


def _rolling(token: str, n: int, today: date) -> PeriodRequest:
    """The last `n` complete days, ending yesterday."""
    if not 1 <= n <= MAX_ROLLING_DAYS:
        raise UserInputError(
            f"'{token}' is out of range: rolling periods go from 1d to {MAX_ROLLING_DAYS}d.",
            accepted=PERIODS.accepted(),
        )
    end = today - timedelta(days=1)
    period = Period(end - timedelta(days=n - 1), end, f"last {n} days")
    return PeriodRequest(f"{n}d", PeriodKind.ROLLING, period, Compare.BEFORE)


def _yesterday(today: date) -> PeriodRequest:
    day = today - timedelta(days=1)
    return _request(PeriodKind.YESTERDAY, day, day, f"yesterday ({day:%Y-%m-%d})", Compare.BEFORE)


def _this_week(today: date) -> PeriodRequest:
    monday = today - timedelta(days=today.weekday())
    label = f"this week (from Monday {_short(monday)})"
    return _request(PeriodKind.THIS_WEEK, monday, today, label, Compare.WEEK)


def _last_week(today: date) -> PeriodRequest:
    monday = today - timedelta(days=today.weekday() + 7)
    sunday = monday + timedelta(days=6)
    label = f"last week ({_short(monday)} – {_short(sunday)})"
    return _request(PeriodKind.LAST_WEEK, monday, sunday, label, Compare.WEEK)


def _this_month(today: date) -> PeriodRequest:
    start = today.replace(day=1)
    return _request(PeriodKind.THIS_MONTH, start, today, f"{today:%B %Y} to date", Compare.MONTH)


def _last_month(today: date) -> PeriodRequest:
    start = shift_months(today.replace(day=1), -1)
    return _request(
        PeriodKind.LAST_MONTH, start, _month_end(start), f"{start:%B %Y}", Compare.MONTH
    )


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _this_quarter(today: date) -> PeriodRequest:
    start = _quarter_start(today)
    label = f"Q{(start.month - 1) // 3 + 1} {start.year} to date"
    return _request(PeriodKind.THIS_QUARTER, start, today, label, Compare.QUARTER)


def _last_quarter(today: date) -> PeriodRequest:
    start = shift_months(_quarter_start(today), -3)
    end = _month_end(shift_months(start, 2))
    label = f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return _request(PeriodKind.LAST_QUARTER, start, end, label, Compare.QUARTER)


def _this_year(today: date) -> PeriodRequest:
    start = today.replace(month=1, day=1)
    return _request(PeriodKind.THIS_YEAR, start, today, f"{today.year} to date", Compare.YEAR)


_NAMED = {
    PeriodKind.YESTERDAY: _yesterday,
    PeriodKind.THIS_WEEK: _this_week,
    PeriodKind.LAST_WEEK: _last_week,
    PeriodKind.THIS_MONTH: _this_month,
    PeriodKind.LAST_MONTH: _last_month,
    PeriodKind.THIS_QUARTER: _this_quarter,
    PeriodKind.LAST_QUARTER: _last_quarter,
    PeriodKind.THIS_YEAR: _this_year,
}


def _future(token: str, start: date, today: date) -> UserInputError:
    return UserInputError(
        f"'{token}' lies in the future; there is no cost data for it yet.",
        hint=f"Ask for a period that starts on or before today ({today:%Y-%m-%d}), e.g. "
        "`costs mtd` or `costs last month`.",
        accepted=PERIODS.accepted(),
    )


def _month(token: str, year: int, month: int, today: date) -> PeriodRequest:
    if not 1 <= month <= 12 or not EARLIEST_DAY.year <= year <= LATEST_DAY.year:
        raise UserInputError(f"'{token}' is not a month (YYYY-MM).", accepted=PERIODS.accepted())
    start = date(year, month, 1)
    if start > today:
        raise _future(token, start, today)
    end = min(_month_end(start), today)
    label = f"{start:%B %Y}" + (" to date" if end < _month_end(start) else "")
    return PeriodRequest(f"{year:04d}-{month:02d}", PeriodKind.MONTH, Period(start, end, label),
                         Compare.MONTH)  # fmt: skip


def _range(token: str, first: str, last: str, today: date) -> PeriodRequest:
    """`YYYY-MM-DD..YYYY-MM-DD`, compared with the range of equal length just before it."""
    accepted = PERIODS.accepted()
    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        raise UserInputError(
            f"'{token}' has a date that does not exist.", accepted=accepted
        ) from None
    if start < EARLIEST_DAY or end > LATEST_DAY:
        raise UserInputError(
            f"'{token}' is outside the dates CloudOptima answers for ({SUPPORTED_DAYS}).",
            accepted=accepted,
        )
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
        raise _future(token, start, today)
    period = Period(start, end, f"{start:%Y-%m-%d} to {end:%Y-%m-%d}")
    return PeriodRequest(f"{first}..{last}", PeriodKind.RANGE, period, Compare.BEFORE)


def periods_help() -> list[str]:
    """One help line per way to say a period, from `PERIODS`."""
    lines = []
    for term in PERIODS:
        written = term.form or term.word
        spoken = [a for a in term.aliases if " " in a]
        also = f" (or `{'`, `'.join(spoken)}`)" if spoken else ""
        gloss = f": {term.help}" if term.help else ""
        lines.append(f"  `{written}`{also}{gloss}")
    return lines
