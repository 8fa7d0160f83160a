"""From a Teams channel to a budget alert back in it: `budget create` in the channel makes the
channel a target and assesses it at once, queueing the alert its crossed thresholds are due;
the dispatcher posts it through the Teams notifier to the stored conversation (at the local Bot
Connector)."""

from __future__ import annotations

from core.budgets.evaluate import evaluate_budgets
from core.delivery.dispatcher import DispatchConfig, Dispatcher, outbox_counts
from core.delivery.targets import TargetKind
from tests.support.teams import (
    BOT,
    CONVERSATIONS,
    assert_valid_card,
    conversation_update,
    message,
    seed_costs,
    texts,
)

CHANNEL = CONVERSATIONS["channel"]["id"]


async def test_a_budget_created_in_a_channel_alerts_that_channel(
    start_teams, connector, engine, clock
):
    server = await start_teams()
    await seed_costs(engine, clock)
    status, _ = await server.post(conversation_update(connector.url, scope="channel", added=[BOT]))
    assert status in (200, 201, 202)

    status, _ = await server.post(
        message("budget create teams-prod 200 thresholds 50,80", connector.url, scope="channel")
    )
    assert status in (200, 201, 202)
    created = connector.calls[-1].body["attachments"][0]["content"]
    assert any("teams-prod" in text for text in texts(created))
    assert any("crossed" in text and "alert queued" in text for text in texts(created))
    connector.calls.clear()

    summary = evaluate_budgets(engine, clock)  # the scheduled pass: nothing left to claim
    assert summary.alerts_claimed == 0 and summary.thresholds_crossed >= 1

    async def no_wait(_seconds: float) -> None:
        return None

    notifier = server.container.teams_notifier(sleep=no_wait)
    outcomes = await Dispatcher(
        engine, {TargetKind.TEAMS: notifier}, clock, DispatchConfig()
    ).dispatch_until_idle()

    assert outcomes == ["sent"]  # several thresholds crossed at once: one message, the highest
    [call] = connector.calls
    assert (call.method, call.path) == ("POST", f"/v3/conversations/{CHANNEL}/activities")
    alert = call.body["attachments"][0]["content"]
    assert_valid_card(alert)
    assert any("teams-prod" in text for text in texts(alert))
    assert outbox_counts(engine).get("sent") == 1
