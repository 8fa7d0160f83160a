"""Slack payloads → the core's neutral `Interaction`. Pure functions; no I/O.

A slash command's delivery id is its trigger id (a redelivery carries the same one); a button's
is the rendered button itself — channel, message, block (whose id carries a per-rendering
nonce), action and value — so one rendered button acts once, however many times it is clicked
or its payload delivered. The kernel claims them (`core.kernel.interaction.claim_keys`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from adapters.slack.blocks import FORM_CHOICE_BLOCK, FORM_TEXT_BLOCK, core_action_id
from core.kernel.cards import ASK_CHOICE, ASK_TEXT
from core.kernel.context import Platform, Requester
from core.kernel.interaction import Interaction


def command_interaction(body: Mapping[str, Any]) -> Interaction:
    """A `/optima …` slash command."""
    requester = Requester(
        platform=Platform.SLACK,
        user_id=str(body.get("user_id", "")),
        user_name=str(body.get("user_name", "")),
        conversation_id=str(body.get("channel_id", "")),
        workspace_id=str(body.get("team_id", "")),
    )
    delivery_id = str(body.get("trigger_id") or body.get("response_url") or "")
    return Interaction.command(requester, str(body.get("text", "")), delivery_id)


def action_interaction(body: Mapping[str, Any]) -> Interaction | None:
    """The first button of a `block_actions` payload; None when it carries no action."""
    actions = body.get("actions") or []
    if not actions:
        return None
    action = actions[0]
    user = body.get("user") or {}
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
    team = (body.get("team") or {}).get("id") or user.get("team_id", "")
    requester = Requester(
        platform=Platform.SLACK,
        user_id=str(user.get("id", "")),
        user_name=str(user.get("username") or user.get("name") or ""),
        conversation_id=str(channel),
        workspace_id=str(team),
    )
    message_ts = container.get("message_ts") or action.get("action_ts", "")
    slack_action_id = str(action.get("action_id", ""))
    value = str(action.get("value", ""))
    rendered_button = "\x1f".join(
        str(part)
        for part in (channel, message_ts, action.get("block_id", ""), slack_action_id, value)
    )
    return Interaction.button(requester, core_action_id(slack_action_id), value, rendered_button)


def form_metadata(interaction: Interaction, response_url: str) -> str:
    """What a modal carries back to its submission: the press it completes, and where to
    answer (the pressed message's response URL)."""
    assert interaction.press is not None
    return json.dumps(
        {
            "a": interaction.press.action_id,
            "v": interaction.press.value,
            "c": interaction.requester.conversation_id,
            "r": response_url,
        },
        separators=(",", ":"),
    )


def submission_interaction(body: Mapping[str, Any]) -> tuple[Interaction, str] | None:
    """A modal's `view_submission` → the press it completes, with its inputs, and the response
    URL to answer on; None when the view is not one of ours."""
    view = body.get("view") or {}
    try:
        meta = json.loads(view.get("private_metadata") or "")
    except ValueError:
        return None
    if not isinstance(meta, dict) or not meta.get("a"):
        return None
    values = (view.get("state") or {}).get("values") or {}
    inputs: dict[str, str] = {}
    text = (values.get(FORM_TEXT_BLOCK) or {}).get("text") or {}
    if text.get("value"):
        inputs[ASK_TEXT] = str(text["value"])
    choice = ((values.get(FORM_CHOICE_BLOCK) or {}).get("choice") or {}).get("selected_option")
    if isinstance(choice, dict) and choice.get("value"):
        inputs[ASK_CHOICE] = str(choice["value"])
    user = body.get("user") or {}
    team = (body.get("team") or {}).get("id") or user.get("team_id", "")
    requester = Requester(
        platform=Platform.SLACK,
        user_id=str(user.get("id", "")),
        user_name=str(user.get("username") or user.get("name") or ""),
        conversation_id=str(meta.get("c", "")),
        workspace_id=str(team),
    )
    # One submission of one view acts once (Slack retries a submission with the same view id).
    delivery = f"view:{view.get('id', '')}"
    interaction = Interaction.button(
        requester, str(meta["a"]), str(meta.get("v", "")), delivery, inputs=inputs
    )
    return interaction, str(meta.get("r", ""))


def plain_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items()}
