"""Buttons over real HTTP: drill-down updates the message in place, once, for allowed people."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from core.kernel.context import CoreConfig
from tests.adapters.slack.conftest import block_action_body, seed_costs, signed_headers
from tests.support.slack_blocks import assert_valid_message


@pytest.fixture
async def costs_answer(server, clock):
    """A private `/optima costs 30d` answer, as Slack would show it (with its buttons)."""
    await seed_costs(
        server.container.engine, clock, first=date(2026, 10, 1), last=date(2026, 11, 26)
    )
    await server.command("costs 30d", answer_to="command")
    await server.bot.drain()
    [answer] = server.fake.answers["command"]
    return answer


def buttons(message):
    return [
        (block["block_id"], element)
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


async def click(server, block_id, button, *, answer_to="click", user_id="U111"):
    body = block_action_body(
        action_id=button["action_id"],
        value=button["value"],
        block_id=block_id,
        response_url=server.fake.response_url(answer_to),
        user_id=user_id,
    )
    response = await server.post(body, signed_headers(body))
    assert response.status == 200
    return response


async def test_drilldown_replaces_the_message_and_says_who_asked(server, costs_answer):
    block_id, button = next(
        (b, e) for b, e in buttons(costs_answer) if e["text"]["text"] == "By resource-group"
    )

    await click(server, block_id, button)
    await server.bot.drain()

    [update] = server.fake.answers["click"]
    assert update["replace_original"] is True
    assert update["blocks"][0]["text"]["text"].startswith("Costs by resource-group")
    # Who asked, just above the buttons (they stay last).
    assert "Drill-down requested by ada" in str(update["blocks"][-3:])
    assert update["blocks"][-1]["type"] == "actions"
    assert_valid_message(update)
    new_block_ids = {b for b, _ in buttons(update)}
    assert block_id not in new_block_ids, "the updated message's buttons are a new generation"


async def test_double_click_has_the_effect_of_one(server, costs_answer):
    block_id, button = buttons(costs_answer)[0]

    await asyncio.gather(click(server, block_id, button), click(server, block_id, button))
    await click(server, block_id, button)
    await server.bot.drain()

    assert len(server.fake.answers["click"]) == 1


async def test_each_button_of_a_message_acts_once(server, costs_answer):
    (first_block, first), (second_block, second) = buttons(costs_answer)[:2]

    await click(server, first_block, first, answer_to="a")
    await click(server, second_block, second, answer_to="b")
    await server.bot.drain()

    assert len(server.fake.answers["a"]) == len(server.fake.answers["b"]) == 1


async def test_button_on_the_updated_message_works_again(server, costs_answer):
    block_id, button = buttons(costs_answer)[0]
    await click(server, block_id, button, answer_to="first")
    await server.bot.drain()
    [update] = server.fake.answers["first"]

    new_block_id, new_button = buttons(update)[0]
    await click(server, new_block_id, new_button, answer_to="second")
    await server.bot.drain()

    assert len(server.fake.answers["second"]) == 1
    assert server.fake.answers["second"][0]["replace_original"] is True


async def test_user_without_permission_gets_a_private_refusal_and_the_message_stays(
    server, costs_answer
):
    block_id, button = buttons(costs_answer)[0]
    server.container.core.config = CoreConfig(viewers=frozenset({"slack:U999"}))

    await click(server, block_id, button, user_id="U222")
    await server.bot.drain()

    [refusal] = server.fake.answers["click"]
    assert refusal["response_type"] == "ephemeral"
    assert refusal["replace_original"] is False
    assert "not allowed" in refusal["text"]
    assert "slack:T1:U222" in str(refusal["blocks"])


async def test_button_of_an_unknown_action_answers_privately_that_it_expired(server):
    body = block_action_body(
        action_id="budget.retired#0", value="x", response_url=server.fake.response_url("click")
    )
    await server.post(body, signed_headers(body))
    await server.bot.drain()

    [answer] = server.fake.answers["click"]
    assert answer["response_type"] == "ephemeral"
    assert "no longer works" in str(answer["blocks"])
