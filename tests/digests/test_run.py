"""The digest tick: once per slot across replicas, leases taken over, DST, pause, weekdays only,
off, late within the grace or skipped with a note (fixed clock, SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.digests.store import all_subscriptions, runs
from tests.digests.support import (
    ALICE,
    BOB,
    card_of,
    core_with_digests,
    digest_messages,
    runner,
    text_of,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def app(engine, clock):
    return core_with_digests(engine, clock)


def test_each_slot_is_queued_once_however_many_replicas_tick(app, engine, clock):
    clock.current = utc(2026, 12, 1, 7)  # Tuesday, 08:00 in Berlin
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    replicas = [runner(engine, clock, f"r{n}") for n in range(3)]

    for day in range(3):
        clock.current = utc(2026, 12, 1 + day, 8, 0, 30)
        for replica in replicas:
            replica.tick()
        for replica in replicas:  # a later tick in the same slot finds nothing due
            replica.tick()

    keys = [m.idempotency_key for m in digest_messages(engine)]
    assert keys == ["digest:1:2026-12-01", "digest:1:2026-12-02", "digest:1:2026-12-03"]
    assert {m.target_address for m in digest_messages(engine)} == {"C0FINOPS1"}
    assert [r.status for r in runs(engine)] == ["delivered"] * 3


def test_nothing_runs_before_the_local_time(app, engine, clock):
    clock.current = utc(2026, 12, 1, 7)
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    clock.current = utc(2026, 12, 1, 7, 59, 59)
    assert runner(engine, clock).tick().claimed == 0
    clock.current = utc(2026, 12, 1, 8)
    assert runner(engine, clock).tick().delivered == 1


def test_a_replica_holding_the_slot_keeps_the_others_out(app, engine, clock):
    clock.current = utc(2026, 12, 1, 7)
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    clock.current = utc(2026, 12, 1, 8, 1)
    other = runner(engine, clock, "r2")
    seen = []

    def meanwhile(subscription):
        seen.append(other.tick().claimed)  # r2 ticks while r1 is building

    runner(engine, clock, "r1", before_finish=meanwhile).tick()

    assert seen == [0]
    assert len(digest_messages(engine)) == 1


def test_a_replica_that_dies_mid_slot_commits_nothing_and_another_delivers_once(app, engine, clock):
    clock.current = utc(2026, 12, 1, 7)
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    clock.current = utc(2026, 12, 1, 8, 1)

    def die(subscription):
        raise SystemExit("killed")

    with pytest.raises(SystemExit):
        runner(engine, clock, "r1", before_finish=die).tick()
    assert digest_messages(engine) == []
    assert runner(engine, clock, "r2").tick().claimed == 0  # r1's lease still holds

    clock.current += timedelta(seconds=61)  # the lease runs out
    summary = runner(engine, clock, "r2").tick()
    assert summary.delivered == 1
    [message] = digest_messages(engine)
    assert message.idempotency_key == "digest:1:2026-12-01"
    assert [r.owner for r in runs(engine)] == ["r2"]


def test_a_slow_replica_whose_lease_was_taken_over_does_not_queue_twice(app, engine, clock):
    clock.current = utc(2026, 12, 1, 7)
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    clock.current = utc(2026, 12, 1, 8, 1)
    finished = []

    def slow(subscription):
        # While r1 "hangs" past its lease, r2 takes the slot over and finishes it.
        clock.current += timedelta(seconds=61)
        finished.append(runner(engine, clock, "r2").tick().delivered)

    summary = runner(engine, clock, "r1", before_finish=slow).tick()

    assert finished == [1]
    assert summary.lost == 1 and summary.delivered == 0
    assert len(digest_messages(engine)) == 1


def test_spring_forward_0230_is_delivered_at_0330_local(app, engine, clock):
    clock.current = utc(2026, 3, 28, 12)
    app.handle_text("digest daily 02:30 Europe/Berlin", ALICE)
    clock.current = utc(2026, 3, 29, 1, 29)  # 02:29 CET: the clocks jump at 02:00 … to 03:00
    assert runner(engine, clock).tick().claimed == 0
    clock.current = utc(2026, 3, 29, 1, 30)  # 03:30 CEST
    assert runner(engine, clock).tick().delivered == 1
    assert [m.idempotency_key for m in digest_messages(engine)] == ["digest:1:2026-03-29"]


def test_fall_back_0130_runs_once(app, engine, clock):
    clock.current = utc(2026, 10, 31, 12)
    app.handle_text("digest daily 01:30 America/New_York", ALICE)
    clock.current = utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert runner(engine, clock).tick().delivered == 1
    clock.current = utc(2026, 11, 1, 6, 30)  # 01:30 EST, the same local time again
    assert runner(engine, clock).tick().claimed == 0
    clock.current = utc(2026, 11, 2, 6, 30)  # the next day's 01:30 EST
    assert runner(engine, clock).tick().delivered == 1
    keys = [m.idempotency_key for m in digest_messages(engine)]
    assert keys == ["digest:1:2026-11-01", "digest:1:2026-11-02"]


def test_time_zones_each_get_their_own_morning(app, engine, clock):
    clock.current = utc(2026, 12, 1, 0, 0)
    app.handle_text("digest daily 09:00 Asia/Kolkata", ALICE)  # 03:30 UTC
    app.handle_text("digest daily 09:00 America/New_York", BOB)  # 14:00 UTC
    clock.current = utc(2026, 12, 1, 3, 30)
    runner(engine, clock).tick()
    assert [m.target_address for m in digest_messages(engine)] == ["C0FINOPS1"]
    clock.current = utc(2026, 12, 1, 14, 0)
    runner(engine, clock).tick()
    assert [m.target_address for m in digest_messages(engine)] == ["C0FINOPS1", "C0TEAMWEB"]


def test_a_missed_slot_is_delivered_late_within_the_grace(app, engine, clock):
    clock.current = utc(2026, 12, 1, 7)
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    clock.current = utc(2026, 12, 1, 13, 59)  # every replica was down until 5 h 59 min late
    assert runner(engine, clock).tick().delivered == 1
    [run] = runs(engine)
    assert run.ran_at - run.scheduled_at == timedelta(hours=5, minutes=59)


def test_a_slot_missed_beyond_the_grace_is_skipped_and_the_next_digest_says_so(app, engine, clock):
    clock.current = utc(2026, 12, 1, 7)
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    clock.current = utc(2026, 12, 1, 14, 1)  # 6 h 1 min late
    summary = runner(engine, clock).tick()
    assert (summary.delivered, summary.skipped) == (0, 1)
    assert digest_messages(engine) == []
    clock.current = utc(2026, 12, 2, 8)
    runner(engine, clock).tick()
    [message] = digest_messages(engine)
    text = text_of(card_of(message))
    assert "not sent on 2026-12-01" in text and "grace" in text
    clock.current = utc(2026, 12, 3, 8)
    runner(engine, clock).tick()
    assert "not sent" not in text_of(card_of(digest_messages(engine)[-1]))  # told once


def test_days_down_are_passed_over_in_one_go(app, engine, clock):
    clock.current = utc(2026, 12, 1, 7)
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    clock.current = utc(2026, 12, 4, 9)  # back 3 days later, 1 h after the 4th's slot
    runner(engine, clock).tick()
    runner(engine, clock).tick()
    [message] = digest_messages(engine)
    assert message.idempotency_key == "digest:1:2026-12-04"
    text = text_of(card_of(message))
    assert "2026-12-01, 2026-12-02, 2026-12-03" in text


def test_pause_until_holds_the_digests_before_that_date(app, engine, clock):
    clock.current = utc(2026, 12, 1, 7)
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    reply = app.handle_text("digest pause until 2026-12-03", ALICE)
    assert "no digest before 2026-12-03" in text_of(reply.card)
    for day in (1, 2, 3):
        clock.current = utc(2026, 12, day, 8, 5)
        runner(engine, clock).tick()
    assert [m.idempotency_key for m in digest_messages(engine)] == ["digest:1:2026-12-03"]
    assert [(r.slot.day, r.status) for r in runs(engine)] == [
        (1, "paused"),
        (2, "paused"),
        (3, "delivered"),
    ]


def test_weekdays_only_skips_the_weekend(app, engine, clock):
    clock.current = utc(2026, 12, 4, 7)  # Friday
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    reply = app.handle_text("digest weekdays-only", ALICE)
    assert "Friday 2026-12-04" in text_of(reply.card)
    for day in range(4, 9):  # Friday … Tuesday
        clock.current = utc(2026, 12, day, 8, 5)
        runner(engine, clock).tick()
    slots = [m.idempotency_key[-10:] for m in digest_messages(engine)]
    assert slots == ["2026-12-04", "2026-12-07", "2026-12-08"]


def test_off_stops_the_digest(app, engine, clock):
    clock.current = utc(2026, 12, 1, 7)
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    clock.current = utc(2026, 12, 1, 8, 5)
    runner(engine, clock).tick()
    reply = app.handle_text("digest off", ALICE)
    assert "Turned off 1" in text_of(reply.card)
    clock.current = utc(2026, 12, 2, 8, 5)
    runner(engine, clock).tick()
    assert len(digest_messages(engine)) == 1
    assert all_subscriptions(engine) == []


def test_weekly_on_monday(app, engine, clock):
    clock.current = utc(2026, 12, 2, 12)  # Wednesday
    app.handle_text("digest weekly mon 08:30 America/New_York", ALICE)
    for day in range(2, 16):
        clock.current = utc(2026, 12, day, 13, 31)
        runner(engine, clock).tick()
    slots = [m.idempotency_key[-10:] for m in digest_messages(engine)]
    assert slots == ["2026-12-07", "2026-12-14"]
    assert date(2026, 12, 7).weekday() == 0
