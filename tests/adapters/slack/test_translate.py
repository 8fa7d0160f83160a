"""Slack payloads become the core's neutral interaction: who, where, what, and the identity of
the delivery the kernel claims. Pure functions, tested without a server."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from adapters.slack.translate import action_interaction, command_interaction
from core.kernel.context import Platform
from tests.adapters.slack.conftest import block_action_body, slash_body


def form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode()))


def test_a_slash_command_is_identified_by_its_trigger_id():
    body = form(slash_body("costs 7d --public", "https://hooks.slack.test/r1"))
    interaction = command_interaction(body)
    who = interaction.requester
    assert (who.platform, who.user_id, who.workspace_id, who.conversation_id) == (
        Platform.SLACK,
        "U111",
        "T1",
        "C111",
    )
    assert interaction.text == "costs 7d --public" and interaction.press is None
    assert interaction.delivery_ids == (body["trigger_id"],)


def test_a_button_is_identified_by_the_rendered_button_it_was():
    raw = block_action_body(
        action_id="costs.drilldown#2", value="costs 7d by location", response_url="https://r"
    )
    payload = json.loads(form(raw)["payload"])
    interaction = action_interaction(payload)
    assert interaction is not None and interaction.press is not None
    assert interaction.press.action_id == "costs.drilldown"  # Slack's index suffix dropped
    assert interaction.press.value == "costs 7d by location"
    # Another rendering of the same button (a new block id nonce) is another identity.
    again = json.loads(
        form(
            block_action_body(
                action_id="costs.drilldown#2",
                value="costs 7d by location",
                response_url="https://r",
                block_id="n2.actions.0",
            )
        )["payload"]
    )
    other = action_interaction(again)
    assert other is not None and other.delivery_ids != interaction.delivery_ids


def test_a_block_action_without_actions_is_nothing_to_run():
    assert action_interaction({"type": "block_actions", "actions": []}) is None
