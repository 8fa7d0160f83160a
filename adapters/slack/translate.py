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
from urllib.parse import parse_qsl

from adapters.slack.blocks import FORM_CHOICE_BLOCK, FORM_TEXT_BLOCK, core_action_id
from core.kernel.cards import ASK_CHOICE, ASK_TEXT
from core.kernel.context import Platform, Requester
from core.kernel.interaction import Interaction

#: Deepest nesting of lists and objects accepted in a payload (Slack's are a handful deep).
MAX_DEPTH = 64


def parse_body(body: str, content_type: str | None) -> dict[str, Any]:
    """The request body as bolt will read it (JSON, a form, or a form's `payload=` JSON);
    ValueError saying why when it is malformed — never anything else, whatever the input."""
    if not body:
        return {}
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base == "application/json" or body.startswith("{"):
        document = _json_object(body, "the JSON body")
        _check_shape(document)
        return document
    form = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in body:  # bolt's own test: then the payload field is the request
        payload = form.get("payload")
        document = _json_object(payload, "the payload field") if payload is not None else {}
        _check_shape(document)
        return document
    return form


#: Fields bolt reads as objects whenever they are present.
_OBJECT_FIELDS = ("user", "team", "channel", "container", "event", "view", "message", "enterprise")


def _check_shape(document: dict[str, Any]) -> None:
    """The parts of an interaction payload bolt indexes without checking."""
    for name in _OBJECT_FIELDS:
        if name in document and not isinstance(document[name], dict):
            raise ValueError(f"the payload's {name} is not an object")
    if document.get("type") in ("block_actions", "interactive_message"):
        actions = document.get("actions")
        if not isinstance(actions, list) or not actions:
            raise ValueError("the payload's actions are not a non-empty list")
        if not all(isinstance(action, dict) for action in actions):
            raise ValueError("the payload's actions are not objects")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply") from None
    except ValueError:
        raise ValueError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not a JSON object")
    if _depth(value) > MAX_DEPTH:
        raise ValueError(f"{what} is nested more than {MAX_DEPTH} levels deep")
    return value


def _depth(value: Any) -> int:
    """Nesting depth, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


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
