"""manifest.yml parses, points Slack at our route and grants every scope the code needs."""

from __future__ import annotations

import re

import pytest
import yaml

from adapters.slack.app import COMMAND_PATTERN, EVENTS_PATH
from adapters.slack.client import INBOUND_SCOPES, SCOPES_BY_METHOD
from tests.support.paths import REPO

ROOT = REPO
# Web API calls look like `client.chat_postMessage(` in the adapter's source.
_API_CALL = re.compile(
    r"\.((?:auth|chat|conversations|files|users|views|reactions|pins|apps)_\w+)\("
)


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))


def test_manifest_has_every_section_slack_requires(manifest):
    assert manifest["display_information"]["name"]
    assert len(manifest["display_information"]["description"]) <= 140
    assert 175 <= len(manifest["display_information"]["long_description"]) <= 4000
    assert manifest["features"]["bot_user"]["display_name"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is False


def test_slash_command_and_interactivity_reach_the_events_route(manifest):
    [command] = manifest["features"]["slash_commands"]
    assert COMMAND_PATTERN.match(command["command"])
    assert command["description"] and command["usage_hint"]
    assert command["url"].startswith("https://") and command["url"].endswith(EVENTS_PATH)
    assert manifest["settings"]["interactivity"]["request_url"] == command["url"]


def test_every_web_api_method_the_adapter_calls_has_its_scope_in_the_manifest(manifest):
    source = "\n".join(p.read_text() for p in (ROOT / "adapters" / "slack").glob("*.py"))
    called = set(_API_CALL.findall(source))
    granted = set(manifest["oauth_config"]["scopes"]["bot"])

    assert called, "the scan found no Web API calls: the pattern is wrong"
    assert called <= set(SCOPES_BY_METHOD), f"scopes unknown for {called - set(SCOPES_BY_METHOD)}"
    needed = {scope for method in called for scope in SCOPES_BY_METHOD[method]}
    assert needed | set(INBOUND_SCOPES) <= granted
    assert {"commands", "chat:write", "files:write"} <= granted
