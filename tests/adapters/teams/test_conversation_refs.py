"""Conversation references: stored on install, refreshed by messages, disabled on removal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from core.delivery.conversations import (
    ConversationRecord,
    conversation_names,
    disable_reference,
    find_reference,
    reference_key,
    save_reference,
)
from core.delivery.tables import ConversationRef, ConversationScope
from tests.support.teams import (
    ANN,
    BOT,
    CONVERSATIONS,
    TENANT_ID,
    conversation_update,
    installation_update,
    message,
    sqlite_only,
)

CAROL = {"id": "29:carol-teams-id", "name": "Carol", "aadObjectId": "aad-carol"}


def record(service_url: str = "https://smba.trafficmanager.net/emea/") -> ConversationRecord:
    return ConversationRecord(
        platform="teams",
        conversation_id="19:finops@thread.tacv2",
        service_url=service_url,
        tenant_id=TENANT_ID,
        scope=ConversationScope.CHANNEL,
        reference={"conversation": {"id": "19:finops@thread.tacv2"}, "serviceUrl": service_url},
    )


def rows(engine) -> list[ConversationRef]:
    with Session(engine) as session:
        return list(session.exec(select(ConversationRef)))


def stored(engine, conversation_id: str) -> ConversationRecord | None:
    return find_reference(engine, "teams", reference_key(conversation_id))


# -- the store ------------------------------------------------------------------------------------


def test_a_new_reference_is_stored_enabled(engine, clock):
    assert save_reference(engine, record(), clock.now()) is True

    found = stored(engine, "19:finops@thread.tacv2")
    assert found == record()
    [row] = rows(engine)
    assert (row.key, row.created_at, row.updated_at) == (
        reference_key("19:finops@thread.tacv2"),
        clock.now(),
        clock.now(),
    )


def test_refreshing_an_unchanged_reference_writes_nothing(engine, clock):
    save_reference(engine, record(), clock.now())
    clock.current += timedelta(hours=1)

    assert save_reference(engine, record(), clock.now()) is False
    [row] = rows(engine)
    assert row.updated_at == clock.now() - timedelta(hours=1)


def test_a_changed_service_url_is_written(engine, clock):
    save_reference(engine, record(), clock.now())
    clock.current += timedelta(hours=1)

    assert save_reference(engine, record("https://smba.trafficmanager.net/amer/"), clock.now())
    [row] = rows(engine)
    assert row.service_url == "https://smba.trafficmanager.net/amer/"
    assert row.reference["serviceUrl"] == "https://smba.trafficmanager.net/amer/"
    assert row.updated_at == clock.now()


def test_disabling_keeps_the_reason_and_a_later_save_enables_again(engine, clock):
    save_reference(engine, record(), clock.now())
    key = reference_key("19:finops@thread.tacv2")

    assert disable_reference(engine, "teams", key, "The app was removed.", clock.now()) is True
    assert disable_reference(engine, "teams", key, "again", clock.now()) is False
    found = stored(engine, "19:finops@thread.tacv2")
    assert (found.enabled, found.disabled_reason) == (False, "The app was removed.")

    assert save_reference(engine, record(), clock.now()) is True
    found = stored(engine, "19:finops@thread.tacv2")
    assert (found.enabled, found.disabled_reason) == (True, None)


def test_keys_are_short_and_stable():
    long_id = "a:1" + "x" * 400
    assert reference_key(long_id) == reference_key(long_id)
    assert len(reference_key(long_id)) == 32
    assert reference_key("19:a@thread.v2") != reference_key("19:b@thread.v2")


# -- install, message, uninstall over HTTP --------------------------------------------------------


@pytest.mark.parametrize("scope", ["channel", "groupChat"])
async def test_adding_the_bot_to_a_team_or_chat_stores_the_reference(
    start_teams, connector, engine, scope
):
    server = await start_teams()

    status, _ = await server.post(conversation_update(connector.url, scope=scope, added=[BOT]))

    assert status == 202
    found = stored(engine, CONVERSATIONS[scope]["id"])
    assert found is not None and found.enabled
    assert (found.scope, found.tenant_id, found.service_url) == (scope, TENANT_ID, connector.url)
    reference = found.reference
    assert reference["conversation"]["id"] == CONVERSATIONS[scope]["id"]
    assert reference["bot"] == BOT
    assert "user" not in reference  # shared conversation: nobody in particular
    assert "activityId" not in reference
    # Named, so that a budget's Teams target reads as a place, not as an opaque id.
    named = {"channel": "costs in FinOps", "groupChat": "a group chat"}[scope]
    assert reference["conversation"]["name"] == named
    ids = [CONVERSATIONS[scope]["id"]]
    assert conversation_names(engine, "teams", ids) == {ids[0]: named}


@sqlite_only
async def test_installing_in_personal_scope_stores_the_user(start_teams, connector, engine):
    server = await start_teams()

    await server.post(installation_update(connector.url, scope="personal", action="add"))

    found = stored(engine, CONVERSATIONS["personal"]["id"])
    assert found.scope == "personal"
    assert found.reference["user"]["id"] == ANN["id"]
    assert found.reference["conversation"]["name"] == "personal chat with Ann Admin"


@sqlite_only
async def test_members_added_without_the_bot_stores_nothing(start_teams, connector, engine):
    server = await start_teams()

    await server.post(conversation_update(connector.url, scope="channel", added=[ANN]))

    assert rows(engine) == []


@sqlite_only
async def test_messages_refresh_one_reference_per_channel(start_teams, connector, engine, clock):
    server = await start_teams()
    await server.post(message("help", connector.url, scope="channel"))
    first = rows(engine)
    clock.current += timedelta(minutes=5)

    await server.post(message("help", connector.url, scope="channel"))
    await server.post(message("help", connector.url, scope="channel", sender=CAROL))

    [row] = rows(engine)
    # Thread suffix (;messageid=) dropped: one channel, one reference, unchanged by chatter.
    assert row.conversation_id == CONVERSATIONS["channel"]["id"]
    assert row.updated_at == first[0].updated_at


@sqlite_only
async def test_a_message_re_enables_a_disabled_reference(start_teams, connector, engine):
    server = await start_teams()
    await server.post(conversation_update(connector.url, scope="groupChat", added=[BOT]))
    await server.post(installation_update(connector.url, scope="groupChat", action="remove"))
    assert not stored(engine, CONVERSATIONS["groupChat"]["id"]).enabled

    await server.post(message("help", connector.url, scope="groupChat"))

    assert stored(engine, CONVERSATIONS["groupChat"]["id"]).enabled


@sqlite_only
@pytest.mark.parametrize(
    ("removal", "reason"),
    [
        ("uninstall", "The app was removed."),
        ("bot removed", "The bot was removed from it."),
        ("channel deleted", "The channel was deleted."),
    ],
)
async def test_removal_disables_the_reference_with_its_reason(
    start_teams, connector, engine, removal, reason
):
    server = await start_teams()
    await server.post(conversation_update(connector.url, scope="channel", added=[BOT]))

    if removal == "uninstall":
        activity = installation_update(connector.url, scope="channel", action="remove")
    elif removal == "bot removed":
        activity = conversation_update(connector.url, scope="channel", removed=[BOT])
    else:
        activity = conversation_update(connector.url, scope="channel")
        activity["channelData"]["eventType"] = "channelDeleted"
    status, _ = await server.post(activity)

    assert status == 202
    found = stored(engine, CONVERSATIONS["channel"]["id"])
    assert (found.enabled, found.disabled_reason) == (False, reason)
