"""Messages in personal chat, group chats and channels, answered by the core, over real HTTP."""

from __future__ import annotations

import pytest

from tests.support.teams import (
    ANN,
    BOT,
    CONVERSATIONS,
    TENANT_ID,
    message,
    seed_costs,
    sqlite_only,
    texts,
)

# References and claims are covered on both databases in test_conversation_refs / card actions.
pytestmark = sqlite_only


@pytest.mark.parametrize("scope", ["personal", "groupChat", "channel"])
async def test_costs_command_is_answered_with_a_card_in_every_scope(
    start_teams, connector, engine, clock, scope
):
    await seed_costs(engine, clock)
    server = await start_teams()

    status, _ = await server.post(message("costs 30d", connector.url, scope=scope))

    assert status == 202
    [call] = connector.posts()
    # The reply threads under the message, in the conversation it came from.
    incoming_id = call.body["replyToId"]
    assert call.path.endswith(f"/activities/{incoming_id}")
    assert call.conversation_id.startswith(CONVERSATIONS[scope]["id"])
    assert call.body["from"]["id"] == BOT["id"]
    assert call.authorization is None  # anonymous mode: no outbound token
    [card] = connector.cards()
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert any(t.startswith("Costs by service") for t in texts(card))
    assert call.body["summary"].startswith("€")


async def test_the_bot_mention_is_removed_using_the_mention_entity(start_teams, connector):
    server = await start_teams()
    activity = message("help costs", connector.url, scope="channel")
    # The team renamed the bot: only the entity knows which text is the mention.
    activity["text"] = "<at>Budget Bot</at> help costs"
    activity["entities"][0]["text"] = "<at>Budget Bot</at>"

    status, _ = await server.post(activity)

    assert status == 202
    [card] = connector.cards()
    assert texts(card)[0].startswith("costs — ")
    assert server.core.actions == []


async def test_a_mention_of_someone_else_is_not_stripped(start_teams, connector):
    server = await start_teams()
    activity = message("help", connector.url, scope="groupChat")
    activity["text"] = "<at>CloudOptima</at> <at>Ann Admin</at> help"
    activity["entities"].append({"type": "mention", "text": "<at>Ann Admin</at>", "mentioned": ANN})

    await server.post(activity)

    [card] = connector.cards()
    assert "I could not understand that" in texts(card)[0]


async def test_unknown_command_gets_a_helpful_card_not_an_error(start_teams, connector):
    server = await start_teams()

    status, _ = await server.post(message("cots 7d", connector.url))

    assert status == 202
    [card] = connector.cards()
    body = " ".join(texts(card))
    assert "I don't know the command 'cots'" in body
    assert "Did you mean `costs`?" in body


async def test_a_viewer_list_refuses_others_in_the_card(start_teams, connector):
    server = await start_teams(viewers=[f"teams:{TENANT_ID}:aad-someone-else"])

    status, _ = await server.post(message("costs", connector.url))

    assert status == 202
    [card] = connector.cards()
    assert texts(card)[0] == "Not allowed"
    assert f"teams:{TENANT_ID}:aad-ann" in " ".join(texts(card))


async def test_a_failing_send_never_leaks_exception_text(start_teams, connector):
    server = await start_teams()
    connector.fail_next(500, times=2)

    status, body = await server.post(message("help", connector.url))

    assert status == 202
    assert "Traceback" not in str(body)
    # The reply failed, then the apology (with a reference only) was attempted too.
    assert len(connector.posts()) == 2
    apology = connector.posts()[1].body
    assert "ClientResponseError" not in str(apology)


async def test_a_message_teams_delivers_twice_is_answered_once(start_teams, connector):
    server = await start_teams()
    activity = message("help", connector.url, scope="personal", activity_id="1700000424242")

    for _ in range(2):  # Teams retries an activity with the same id when the first ack is late
        status, _ = await server.post(activity)
        assert status == 202

    assert len(connector.cards()) == 1
