"""/api/messages never answers 500 for what a client (or the deployment's credentials) got
wrong: malformed bodies are 400s, and a turn that cannot get an outbound token is acknowledged
and logged once, with what to check."""

from __future__ import annotations

import json
import logging

import pytest

from tests.support.teams import FakeConnections, message, sqlite_only

pytestmark = sqlite_only
DEEP = 50_000


class NoTokenConnections(FakeConnections):
    """What MSAL does with a wrong client secret: every token request fails."""

    def __init__(self) -> None:
        super().__init__()

        async def refuse(*_args, **_kwargs):
            raise ValueError(
                "Failed to acquire token. {'error': 'invalid_client', 'error_description': "
                "'AADSTS7000215: Invalid client secret provided.'}"
            )

        self.provider.get_access_token = refuse  # type: ignore[method-assign]


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * DEEP + b"]" * DEEP,
        b'{"a":' * DEEP + b"1" + b"}" * DEEP,
        b"\xff\xfe",
        b'{"type": "message", "conversation": ',
    ],
    ids=["deep list", "deep object", "not UTF-8", "broken JSON"],
)
async def test_a_malformed_body_is_a_400(start_teams, identity, connector, raw, caplog):
    server = await start_teams(auth="token", identity=identity)
    with caplog.at_level(logging.DEBUG):
        status, body = await server.post({}, token=identity.token(connector.url), raw=raw)
    assert status == 400, body
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_turn_without_an_outbound_token_is_acknowledged_and_logged_once(
    start_teams, identity, connector, caplog
):
    server = await start_teams(auth="token", identity=identity, connections=NoTokenConnections())
    with caplog.at_level(logging.DEBUG):
        status, _ = await server.post(
            message("help", connector.url), token=identity.token(connector.url)
        )
    assert status == 202
    assert connector.posts() == []
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    [line] = problems
    text = line.getMessage()
    assert "AADSTS7000215" in text and "CLOUDOPTIMA_TEAMS_APP_ID" in text
    assert line.exc_info is None


async def test_the_request_id_reaches_the_connector_calls_and_the_answer(
    start_teams, identity, connector
):
    server = await start_teams(auth="token", identity=identity)
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {identity.token(connector.url)}",
        "X-Request-ID": "req-teams-42",
    }
    body = json.dumps(message("help", connector.url)).encode()
    async with server.session.post(f"{server.url}api/messages", data=body, headers=headers) as r:
        assert r.status == 202
        assert r.headers["X-Request-ID"] == "req-teams-42"
    [reply] = connector.posts()
    assert reply.request_id == "req-teams-42"
