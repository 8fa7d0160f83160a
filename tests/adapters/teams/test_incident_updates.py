"""Teams: an update edits the posted activity (continue_conversation + update_activity, a PUT at
the fake Bot Connector); one that is gone is posted anew."""

from __future__ import annotations

from core.delivery.ports import Delivery
from core.delivery.targets import Target, TargetKind
from core.kernel.cards import Header, Text, card
from tests.support.teams import BOT, CONVERSATIONS, conversation_update, sqlite_only

CHANNEL = CONVERSATIONS["channel"]["id"]


def delivery(text: str) -> Delivery:
    view = card(text, text, Header(text), Text(text))
    return Delivery("anomaly:1:teams", Target(TargetKind.TEAMS, CHANNEL), view)


async def notifier_for(start_teams, connector):
    server = await start_teams()
    await server.post(conversation_update(connector.url, scope="channel", added=[BOT]))
    connector.calls.clear()

    async def no_sleep(_seconds: float) -> None:
        return None

    return server.container.teams_notifier(sleep=no_sleep, jitter=lambda: 0.5)


@sqlite_only
async def test_an_update_puts_the_new_card_on_the_posted_activity(start_teams, connector):
    notifier = await notifier_for(start_teams, connector)

    posted = await notifier.send(delivery("Cost spike: day 1"))
    updated = await notifier.update(delivery("Cost spike: day 2"), posted)

    post, put = connector.calls
    assert (post.method, post.path) == ("POST", f"/v3/conversations/{CHANNEL}/activities")
    assert (put.method, put.path) == ("PUT", f"/v3/conversations/{CHANNEL}/activities/{posted}")
    assert put.activity_id == posted == updated
    assert put.body["id"] == posted
    [first, second] = connector.cards()  # both validate against the Adaptive Cards schema
    assert first["body"][0]["text"] == "Cost spike: day 1"
    assert second["body"][0]["text"] == "Cost spike: day 2"


@sqlite_only
async def test_an_activity_that_is_gone_is_posted_anew(start_teams, connector):
    notifier = await notifier_for(start_teams, connector)
    connector.fail_next(404)

    message_id = await notifier.update(delivery("Cost spike: day 2"), "act-deleted")

    put, post = connector.calls
    assert (put.method, post.method) == ("PUT", "POST")
    assert message_id and message_id != "act-deleted"
