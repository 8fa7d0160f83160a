"""A client's mistake is never a 500: too large → 413, cut off → 400 (logged at debug, no
traceback), signed but malformed → 400; never exception text in an answer."""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import urlencode

import pytest

from tests.adapters.slack.conftest import signed_headers, slash_body

DEEP = 50_000


def form(**fields: str) -> bytes:
    return urlencode(fields).encode()


MALFORMED = {
    "payload is broken JSON": form(payload='{"type": "block_actions", '),
    "payload is a list": form(payload="[1, 2, 3]"),
    "payload is a string": form(payload='"block_actions"'),
    "payload is a number": form(payload="42"),
    "payload nested 50,000 deep": form(payload="[" * DEEP + "]" * DEEP),
    "payload object nested 50,000 deep": form(payload='{"a":' * DEEP + "1" + "}" * DEEP),
    "payload nested 65 deep": form(payload='{"a":' * 65 + "1" + "}" * 65),
    "not UTF-8": b"payload=\xff\xfe",
}
#: Well-formed, but nothing Slack sends to a slash command app: bolt's 404.
UNHANDLED = {
    "payload without a type": form(payload='{"user": {"id": "U1"}}'),
    "payload of an unknown type": form(payload='{"type": "nonsense", "user": {"id": "U1"}}'),
    "empty body": b"",
    "form without a command": form(text="costs"),
}


@pytest.mark.parametrize("case", UNHANDLED)
async def test_a_signed_request_nobody_handles_is_a_4xx(server, case, caplog):
    body = UNHANDLED[case]
    with caplog.at_level(logging.DEBUG):
        response = await server.post(body, signed_headers(body))
    assert 400 <= response.status < 500
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("case", MALFORMED)
async def test_a_signed_malformed_body_is_a_400(server, case, caplog):
    body = MALFORMED[case]
    with caplog.at_level(logging.DEBUG):
        response = await server.post(body, signed_headers(body))
        text = await response.text()
    assert response.status == 400, (case, response.status, text)
    assert "Error" not in text and "Traceback" not in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


JSON_CASES = {
    "broken JSON": b'{"type": "event_callback", ',
    "a JSON list": b"[1, 2]",
    "JSON content type on a form body": slash_body("costs", "https://hooks.slack.com/x"),
    "JSON nested 50,000 deep": b"[" * DEEP + b"]" * DEEP,
}


@pytest.mark.parametrize("case", JSON_CASES)
async def test_a_signed_malformed_json_body_is_a_400(server, case, caplog):
    body = JSON_CASES[case]
    headers = {**signed_headers(body), "Content-Type": "application/json"}
    with caplog.at_level(logging.DEBUG):
        response = await server.post(body, headers)
        text = await response.text()
    assert response.status == 400, (case, response.status, text)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_body_over_the_limit_is_a_413(server):
    body = b"text=" + b"x" * (2 * 1024**2)
    response = await server.post(body, signed_headers(body))
    assert response.status == 413


async def test_a_body_cut_off_by_the_client_is_a_debug_line_not_an_error(server, caplog):
    host, port = server.url.removeprefix("http://").split(":")
    with caplog.at_level(logging.DEBUG):
        _reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\ncommand=%2Foptima&te"
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        for _ in range(100):  # the server notices the disconnect shortly after
            await asyncio.sleep(0.02)
            if any("cut off" in r.getMessage() for r in caplog.records):
                break
    assert any("cut off" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in caplog.records if r.exc_info]


def test_parse_body_says_what_is_wrong_and_accepts_what_slack_sends():
    from adapters.slack.translate import parse_body

    assert parse_body("command=%2Foptima&text=costs", None)["text"] == "costs"
    press = {"type": "block_actions", "actions": [{"action_id": "costs.drill"}]}
    assert parse_body(form(payload=json.dumps(press)).decode(), None) == press
    for body, why in (
        ('{"a": 1', "not valid JSON"),
        ("[" * DEEP + "]" * DEEP, "nested too deeply"),
        ("[1, 2]", "not a JSON object"),
        ('{"type": "block_actions", "actions": []}', "not a non-empty list"),
        ('{"type": "block_actions", "user": "U1", "actions": [{}]}', "user is not an object"),
        ('{"a":' * DEEP + "1" + "}" * DEEP, "nested too deeply"),
    ):
        with pytest.raises(ValueError, match=why):
            parse_body(body, "application/json")
