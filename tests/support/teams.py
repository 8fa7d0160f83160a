"""Fakes for Teams over real HTTP (a local Bot Connector, a local OpenID provider, outbound token
stubs) and activity builders shaped like Teams' payloads."""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from microsoft_agents.hosting.core import (
    AccessTokenProviderBase,
    AgentAuthConfiguration,
    AnonymousTokenProvider,
    ClaimsIdentity,
    Connections,
)

from core.kernel.service import CloudOptima
from tests.support.fakes import ingest_sample_costs

APP_ID = "3f1c9a52-7d4e-4b8a-9c61-0a2b3c4d5e6f"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
BOT = {"id": f"28:{APP_ID}", "name": "CloudOptima"}
ANN = {"id": "29:ann-teams-id", "name": "Ann Admin", "aadObjectId": "aad-ann"}
BOB = {"id": "29:bob-teams-id", "name": "Bob Viewer", "aadObjectId": "aad-bob"}
OUTBOUND_TOKEN = "test-outbound-token"
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
CONVERSATIONS = {
    "personal": {"id": "a:1personal-chat-with-ann", "conversationType": "personal"},
    "groupChat": {"id": "19:group-chat-1@thread.v2", "conversationType": "groupChat"},
    "channel": {"id": "19:finops-channel@thread.tacv2", "conversationType": "channel"},
}


SCHEMA = Path(__file__).parent / "schema" / "adaptive-card-1.5.json"


@cache
def validator() -> jsonschema.Draft6Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft6Validator.check_schema(schema)
    return jsonschema.Draft6Validator(schema)


def assert_valid_card(card_json: dict) -> None:
    """The card validates against the Adaptive Cards 1.5 schema (all errors listed if not)."""
    errors = sorted(validator().iter_errors(card_json), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors)
    assert card_json["version"] == "1.5"


#: For tests whose database work is covered on both databases elsewhere: SQLite only (a
#: PostgreSQL database per test costs seconds).
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def serve(app: web.Application) -> TestServer:
    """`app` on 127.0.0.1, a free port; `await server.close()` when done."""
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    return server


# -- fakes ----------------------------------------------------------------------------------------


@dataclass
class ConnectorCall:
    method: str
    path: str
    conversation_id: str
    activity_id: str | None
    body: dict[str, Any]
    authorization: str | None
    #: The `X-Request-ID` the bot sent with the call.
    request_id: str | None = None
    #: What the connector answered: its status, and the activity id when it accepted.
    status: int = 200
    answered_id: str | None = None


@dataclass
class FakeBotConnector:
    """The Bot Connector REST API on 127.0.0.1: records every call, answers with canned ids, and
    can be told to fail the next calls with a status (and headers). Posts to a conversation in
    `removed` get Teams' 403 for a bot that is no longer a member."""

    calls: list[ConnectorCall] = field(default_factory=list)
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)
    url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def fail_next(self, status: int, headers: dict[str, str] | None = None, times: int = 1) -> None:
        self.failures.extend([(status, headers or {})] * times)

    def posts(self) -> list[ConnectorCall]:
        return [c for c in self.calls if c.method == "POST"]

    def cards(self) -> list[dict[str, Any]]:
        """Adaptive cards of the delivered messages, in order (each checked against the schema)."""
        cards = [
            a["content"]
            for c in self.calls
            if c.method in ("POST", "PUT")
            for a in c.body.get("attachments") or []
        ]
        for card in cards:
            assert_valid_card(card)
        return cards

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        call = ConnectorCall(
            method=request.method,
            path=request.path,
            conversation_id=unquote(request.match_info.get("conversation_id", "")),
            activity_id=request.match_info.get("activity_id"),
            body=body,
            authorization=request.headers.get("Authorization"),
            request_id=request.headers.get("X-Request-ID"),
        )
        self.calls.append(call)
        if call.conversation_id in self.removed:
            call.status = 403
            return web.json_response(
                {"error": {"code": "BotNotInConversationRoster", "message": "removed"}},
                status=403,
            )
        if self.failures:
            status, headers = self.failures.pop(0)
            call.status = status
            return web.json_response(
                {"error": {"code": "Failure", "message": "scripted"}},
                status=status,
                headers=headers,
            )
        if request.path == "/v3/conversations":
            call.status, call.answered_id = 201, "a:new-conversation"
            return web.json_response({"id": "a:new-conversation", "activityId": "1"}, status=201)
        call.answered_id = request.match_info.get("activity_id") or f"act-{next(self._ids)}"
        return web.json_response({"id": call.answered_id})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._handle)
        app.router.add_post("/v3/conversations/{conversation_id}/activities", self._handle)
        app.router.add_post(
            "/v3/conversations/{conversation_id}/activities/{activity_id}", self._handle
        )
        app.router.add_put(
            "/v3/conversations/{conversation_id}/activities/{activity_id}", self._handle
        )
        return app


class FakeIdentityProvider:
    """An OpenID Connect document and its JWKS on 127.0.0.1, and tokens signed with its key."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "cloudoptima-test-key"
        self.url = ""
        self.jwks_requests = 0

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def app(self) -> web.Application:
        async def metadata(_request: web.Request) -> web.Response:
            return web.json_response(
                {"issuer": BOT_FRAMEWORK_ISSUER, "jwks_uri": f"{self.url}/keys"}
            )

        async def keys(_request: web.Request) -> web.Response:
            self.jwks_requests += 1
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
            return web.json_response({"keys": [jwk]})

        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", metadata)
        app.router.add_get("/keys", keys)
        return app

    def token(self, service_url: str, *, key: Any = None, **claims: Any) -> str:
        """A Bot Framework channel token; `claims` override or (with None) drop defaults."""
        now = int(time.time())
        payload = {
            "iss": BOT_FRAMEWORK_ISSUER,
            "aud": APP_ID,
            "serviceurl": service_url,
            "nbf": now - 60,
            "iat": now - 60,
            "exp": now + 3600,
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": self.kid})


class FakeTokenProvider(AccessTokenProviderBase):
    """Outbound tokens without Entra: every call gets the same fake token."""

    def __init__(self, configuration: AgentAuthConfiguration) -> None:
        self._configuration = configuration
        self.requests = 0

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._configuration

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        self.requests += 1
        return OUTBOUND_TOKEN

    def get_token_credential(self) -> Any:
        return AnonymousTokenProvider().get_token_credential()


class FakeConnections(Connections):
    """The SDK's `Connections` with the fake token provider (the SDK asks for an outbound token
    for every non-anonymous turn, proactive ones included)."""

    def __init__(self) -> None:
        self.configuration = AgentAuthConfiguration(client_id=APP_ID, tenant_id=TENANT_ID)
        self.provider = FakeTokenProvider(self.configuration)

    def get_connection(self, connection_name: str) -> AccessTokenProviderBase:
        return self.provider

    def get_default_connection(self) -> AccessTokenProviderBase:
        return self.provider

    def get_token_provider(
        self, claims_identity: ClaimsIdentity, service_url: str
    ) -> AccessTokenProviderBase:
        return self.provider

    def get_token_provider_from_activity(
        self, claims_identity: ClaimsIdentity, activity: Any
    ) -> AccessTokenProviderBase:
        return self.provider

    def get_default_connection_configuration(self) -> AgentAuthConfiguration:
        return self.configuration


class CountingCloudOptima(CloudOptima):
    """The real core, counting the actions it runs (to show a repeated press runs once)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actions: list[tuple[str, str, str]] = []

    def handle(self, interaction: Any) -> Any:
        reply = super().handle(interaction)
        press = interaction.press
        if press is not None and reply is not None:  # None: a repeat, nothing ran
            self.actions.append((press.action_id, press.value, interaction.requester.principal))
        return reply


TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def fake_drawer(_chart: Any, _width: int, _height: int) -> bytes:
    """A fixed 1x1 PNG: golden files and fast tests do not depend on matplotlib's output."""
    return TINY_PNG


# -- data -----------------------------------------------------------------------------------------


async def seed_costs(engine, clock) -> None:
    """Two months of daily costs before the fixed 'today' (2026-11-27)."""
    today = clock.now().date()
    await ingest_sample_costs(engine, clock, today - timedelta(days=68), today - timedelta(days=1))


# -- activities -----------------------------------------------------------------------------------


def _conversation(scope: str) -> dict[str, Any]:
    conversation = dict(CONVERSATIONS[scope], tenantId=TENANT_ID)
    if scope != "personal":
        conversation["isGroup"] = True
    return conversation


def _channel_data(scope: str) -> dict[str, Any]:
    data: dict[str, Any] = {"tenant": {"id": TENANT_ID}}
    if scope == "channel":
        data["team"] = {"id": "19:team-general@thread.tacv2", "name": "FinOps"}
        data["channel"] = {"id": CONVERSATIONS["channel"]["id"], "name": "costs"}
    return data


def _activity(
    kind: str, service_url: str, scope: str, sender: dict[str, str], activity_id: str | None
) -> dict[str, Any]:
    """The envelope every Teams activity shares."""
    return {
        "type": kind,
        "id": activity_id or f"f:{uuid.uuid4().hex}",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": sender,
        "recipient": BOT,
        "conversation": _conversation(scope),
        "channelData": _channel_data(scope),
    }


def message(
    text: str,
    service_url: str,
    *,
    scope: str = "personal",
    sender: dict[str, str] = ANN,
    mention: bool | None = None,
    activity_id: str | None = None,
) -> dict[str, Any]:
    """A message as Teams sends it; in shared conversations the bot is @mentioned."""
    mention = scope != "personal" if mention is None else mention
    activity_id = activity_id or f"1700000{uuid.uuid4().int % 10**6:06d}"
    activity = _activity("message", service_url, scope, sender, activity_id)
    if scope == "channel":  # a channel message's conversation names its thread
        activity["conversation"]["id"] += f";messageid={activity_id}"
    activity.update(
        timestamp="2026-11-27T09:30:00.000Z",
        locale="en-US",
        text=f"<at>CloudOptima</at> {text}" if mention else text,
        textFormat="plain",
    )
    if mention:
        activity["entities"] = [
            {"type": "mention", "text": "<at>CloudOptima</at>", "mentioned": BOT}
        ]
    return activity


def invoke(
    verb: str,
    value: str,
    service_url: str,
    *,
    scope: str = "personal",
    sender: dict[str, str] = ANN,
    reply_to_id: str = "card-message-1",
    activity_id: str | None = None,
) -> dict[str, Any]:
    """An Action.Execute press: invoke `adaptiveCard/action`."""
    activity = _activity("invoke", service_url, scope, sender, activity_id)
    activity.update(
        name="adaptiveCard/action",
        replyToId=reply_to_id,
        value={
            "action": {
                "type": "Action.Execute",
                "verb": verb,
                "data": {"verb": verb, "value": value},
            },
            "trigger": "manual",
        },
    )
    return activity


def conversation_update(
    service_url: str, *, scope: str, added: list | None = None, removed: list | None = None
) -> dict[str, Any]:
    activity = _activity("conversationUpdate", service_url, scope, ANN, None)
    if added is not None:
        activity["membersAdded"] = added
    if removed is not None:
        activity["membersRemoved"] = removed
    return activity


def installation_update(service_url: str, *, scope: str, action: str) -> dict[str, Any]:
    return _activity("installationUpdate", service_url, scope, ANN, None) | {"action": action}


def nodes(card: Any) -> Iterator[dict[str, Any]]:
    """Every object in a card, depth first."""
    if isinstance(card, dict):
        yield card
        for value in card.values():
            yield from nodes(value)
    elif isinstance(card, list):
        for item in card:
            yield from nodes(item)


def texts(card: dict[str, Any]) -> list[str]:
    """Every text in a card, depth first (TextBlocks, and facts as `title: value`)."""
    return [
        node["text"] if node.get("type") == "TextBlock" else f"{node['title']}: {node['value']}"
        for node in nodes(card)
        if node.get("type") == "TextBlock"
        or ("title" in node and "value" in node and "type" not in node)
    ]


def buttons(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Action.Execute buttons of a card by title."""
    return {n["title"]: n for n in nodes(card) if n.get("type") == "Action.Execute"}
