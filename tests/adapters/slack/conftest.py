"""Slack test fixtures: the fake Slack, the real server (create_web_app) on 127.0.0.1:0, signing."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import Engine

from adapters.slack import SlackBot
from adapters.slack.verify import sign
from bot.container import Container, build
from bot.server import create_web_app
from bot.settings import load_settings
from tests.support.fake_slack import FakeSlack
from tests.support.fakes import ingest_sample_costs

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"


def signed_headers(body: bytes, *, secret: str = SIGNING_SECRET, timestamp: str | None = None):
    timestamp = timestamp or str(int(time.time()))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(secret, timestamp, body),
    }


def slash_body(text: str, response_url: str, *, user_id: str = "U111", **extra: str) -> bytes:
    fields = {
        "token": "legacy-unused",
        "team_id": "T1",
        "team_domain": "acme",
        "channel_id": "C111",
        "channel_name": "finops",
        "user_id": user_id,
        "user_name": "ada",
        "command": "/optima",
        "text": text,
        "api_app_id": "A1",
        "response_url": response_url,
        "trigger_id": f"{uuid.uuid4().int % 10**12}.1.{uuid.uuid4().hex}",
        **extra,
    }
    return urlencode(fields).encode()


def block_action_body(
    *,
    action_id: str,
    value: str,
    response_url: str,
    user_id: str = "U111",
    block_id: str = "n1.actions.0",
    message_ts: str = "1700000000.000100",
    ephemeral: bool = True,
) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": "ada", "name": "ada", "team_id": "T1"},
        "api_app_id": "A1",
        "token": "legacy-unused",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": "C111",
            "is_ephemeral": ephemeral,
        },
        "trigger_id": f"{uuid.uuid4().int % 10**12}.1.{uuid.uuid4().hex}",
        "team": {"id": "T1", "domain": "acme"},
        "channel": {"id": "C111", "name": "finops"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": "By resource group"},
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def seed_costs(engine: Engine, clock, *, first: date, last: date) -> Any:
    """Ingest plausible rows (3 services, 3 resource groups) for every day in [first, last]."""
    return ingest_sample_costs(engine, clock, first, last)


@dataclass
class RunningServer:
    url: str
    container: Container
    bot: SlackBot
    fake: FakeSlack
    session: aiohttp.ClientSession

    async def post(self, body: bytes, headers: dict[str, str]) -> aiohttp.ClientResponse:
        response = await self.session.post(f"{self.url}/slack/events", data=body, headers=headers)
        await response.read()
        return response

    async def command(self, text: str, answer_to: str, **extra: str) -> aiohttp.ClientResponse:
        body = slash_body(text, self.fake.response_url(answer_to), **extra)
        return await self.post(body, signed_headers(body))


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    yield fake
    await fake.close()


async def start_server(
    engine: Engine, clock, fake: FakeSlack, **settings: Any
) -> tuple[web.AppRunner, str, Container]:
    config = load_settings(
        demo=True,
        database_url="sqlite://",  # unused: the test's engine is passed in
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=fake.api_url,
        **settings,
    )
    container = build(config, clock=clock, engine=engine)
    runner = web.AppRunner(create_web_app(container), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}", container


@pytest.fixture
async def serve(clock, fake_slack) -> AsyncIterator[Any]:
    """Start the web app of `cloudoptima serve` on an engine, Slack pointing at the fake."""
    started: list[tuple[web.AppRunner, SlackBot, aiohttp.ClientSession]] = []

    async def start(engine: Engine, **settings: Any) -> RunningServer:
        runner, url, container = await start_server(engine, clock, fake_slack, **settings)
        bot = container.slack_bot()
        assert bot is not None
        session = aiohttp.ClientSession()
        started.append((runner, bot, session))
        return RunningServer(url, container, bot, fake_slack, session)

    yield start
    for runner, _bot, session in started:
        await session.close()
        await runner.cleanup()  # finishes the Slack answers in flight, then closes


@pytest.fixture
async def server(serve, sqlite_engine) -> RunningServer:
    """The server on SQLite (the database-specific tests use `serve(engine)` on both)."""
    return await serve(sqlite_engine)
