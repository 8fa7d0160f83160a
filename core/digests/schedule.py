"""Schedule math: a digest's slots are local dates, each run at the local time of that date.

The claim key of a run is (subscription, slot date), so a digest cannot run twice for one date
whatever the clocks do. The instant of a slot comes from `zoneinfo` with `fold=0`:

- a local time that happens twice (01:30 when the clocks fall back) is its first occurrence,
  and the second one is the same slot date, already claimed: it runs once;
- a local time that does not exist (02:30 when the clocks spring forward) is taken with the
  offset from before the change, which is the instant the clocks show 03:30: it runs at 03:30.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from core.digests.model import Frequency, Schedule
from core.kernel.errors import UserInputError

_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$")
#: How far ahead a slot is searched (a weekly digest's next one is at most 7 days ahead).
_SEARCH_DAYS = 8


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; a refusal naming close matches when it is unknown."""
    if _ZONE_NAME.match(name) and ".." not in name:
        try:
            return _zone(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    lowered = name.lower()
    close = sorted(z for z in available_timezones() if lowered and lowered in z.lower())[:5]
    hint = f"Did you mean {', '.join(close)}? " if close else ""
    raise UserInputError(
        f"'{name[:60]}' is not an IANA time zone name.",
        accepted=["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"],
        hint=f"{hint}Names are Area/City as in the tz database (case matters).",
    )


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def is_slot_day(schedule: Schedule, day: date) -> bool:
    if schedule.frequency is Frequency.WEEKLY:
        return day.weekday() == (schedule.weekday or 0)
    return not (schedule.weekdays_only and day.weekday() >= 5)


def run_at(schedule: Schedule, day: date) -> datetime:
    """The UTC instant of the slot on local date `day` (see the module docstring for DST)."""
    local = datetime.combine(day, schedule.at, tzinfo=zone(schedule.timezone))
    return local.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Slot:
    day: date
    at: datetime  # UTC


def first_slot_after(schedule: Schedule, moment: datetime) -> Slot:
    """The first slot whose run time is after `moment` (a new subscription's first run)."""
    local_day = moment.astimezone(zone(schedule.timezone)).date()
    for offset in range(-1, _SEARCH_DAYS + 1):
        day = local_day + timedelta(days=offset)
        if is_slot_day(schedule, day) and run_at(schedule, day) > moment:
            return Slot(day, run_at(schedule, day))
    raise AssertionError("a schedule has a slot every week")  # pragma: no cover


def slot_after(schedule: Schedule, day: date) -> Slot:
    """The slot on the first slot day after local date `day`."""
    for offset in range(1, _SEARCH_DAYS + 1):
        following = day + timedelta(days=offset)
        if is_slot_day(schedule, following):
            return Slot(following, run_at(schedule, following))
    raise AssertionError("a schedule has a slot every week")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Advance:
    """Where a subscription goes after its slot: the next slot, and the slots passed over."""

    next: Slot
    #: Slots whose time (plus the grace) had already passed: skipped, told in the next digest.
    skipped: tuple[date, ...]


def advance(schedule: Schedule, day: date, now: datetime, grace: timedelta) -> Advance:
    """The slot after `day`; slots already too late to deliver (more than `grace` ago) are
    passed over in one go, so a replica coming back after days does not run each of them."""
    following = slot_after(schedule, day)
    skipped: list[date] = []
    while now - following.at > grace:
        skipped.append(following.day)
        following = slot_after(schedule, following.day)
    return Advance(following, tuple(skipped))
