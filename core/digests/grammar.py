"""The words of `digest daily|weekly [mon] [09:00] [Europe/Berlin] [scope filters]` and of
`digest list|off|pause until YYYY-MM-DD|resume|weekdays-only|now [#id]`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

from core.costs.grammar import parse_filter
from core.digests.model import Frequency, Schedule
from core.digests.schedule import zone
from core.kernel.errors import UserInputError
from core.kernel.grammar import Term, Vocabulary, help_text

WEEKDAYS: Vocabulary[int] = Vocabulary(
    "weekday",
    [
        Term("mon", 0, ("monday",)),
        Term("tue", 1, ("tuesday", "tues")),
        Term("wed", 2, ("wednesday",)),
        Term("thu", 3, ("thursday", "thur", "thurs")),
        Term("fri", 4, ("friday",)),
        Term("sat", 5, ("saturday",)),
        Term("sun", 6, ("sunday",)),
    ],
)
USAGE = "digest daily|weekly [mon] [09:00] [Europe/Berlin] [filters]"
SYNTAX = (
    "digest daily|weekly [mon] [09:00] [Europe/Berlin] [sub:|rg:|service:|location:|tag:k=v], "
    "digest list, digest off [#id], digest pause until YYYY-MM-DD [#id], digest resume [#id], "
    "digest weekdays-only [#id], digest now [#id]"
)
HELP = help_text(
    "A digest of this channel's costs, posted on schedule in the channel's time zone: spend "
    "yesterday, week and month to date against the period before, budgets' projections, top "
    "movers, open anomalies, the top recommendations with Approve / Dismiss / Snooze buttons, "
    "and a 30-day chart.",
    "",
    "`digest daily 09:00 Europe/Berlin` or `digest weekly mon 08:30 America/New_York rg:web`: "
    "start one (or change its schedule). Time zones are IANA names; the default is 09:00 UTC.",
    "`digest list` · `digest off [#id]` · `digest pause until 2026-12-28` · `digest resume` · "
    "`digest weekdays-only` · `digest now` (a private preview).",
)
_TIME = re.compile(r"^([01]?\d|2[0-3])(?::([0-5]\d))?$")
_AMPM = re.compile(r"^(1[0-2]|0?[1-9])(?::([0-5]\d))?(am|pm)$")
_TIMEISH = re.compile(r"^\d{1,2}(:\d{1,2})?(am|pm)?$|^\d{1,2}:\d{1,2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID = re.compile(r"^#?(\d{1,12})$")
MAX_FILTERS = 8


@dataclass(frozen=True, slots=True)
class SubscribeRequest:
    schedule: Schedule
    filters: tuple[str, ...]


def _time(word: str) -> time | None:
    if m := _TIME.match(word):
        if ":" not in word and len(word) > 2:
            return None
        return time(int(m.group(1)), int(m.group(2) or 0))
    if m := _AMPM.match(word.lower()):
        hour = int(m.group(1)) % 12 + (12 if m.group(3) == "pm" else 0)
        return time(hour, int(m.group(2) or 0))
    return None


def _weekday(frequency: Frequency, word: str, day: int) -> int:
    if frequency is not Frequency.WEEKLY:
        raise UserInputError(
            f"'{word}' is a weekday: only a weekly digest takes one.",
            hint="`digest weekly mon 09:00`, or `digest daily` then `digest weekdays-only`.",
        )
    return day


def _refuse_bad_time(word: str) -> None:
    if _TIMEISH.match(word.lower()) and _time(word) is None:
        raise UserInputError(
            f"'{word[:20]}' is not a time of day.", accepted=["00:00 … 23:59", "9am", "7:30pm"]
        )


def parse_subscribe(
    frequency: Frequency, args: tuple[str, ...], default_at: time, default_timezone: str
) -> SubscribeRequest:
    """The words after `digest daily` / `digest weekly`, in any order, each at most once."""
    at: time | None = None
    timezone: str | None = None
    weekday: int | None = None
    weekdays_only = False
    filters: list[str] = []
    for word in args:
        lowered = word.lower()
        _refuse_bad_time(word)
        if ":" in word and _time(word) is None:
            parse_filter(word)  # refuses what the costs grammar does not know
            filters.append(word)
        elif (t := _time(word)) is not None:
            if at is not None:
                raise UserInputError("Give one time of day.", accepted=["09:00", "8:30", "7am"])
            at = t
        elif (day := WEEKDAYS.get(lowered)) is not None:
            weekday = _weekday(frequency, word, day)
        elif lowered in ("weekdays", "weekdays-only"):
            weekdays_only = True
        elif "/" in word or lowered == "utc":
            zone(word)
            timezone = "UTC" if lowered == "utc" else word
        else:
            raise UserInputError(
                f"I don't understand '{word[:40]}' in a digest schedule.",
                hint=f"Usage: {USAGE}. Times as 09:00, time zones as IANA names "
                "(Europe/Berlin), weekdays as mon…sun, filters as rg:<name>.",
            )
    if len(filters) > MAX_FILTERS:
        raise UserInputError(f"A digest takes at most {MAX_FILTERS} filters.")
    if weekdays_only and frequency is Frequency.WEEKLY:
        raise UserInputError("`weekdays` only applies to a daily digest.")
    schedule = Schedule(
        frequency=frequency,
        at=at or default_at,
        timezone=timezone or default_timezone,
        weekday=(0 if weekday is None else weekday) if frequency is Frequency.WEEKLY else None,
        weekdays_only=weekdays_only,
    )
    return SubscribeRequest(schedule, tuple(filters))


def parse_id(args: tuple[str, ...]) -> int | None:
    """An optional `#id` (which of the channel's digests); None: all of them."""
    if not args:
        return None
    if len(args) == 1 and (m := _ID.match(args[0])):
        return int(m.group(1))
    raise UserInputError(
        f"'{' '.join(args)[:40]}' is not a digest id.",
        hint="`digest list` shows this channel's digests with their ids, e.g. `digest off #3`.",
    )


def parse_pause(args: tuple[str, ...], today: date) -> tuple[date, int | None]:
    """`pause until YYYY-MM-DD [#id]`: no digest before that local date."""
    words = list(args)
    if words and words[0].lower() == "until":
        words = words[1:]
    if not words or not _DAY.match(words[0]):
        raise UserInputError(
            "Say until when: `digest pause until 2026-12-28`.", accepted=["until YYYY-MM-DD"]
        )
    try:
        until = date.fromisoformat(words[0])
    except ValueError:
        raise UserInputError(f"'{words[0]}' is not a date.", accepted=["YYYY-MM-DD"]) from None
    if until <= today:
        raise UserInputError(
            f"{until:%Y-%m-%d} is not in the future.",
            hint="Give the first day the digest should come again, e.g. the day after a holiday.",
        )
    return until, parse_id(tuple(words[1:]))
