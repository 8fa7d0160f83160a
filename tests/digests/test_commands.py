"""`digest …` end to end through the front door: subscriptions in any channel, helpful refusals,
list, off, pause, resume, weekdays-only, the private preview; the card valid for Slack and Teams."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.slack.blocks import render_card as slack_render
from adapters.teams.cards import render_card as teams_render
from core.digests.actions import DigestAction
from core.digests.store import all_subscriptions
from core.kernel.cards import Actions, Severity, Visibility
from tests.digests.support import (
    ALICE,
    BOB,
    CONSOLE,
    TEAMS,
    core_with_digests,
    digest_messages,
    runner,
    text_of,
)
from tests.support.cost_rows import put_days
from tests.support.slack_blocks import assert_valid_message
from tests.support.teams import assert_valid_card, fake_drawer

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


@pytest.fixture
def app(sqlite_engine, clock):
    """Parsing and bookkeeping do not depend on the database: SQLite is enough."""
    return core_with_digests(sqlite_engine, clock)


def test_subscribe_in_a_slack_channel_with_time_and_zone(app, sqlite_engine):
    reply = app.handle_text("digest daily 08:30 Europe/Berlin rg:rg-web", ALICE)

    assert reply.card.severity is Severity.SUCCESS and reply.visibility is Visibility.PUBLIC
    assert "daily at 08:30 Europe/Berlin" in text_of(reply.card)
    assert "The first one comes Saturday 2026-11-28 08:30 CET" in text_of(reply.card)
    [sub] = all_subscriptions(sqlite_engine)
    assert (sub.target.address, sub.filters, sub.created_by) == (
        "C0FINOPS1",
        ("rg:rg-web",),
        "slack:T1:UALICE",
    )


def test_defaults_are_09_00_utc_and_weekly_monday(app, sqlite_engine):
    app.handle_text("digest daily", ALICE)
    app.handle_text("digest weekly", BOB)
    daily, weekly = all_subscriptions(sqlite_engine)
    assert daily.schedule.describe() == "daily at 09:00 UTC"
    assert weekly.schedule.describe() == "weekly on Monday at 09:00 UTC"
    assert weekly.next_slot.weekday() == 0


def test_subscribing_again_with_the_same_scope_reschedules(app, sqlite_engine):
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    reply = app.handle_text("digest weekly fri 07:00 Europe/Berlin", ALICE)
    assert "Rescheduled digest #1" in reply.card.summary
    [sub] = all_subscriptions(sqlite_engine)
    assert sub.schedule.describe() == "weekly on Friday at 07:00 Europe/Berlin"


def test_teams_conversations_subscribe_too(app, sqlite_engine):
    app.handle_text("digest daily 9am America/New_York", TEAMS)
    [sub] = all_subscriptions(sqlite_engine)
    assert (str(sub.target.kind), sub.target.address) == ("teams", "19:abc@thread.tacv2")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("digest daily 09:00 Europe/Berln", "'Europe/Berln' is not an IANA time zone name"),
        ("digest daily 09:00 europe/berlin", "Did you mean Europe/Berlin"),
        ("digest daily 25:00", "'25:00' is not a time of day"),
        ("digest daily soon", "I don't understand 'soon'"),
        ("digest daily mon", "only a weekly digest takes one"),
        ("digest daily 09:00 10:00", "Give one time of day"),
        ("digest daily rg:", "is not a filter I know"),
        ("digest weekly weekdays", "only applies to a daily digest"),
        ("digest pause", "Say until when"),
        ("digest pause until 2026-11-01", "is not in the future"),
        ("digest off #99", "no digest #99"),
        ("digest sometimes", "I don't know `digest sometimes`"),
    ],
)
def test_refusals_say_what_was_wrong_and_what_works(app, text, says):
    app.handle_text("digest daily", ALICE)
    reply = app.handle_text(text, ALICE)
    assert reply.failed, text_of(reply.card)
    assert says in text_of(reply.card)


def test_the_terminal_has_no_channel_to_post_to(app):
    reply = app.handle_text("digest daily", CONSOLE)
    assert reply.failed and "Slack channel or a Teams conversation" in text_of(reply.card)


def test_list_shows_this_channels_digests_only(app):
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    app.handle_text("digest weekly mon rg:rg-web", ALICE)
    app.handle_text("digest daily", BOB)
    reply = app.handle_text("digest list", ALICE)
    text = text_of(reply.card)
    assert "daily at 09:00 Europe/Berlin" in text and "weekly on Monday" in text
    assert text.count(" | ") >= 2 and "C0TEAMWEB" not in text
    assert app.handle_text("digest", ALICE).card.summary == reply.card.summary  # default: list


def test_off_one_by_id_keeps_the_others(app, sqlite_engine):
    app.handle_text("digest daily", ALICE)
    app.handle_text("digest weekly rg:rg-web", ALICE)
    app.handle_text("digest off #2", ALICE)
    assert [s.id for s in all_subscriptions(sqlite_engine)] == [1]


def test_pause_then_resume_by_button(app, sqlite_engine, clock):
    app.handle_text("digest daily", ALICE)
    app.handle_text("digest pause until 2026-12-28", ALICE)
    listed = app.handle_text("digest list", ALICE)
    assert "paused until 2026-12-28" in text_of(listed.card)
    [resume] = [
        b for block in listed.card.blocks if isinstance(block, Actions) for b in block.buttons
    ]
    assert (resume.action_id, resume.value) == (DigestAction.RESUME, "1")
    reply = app.handle_action(resume.action_id, resume.value, ALICE)
    assert "Resumed #1" in text_of(reply.card)
    assert all_subscriptions(sqlite_engine)[0].paused_until is None


def test_weekdays_only_refuses_a_weekly_digest(app):
    app.handle_text("digest weekly", ALICE)
    reply = app.handle_text("digest weekdays-only", ALICE)
    assert reply.failed and "Only a daily digest" in text_of(reply.card)


def test_now_is_a_private_preview_that_queues_nothing(app, sqlite_engine, clock):
    put_days(
        sqlite_engine, clock, datetime(2026, 10, 1).date(), datetime(2026, 11, 26).date(), "30"
    )
    app.handle_text("digest daily 09:00 Europe/Berlin", ALICE)
    reply = app.handle_text("digest now", ALICE)

    assert reply.visibility is Visibility.PRIVATE and not reply.failed
    text = text_of(reply.card)
    assert "Preview: only you see this" in text
    assert "Yesterday: €30.00" in text
    assert digest_messages(sqlite_engine) == []


def test_the_digest_is_a_valid_slack_message_and_adaptive_card(app, sqlite_engine, clock):
    put_days(
        sqlite_engine, clock, datetime(2026, 10, 1).date(), datetime(2026, 11, 26).date(), "30"
    )
    app.handle_text("digest daily 09:00 UTC", ALICE)
    clock.current = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    runner(sqlite_engine, clock).tick()
    view = app.handle_text("digest now", ALICE).card

    assert_valid_message(slack_render(view, chart_files={}))
    assert_valid_card(teams_render(view, draw_chart=fake_drawer))
    assert len(digest_messages(sqlite_engine)) == 1
