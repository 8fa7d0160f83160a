"""Approve / Dismiss / Snooze in Slack over real HTTP: the buttons on the card, Dismiss opening a
modal (views.open on the local fake Slack) that asks why, its submission deciding and updating
the message in place; a refusal answered privately."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

from slack_sdk.models.views import View

from adapters.slack.blocks import FORM_CALLBACK_ID, FORM_CHOICE_BLOCK, FORM_TEXT_BLOCK
from tests.adapters.slack.conftest import block_action_body, signed_headers
from tests.support.decisions import store_recs
from tests.support.slack_blocks import assert_valid_message


def buttons(message):
    return {
        element["text"]["text"]: (block["block_id"], element)
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


def submission_body(view: dict, values: dict, *, user_id: str = "U111") -> bytes:
    payload = {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user_id, "username": "ada", "name": "ada", "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-unused",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.1.{uuid.uuid4().hex}",
        "view": {
            "id": f"V{uuid.uuid4().hex[:8].upper()}",
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "state": {"values": values},
        },
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def card_with_buttons(server, engine):
    ids = store_recs(engine)
    await server.command(f"rec {ids['vm-web-1']}", answer_to="card")
    await server.bot.drain()
    [card] = server.fake.answers["card"]
    return ids, card


async def test_dismiss_opens_a_modal_that_asks_why_and_its_submission_updates_the_card(
    serve, sqlite_engine
):
    server = await serve(sqlite_engine, approval_roles=["approver=slack:T1:U111@*"])
    _ids, card = await card_with_buttons(server, sqlite_engine)
    assert_valid_message(card)
    assert {"Approve", "Dismiss", "Snooze"} <= set(buttons(card))
    block_id, dismiss = buttons(card)["Dismiss"]

    body = block_action_body(
        action_id=dismiss["action_id"],
        value=dismiss["value"],
        block_id=block_id,
        response_url=server.fake.response_url("press"),
    )
    assert (await server.post(body, signed_headers(body))).status == 200
    await server.bot.drain()

    [opened] = server.fake.views
    modal = opened["view"]
    View(**modal).validate_json()  # slack_sdk's own model of a modal
    assert modal["callback_id"] == FORM_CALLBACK_ID and modal["title"]["text"].startswith("Dismiss")
    assert [b["block_id"] for b in modal["blocks"]] == [FORM_TEXT_BLOCK]
    assert modal["blocks"][0]["optional"] is False
    assert server.fake.answers["press"] == []  # nothing decided yet

    values = {FORM_TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": "dev VM, keep"}}}
    body = submission_body(modal, values)
    response = await server.post(body, signed_headers(body))
    assert response.status == 200
    await server.bot.drain()

    [update] = server.fake.answers["press"]
    assert update["replace_original"] is True
    assert_valid_message(update)
    assert "Dismissed by ada on" in json.dumps(update) and "dev VM, keep" in json.dumps(update)


async def test_snooze_modal_offers_the_durations(serve, sqlite_engine):
    server = await serve(sqlite_engine, approval_roles=["approver=slack:T1:U111@*"])
    _ids, card = await card_with_buttons(server, sqlite_engine)
    block_id, snooze = buttons(card)["Snooze"]
    body = block_action_body(
        action_id=snooze["action_id"],
        value=snooze["value"],
        block_id=block_id,
        response_url=server.fake.response_url("press"),
    )
    await server.post(body, signed_headers(body))
    await server.bot.drain()
    modal = server.fake.views[0]["view"]
    View(**modal).validate_json()
    select = modal["blocks"][0]["element"]
    assert [o["value"] for o in select["options"]] == ["7", "14", "30", "60", "90"]
    values = {
        FORM_CHOICE_BLOCK: {"choice": {"selected_option": {"value": "14"}}},
        FORM_TEXT_BLOCK: {"text": {"value": "after the freeze"}},
    }
    body = submission_body(modal, values)
    await server.post(body, signed_headers(body))
    await server.bot.drain()
    [update] = server.fake.answers["press"]
    assert "until 2026-12-11" in json.dumps(update)


async def test_a_press_by_someone_without_the_role_is_refused_privately(serve, sqlite_engine):
    server = await serve(sqlite_engine)  # no approval roles: deciding is denied
    _ids, card = await card_with_buttons(server, sqlite_engine)
    block_id, approve = buttons(card)["Approve"]
    body = block_action_body(
        action_id=approve["action_id"],
        value=approve["value"],
        block_id=block_id,
        response_url=server.fake.response_url("press"),
    )
    await server.post(body, signed_headers(body))
    await server.bot.drain()
    [answer] = server.fake.answers["press"]
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "not allowed to approve" in json.dumps(answer)
