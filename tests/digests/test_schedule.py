"""Schedule math with zoneinfo: local slots, DST both ways, weekdays only, grace."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from core.digests.model import Frequency, Schedule
from core.digests.schedule import advance, first_slot_after, run_at, slot_after, zone
from core.kernel.errors import UserInputError

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def daily(at: time, tz: str = BERLIN, weekdays_only: bool = False) -> Schedule:
    return Schedule(Frequency.DAILY, at, tz, weekdays_only=weekdays_only)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_slot_is_the_local_time_of_its_local_date():
    assert run_at(daily(time(9)), date(2026, 1, 15)) == utc(2026, 1, 15, 8)  # CET, +1
    assert run_at(daily(time(9)), date(2026, 7, 15)) == utc(2026, 7, 15, 7)  # CEST, +2
    assert run_at(daily(time(9), "Asia/Kolkata"), date(2026, 7, 15)) == utc(2026, 7, 15, 3, 30)
    assert run_at(daily(time(9), NEW_YORK), date(2026, 7, 15)) == utc(2026, 7, 15, 13)


def test_spring_forward_0230_runs_at_0330_local():
    # Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
    at = run_at(daily(time(2, 30)), date(2026, 3, 29))
    assert at == utc(2026, 3, 29, 1, 30)
    assert at.astimezone(zone(BERLIN)).strftime("%H:%M %Z") == "03:30 CEST"
    # The day before and after keep their 02:30.
    assert run_at(daily(time(2, 30)), date(2026, 3, 28)) == utc(2026, 3, 28, 1, 30)
    assert run_at(daily(time(2, 30)), date(2026, 3, 30)) == utc(2026, 3, 30, 0, 30)


def test_fall_back_0130_is_one_slot_at_its_first_occurrence():
    # New York 2026-11-01: 01:00-02:00 happens twice (EDT, then EST).
    schedule = daily(time(1, 30), NEW_YORK)
    first = run_at(schedule, date(2026, 11, 1))
    assert first == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    # From the first occurrence on, the next slot is the next date: the second 01:30 (06:30
    # UTC, EST) is no slot of its own.
    following = slot_after(schedule, date(2026, 11, 1))
    assert following.day == date(2026, 11, 2)
    assert following.at == utc(2026, 11, 2, 6, 30)
    assert first_slot_after(schedule, first).day == date(2026, 11, 2)
    assert first_slot_after(schedule, utc(2026, 11, 1, 6, 0)).day == date(2026, 11, 2)


def test_slots_over_a_dst_change_are_one_per_local_date():
    schedule = daily(time(9))
    days = []
    slot = first_slot_after(schedule, utc(2026, 3, 26))
    for _ in range(6):
        days.append((slot.day, slot.at.astimezone(zone(BERLIN)).strftime("%H:%M")))
        slot = slot_after(schedule, slot.day)
    assert [d for d, _ in days] == [date(2026, 3, 26) + timedelta(days=n) for n in range(6)]
    assert {t for _, t in days} == {"09:00"}


def test_weekdays_only_skips_saturday_and_sunday():
    schedule = daily(time(9), weekdays_only=True)
    friday = date(2026, 12, 4)
    assert slot_after(schedule, friday).day == date(2026, 12, 7)  # Monday


def test_weekly_runs_on_its_weekday():
    schedule = Schedule(Frequency.WEEKLY, time(8, 30), NEW_YORK, weekday=0)
    first = first_slot_after(schedule, utc(2026, 12, 2, 12))  # a Wednesday
    assert first.day == date(2026, 12, 7)
    assert first.at == utc(2026, 12, 7, 13, 30)
    assert slot_after(schedule, first.day).day == date(2026, 12, 14)


def test_first_slot_is_today_when_its_time_is_still_ahead():
    schedule = daily(time(9))
    assert first_slot_after(schedule, utc(2026, 12, 2, 7, 59)).day == date(2026, 12, 2)
    assert first_slot_after(schedule, utc(2026, 12, 2, 8, 0)).day == date(2026, 12, 3)


def test_advance_passes_over_slots_too_late_for_the_grace():
    schedule = daily(time(9))
    grace = timedelta(hours=6)
    # Back 3 days and 2 hours after the 2026-12-02 slot: 03 and 04 are too late, 05 is next.
    moved = advance(schedule, date(2026, 12, 2), utc(2026, 12, 5, 10), grace)
    assert moved.skipped == (date(2026, 12, 3), date(2026, 12, 4))
    assert moved.next.day == date(2026, 12, 5)  # 2 h late: within the grace
    on_time = advance(schedule, date(2026, 12, 2), utc(2026, 12, 2, 8, 0, 1), grace)
    assert (on_time.skipped, on_time.next.day) == ((), date(2026, 12, 3))


@pytest.mark.parametrize("name", ["Europe/Berln", "europe/berlin", "CET+1", "../etc/passwd", ""])
def test_unknown_time_zones_are_refused_helpfully(name):
    with pytest.raises(UserInputError) as refused:
        zone(name)
    assert "IANA" in refused.value.message
    if name == "europe/berlin":
        assert "Europe/Berlin" in (refused.value.hint or "")
