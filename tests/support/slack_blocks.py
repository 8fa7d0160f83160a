"""Check a Slack message payload against Block Kit's rules, with slack_sdk's own block models."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

# Slack's documented limits (/work/shared/chat/REFERENCE.md), written out rather than read from
# the renderer: a renderer that raised its own limit must fail here. slack_sdk's models check
# the rest (section text, header, buttons, ids).
MAX_BLOCKS = 50
MAX_TEXT = 40_000
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 2000
MAX_BUTTON_VALUE = 2000


def assert_valid_message(payload: dict[str, Any]) -> None:
    """Every block parses, validates and round-trips through slack_sdk; message limits hold."""
    text = payload.get("text")
    assert isinstance(text, str) and text.strip(), "a message always carries a text fallback"
    assert len(text) <= MAX_TEXT
    blocks = payload["blocks"]
    assert 0 < len(blocks) <= MAX_BLOCKS, f"{len(blocks)} blocks"
    action_ids: list[str] = []
    block_ids: list[str] = []
    tables = [raw for raw in blocks if raw["type"] == "table"]
    assert len(tables) <= 1, "Slack allows one table block per message"
    for table in tables:
        assert 0 < len(table["rows"]) <= 100, "a table block has at most 100 rows"
        assert len(table.get("column_settings", [])) <= 20
        for row in table["rows"]:
            assert 0 < len(row) <= 20, "a table row has at most 20 cells"
            for cell in row:
                assert cell["type"] == "raw_text" and cell["text"].strip(), cell
    for raw in blocks:
        model = Block.parse(raw)
        assert model is not None, f"unknown block {raw}"
        model.validate_json()  # raises SlackObjectFormationError on any limit
        assert model.to_dict() == raw, f"slack_sdk does not read this block as written: {raw}"
        if "block_id" in raw:
            block_ids.append(raw["block_id"])
        if raw["type"] == "section":
            for field in raw.get("fields", []):
                assert len(field["text"]) <= MAX_FIELD_TEXT
        if raw["type"] == "context":
            assert len(raw["elements"]) <= MAX_CONTEXT_ELEMENTS
            for element in raw["elements"]:
                assert len(element["text"]) <= MAX_CONTEXT_TEXT
        if raw["type"] == "actions":
            for element in raw["elements"]:
                action_ids.append(element["action_id"])
                assert len(element.get("value", "")) <= MAX_BUTTON_VALUE
        for text in _texts(raw):
            assert text.strip(), f"Slack refuses empty text: {raw}"
    assert len(action_ids) == len(set(action_ids)), "action ids must be unique in a message"
    assert len(block_ids) == len(set(block_ids)), "block ids must be unique in a message"


def _texts(node: Any) -> list[str]:
    """Every `text` of a text object (plain_text / mrkdwn) inside a block."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            found.extend(_texts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_texts(item))
    return found
