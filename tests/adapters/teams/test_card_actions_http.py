"""Card buttons: Action.Execute invokes (and the Action.Submit fallback) over real HTTP.

The duplicate-press tests run on both databases (the claims live there); the rest on SQLite.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.teams import (
    ANN,
    BOB,
    TENANT_ID,
    assert_valid_card,
    buttons,
    invoke,
    message,
    seed_costs,
    sqlite_only,
    texts,
)


@pytest.fixture
async def costs_card(start_teams, connector, engine, clock):
    """A running server and the costs card it answered `costs 30d` with."""
    await seed_costs(engine, clock)
    server = await start_teams()
    await server.post(message("costs 30d", connector.url))
    [card] = connector.cards()
    connector.calls.clear()
    return server, card


@sqlite_only
async def test_drill_down_press_answers_with_the_updated_card(costs_card, connector):
    server, card = costs_card
    button = buttons(card)["By resource-group"]
    assert button["verb"] == "costs.drilldown"
    assert button["fallback"]["type"] == "Action.Submit"

    status, body = await server.post(invoke(button["verb"], button["data"]["value"], connector.url))

    assert status == 200
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    updated = body["value"]
    assert_valid_card(updated)
    assert any(t.startswith("Costs by resource-group") for t in texts(updated))
    assert "Drill-down requested by Ann Admin" in texts(updated)
    assert "By resource-group" not in buttons(updated)  # already grouped that way
    assert connector.calls == []  # the answer travels in the HTTP response
    assert server.core.actions == [
        ("costs.drilldown", button["data"]["value"], f"teams:{TENANT_ID}:aad-ann")
    ]


@sqlite_only
async def test_a_user_without_permission_is_refused_in_the_card(
    start_teams, connector, engine, clock
):
    await seed_costs(engine, clock)
    # The short form means the one configured tenant's user.
    server = await start_teams(viewers=["teams:aad-ann"], teams_tenants=[TENANT_ID])
    value = "costs 2026-10-28..2026-11-26 by location"

    status, body = await server.post(invoke("costs.drilldown", value, connector.url, sender=BOB))

    assert status == 200
    refused = body["value"]
    assert_valid_card(refused)
    assert texts(refused)[0] == "Not allowed"
    assert f"teams:{TENANT_ID}:aad-bob" in " ".join(texts(refused))


async def test_the_same_invoke_delivered_twice_runs_once(costs_card, connector):
    server, card = costs_card
    button = buttons(card)["By location"]
    press = invoke(button["verb"], button["data"]["value"], connector.url)

    first = await server.post(press)
    second = await server.post(press)  # Teams retried the same activity

    assert first[0] == second[0] == 200
    assert first[1]["type"] == "application/vnd.microsoft.card.adaptive"
    assert second[1]["type"] == "application/vnd.microsoft.activity.message"
    assert "Nothing was done twice" in second[1]["value"]
    assert len(server.core.actions) == 1


async def test_a_double_click_on_the_same_card_runs_once(costs_card, connector, clock):
    server, card = costs_card
    button = buttons(card)["By location"]

    def press():
        return invoke(button["verb"], button["data"]["value"], connector.url, sender=BOB)

    await server.post(press())
    await server.post(press())  # a new activity id, same card, verb and data
    assert len(server.core.actions) == 1

    clock.current += timedelta(seconds=30)  # two windows later: a deliberate press
    status, body = await server.post(press())
    assert (status, body["type"]) == (200, "application/vnd.microsoft.card.adaptive")
    assert len(server.core.actions) == 2


@sqlite_only
@pytest.mark.parametrize("first_second", [0, 10, 20, 29])
async def test_presses_closer_than_the_window_count_once_wherever_they_fall(
    costs_card, connector, clock, first_second
):
    server, card = costs_card
    button = buttons(card)["By location"]
    clock.current += timedelta(seconds=first_second)
    await server.post(invoke(button["verb"], button["data"]["value"], connector.url))

    clock.current += timedelta(seconds=14)
    _status, body = await server.post(
        invoke(button["verb"], button["data"]["value"], connector.url)
    )

    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert len(server.core.actions) == 1


@sqlite_only
async def test_the_submit_fallback_updates_the_card_in_place(costs_card, connector):
    server, card = costs_card
    button = buttons(card)["By subscription"]
    submit = message("", connector.url)
    submit.update(text=None, value=button["fallback"]["data"], replyToId="card-message-7")

    status, _ = await server.post(submit)

    assert status == 202
    [update] = connector.calls
    assert (update.method, update.activity_id) == ("PUT", "card-message-7")
    [updated] = connector.cards()
    assert any(t.startswith("Costs by subscription") for t in texts(updated))
    assert "Drill-down requested by Ann Admin" in texts(updated)

    await server.post(submit)  # delivered again
    assert len(connector.calls) == 1
    assert len(server.core.actions) == 1


@sqlite_only
async def test_a_button_from_an_unknown_version_explains_itself(start_teams, connector):
    server = await start_teams()

    status, body = await server.post(invoke("budget.approve.v0", "42", connector.url))

    assert status == 200
    assert "no longer works" in " ".join(texts(body["value"]))
    assert "Run the command again" in " ".join(texts(body["value"]))


@sqlite_only
async def test_a_press_in_a_channel_is_answered_for_the_presser(costs_card, connector):
    server, card = costs_card
    button = buttons(card)["By location"]

    status, body = await server.post(
        invoke(button["verb"], button["data"]["value"], connector.url, scope="channel", sender=ANN)
    )

    assert status == 200
    assert "Drill-down requested by Ann Admin" in texts(body["value"])
