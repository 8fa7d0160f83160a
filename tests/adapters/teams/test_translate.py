"""Teams activities become the core's neutral interaction: a message is identified by its
activity id; a button press also by its card, verb and data within the duplicate window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from microsoft_agents.activity import Activity

from adapters.teams.translate import (
    DUPLICATE_WINDOW_SECONDS,
    message_interaction,
    press_interaction,
)
from core.kernel.context import Platform
from tests.support.teams import message

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def activity(**overrides) -> Activity:
    data = message("costs 7d", "https://smba.test/amer/", scope="channel", activity_id="17001")
    data.update(overrides)
    return Activity.model_validate(data)


def test_a_message_is_claimed_by_its_activity_id():
    interaction = message_interaction(activity())
    assert interaction.text == "costs 7d"  # the bot's mention removed
    assert interaction.requester.platform is Platform.TEAMS
    assert interaction.delivery_ids == ("activity:17001",)


def test_presses_of_one_button_share_an_identity_within_the_window_only():
    pressed = activity(replyToId="card-1")
    first = press_interaction(pressed, "costs.drilldown", "v", {"value": "v"}, NOW)
    soon = press_interaction(
        activity(replyToId="card-1", id="17002"),
        "costs.drilldown",
        "v",
        {"value": "v"},
        NOW + timedelta(seconds=DUPLICATE_WINDOW_SECONDS - 1),
    )
    later = press_interaction(
        activity(replyToId="card-1", id="17003"),
        "costs.drilldown",
        "v",
        {"value": "v"},
        NOW + timedelta(seconds=2 * DUPLICATE_WINDOW_SECONDS),
    )
    assert first.delivery_ids[0] == "activity:17001"
    assert set(first.delivery_ids[1:]) & set(soon.delivery_ids[1:])  # a double click
    assert not set(first.delivery_ids[1:]) & set(later.delivery_ids[1:])  # a new press
    other_card = press_interaction(
        activity(replyToId="card-2"), "costs.drilldown", "v", {"value": "v"}, NOW
    )
    assert not set(first.delivery_ids[1:]) & set(other_card.delivery_ids[1:])
