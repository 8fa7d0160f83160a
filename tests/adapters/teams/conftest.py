"""Teams over real HTTP: the bot on the `cloudoptima serve` app, with the fakes of support.py
served on 127.0.0.1 (port 0)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.container import Container, build
from bot.server import create_web_app
from bot.settings import Settings
from tests.support.teams import (
    APP_ID,
    TENANT_ID,
    CountingCloudOptima,
    FakeBotConnector,
    FakeConnections,
    FakeIdentityProvider,
    fake_drawer,
    serve,
)

# -- servers --------------------------------------------------------------------------------------


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    fake = FakeBotConnector()
    server = await serve(fake.app())
    fake.url = str(server.make_url("/"))
    yield fake
    await server.close()


@pytest.fixture
async def identity() -> AsyncIterator[FakeIdentityProvider]:
    fake = FakeIdentityProvider()
    server = await serve(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


@dataclass
class TeamsServer:
    """The `cloudoptima serve` app with Teams enabled, and a client to post activities."""

    container: Container
    url: str
    session: ClientSession
    connector: FakeBotConnector

    @property
    def core(self) -> Any:
        return self.container.core

    async def post(
        self, activity: dict[str, Any], *, token: str | None = None, raw: bytes | None = None
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else json.dumps(activity).encode()
        async with self.session.post(f"{self.url}api/messages", data=data, headers=headers) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text) if text else None
            except ValueError:
                return r.status, text

    async def get(self, path: str) -> int:
        async with self.session.get(f"{self.url}{path.lstrip('/')}") as response:
            return response.status


@pytest.fixture
async def start_teams(engine, clock, connector) -> AsyncIterator[Callable[..., Any]]:
    """`await start_teams(auth=..., ...)` → a running TeamsServer on `engine` (both databases)."""
    servers: list[TestServer] = []
    sessions: list[ClientSession] = []

    async def start(
        *,
        auth: str = "anonymous",
        identity: FakeIdentityProvider | None = None,
        draw_chart: Any = fake_drawer,
        connections: Any = None,
        **settings: Any,
    ) -> TeamsServer:
        values: dict[str, Any] = {"demo": True, "database_url": "sqlite://"}
        if auth == "anonymous":
            values["teams_anonymous"] = True
        else:
            assert identity is not None
            values.update(
                teams_app_id=APP_ID,
                teams_tenant_id=TENANT_ID,
                teams_client_secret="not-used-outbound-tokens-are-faked",
                teams_openid_metadata_url=identity.metadata_url,
            )
        values.update(settings)
        container = build(Settings(**values), clock=clock, engine=engine)
        core = container.core
        container.core = CountingCloudOptima(engine, clock, core.router, core.config)
        if container.settings.teams_enabled:
            container.teams_bot(connections=connections or FakeConnections(), draw_chart=draw_chart)
        server = await serve(create_web_app(container))
        servers.append(server)
        session = ClientSession()
        sessions.append(session)
        return TeamsServer(container, str(server.make_url("/")), session, connector)

    yield start
    for session in sessions:
        await session.close()
    for server in servers:
        await server.close()
