"""The token check on /api/messages, over real HTTP, with keys served by a local OpenID provider."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.teams import OUTBOUND_TOKEN, message, sqlite_only

pytestmark = sqlite_only  # token checks touch no database


async def test_a_token_signed_by_the_published_key_is_accepted(start_teams, connector, identity):
    server = await start_teams(auth="app_id", identity=identity)

    status, _ = await server.post(
        message("help", connector.url), token=identity.token(connector.url)
    )

    assert status == 202
    [reply] = connector.posts()
    # Replies carry the bot's own outbound token (faked: no Entra here).
    assert reply.authorization == f"Bearer {OUTBOUND_TOKEN}"
    assert identity.jwks_requests == 1


async def test_missing_token_is_refused(start_teams, connector, identity):
    server = await start_teams(auth="app_id", identity=identity)

    status, body = await server.post(message("help", connector.url))

    assert status == 401
    assert "Authorization header missing" in body["error"]
    assert connector.calls == []


@pytest.mark.parametrize(
    ("case", "claims"),
    [
        ("wrong audience", {"aud": "another-bot-app-id"}),
        ("wrong issuer", {"iss": "https://attacker.example.com"}),
        ("expired", {"exp": int(time.time()) - 3600, "nbf": int(time.time()) - 7200}),
        ("not yet valid", {"nbf": int(time.time()) + 3600}),
        ("no expiry", {"exp": None}),
    ],
)
async def test_tokens_with_bad_claims_are_refused(start_teams, connector, identity, case, claims):
    server = await start_teams(auth="app_id", identity=identity)

    status, body = await server.post(
        message("help", connector.url), token=identity.token(connector.url, **claims)
    )

    assert status == 401, case
    assert body == {"error": "Invalid token or authentication failed."}
    assert connector.calls == []


async def test_a_token_signed_by_another_key_is_refused(start_teams, connector, identity):
    server = await start_teams(auth="app_id", identity=identity)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    status, _ = await server.post(
        message("help", connector.url), token=identity.token(connector.url, key=forger)
    )

    assert status == 401
    assert connector.calls == []


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer not.a.jwt", "Bearer a b"])
async def test_malformed_authorization_headers_are_refused(
    start_teams, connector, identity, header
):
    server = await start_teams(auth="app_id", identity=identity)
    async with server.session.post(
        f"{server.url}api/messages",
        json=message("help", connector.url),
        headers={"Authorization": header},
    ) as response:
        assert response.status == 401
        assert "Traceback" not in await response.text()


async def test_a_token_for_another_service_url_is_refused(start_teams, connector, identity):
    server = await start_teams(auth="app_id", identity=identity)
    token = identity.token("https://smba.trafficmanager.net/emea/")

    status, body = await server.post(message("help", connector.url), token=token)

    assert status == 401
    assert body == {"error": "The token does not allow this serviceUrl."}
    assert connector.calls == []


async def test_a_bot_framework_token_without_service_url_claim_is_refused(
    start_teams, connector, identity
):
    server = await start_teams(auth="app_id", identity=identity)

    status, _ = await server.post(
        message("help", connector.url), token=identity.token(connector.url, serviceurl=None)
    )

    assert status == 401


async def test_health_and_metrics_need_no_token(start_teams, identity):
    server = await start_teams(auth="app_id", identity=identity)

    assert await server.get("/healthz") == 200
    assert await server.get("/readyz") == 200
    assert await server.get("/metrics") == 200


async def test_a_valid_token_with_a_broken_body_gets_a_400_without_details(
    start_teams, connector, identity
):
    server = await start_teams(auth="app_id", identity=identity)
    token = identity.token(connector.url)

    status, body = await server.post({}, token=token, raw=b"{not json")
    assert (status, body) == (400, {"error": "The body must be a Bot Framework activity (JSON)."})

    status, body = await server.post({"type": "message"}, token=token)
    assert (status, body) == (400, {"error": "The activity needs a type and a conversation id."})


async def test_anonymous_mode_accepts_requests_without_a_token(start_teams, connector):
    server = await start_teams(auth="anonymous")

    status, _ = await server.post(message("help", connector.url))

    assert status == 202
    assert [c.authorization for c in connector.posts()] == [None]


async def test_no_teams_settings_means_no_teams_endpoint(start_teams, connector):
    server = await start_teams(auth="anonymous", teams_anonymous=False)

    status, _ = await server.post(message("help", connector.url))

    assert status == 404  # not 401: nothing is mounted, nothing else is guarded
