"""A bounded fuzz of both chat endpoints of `cloudoptima serve`, signed and unsigned: whatever
arrives, the answer is never a 5xx and never carries exception text.

One server (Slack and Teams both on, the fakes behind them) runs on its own event loop thread
for the whole module; hypothesis drives it synchronously, a few thousand cases in all
(`EXAMPLES`). Signed cases are what a client holding the secret could send — well-formed or not —
so they reach bolt, the SDK and the core; unsigned ones must be refused.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.verify import sign
from bot.container import build
from bot.server import create_web_app
from bot.settings import Settings
from core.kernel.clock import FixedClock
from core.kernel.db.engine import make_engine
from core.kernel.db.migrate import upgrade
from tests.support.fake_slack import FakeSlack
from tests.support.teams import (
    APP_ID,
    BOT,
    TENANT_ID,
    FakeBotConnector,
    FakeConnections,
    FakeIdentityProvider,
    fake_drawer,
    message,
    serve,
)

pytestmark = pytest.mark.slow
SECRET = "fuzz-signing-secret"
#: Cases per test (four tests): about 2,600 requests in all.
EXAMPLES = {"slack_signed": 900, "slack_unsigned": 500, "teams_signed": 800, "teams_unsigned": 400}
EXCEPTION_TEXT = re.compile(r"Traceback|\b[A-Z][A-Za-z]*(Error|Exception)\b|File \"")
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


class Harness:
    """The server and its fakes on a private loop; `call` runs a coroutine there."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.database_url = database_url
        self.call(self._start())

    def call(self, work: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    async def _start(self) -> None:
        self.slack = await FakeSlack().start()
        self.connector = FakeBotConnector()
        self._connector_server = await serve(self.connector.app())
        self.connector.url = str(self._connector_server.make_url("/"))
        self.identity = FakeIdentityProvider()
        self._identity_server = await serve(self.identity.app())
        self.identity.url = str(self._identity_server.make_url("")).rstrip("/")
        engine = make_engine(self.database_url)
        upgrade(engine)
        config = Settings(
            demo=True,
            database_url="sqlite://",
            slack_signing_secret=SECRET,
            slack_bot_token="xoxb-fuzz",
            slack_api_url=self.slack.api_url,
            teams_app_id=APP_ID,
            teams_tenant_id=TENANT_ID,
            teams_client_secret="not-used-outbound-tokens-are-faked",
            teams_openid_metadata_url=self.identity.metadata_url,
        )
        clock = FixedClock(datetime(2026, 11, 27, 9, 30, tzinfo=UTC))
        self.container = build(config, clock=clock, engine=engine)
        self.container.teams_bot(connections=FakeConnections(), draw_chart=fake_drawer)
        self.server = await serve(create_web_app(self.container))
        self.url = str(self.server.make_url("/"))
        self.session = aiohttp.ClientSession()
        # One valid token per service URL (signing is the slow part of a case).
        self.tokens: dict[str, str] = {}

    def token(self, service_url: str) -> str:
        if service_url not in self.tokens:
            self.tokens[service_url] = self.identity.token(service_url)
        return self.tokens[service_url]

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        async with self.session.post(f"{self.url}{path}", data=body, headers=headers) as answer:
            return answer.status, await answer.text(errors="replace")

    def send(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        return self.call(self.post(path, body, headers))

    async def _stop(self) -> None:
        await self.session.close()
        await self.server.close()  # finishes the Slack answers in flight
        await self._connector_server.close()
        await self._identity_server.close()
        await self.slack.close()
        self.container.engine.dispose()

    def stop(self) -> None:
        self.call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Iterator[Harness]:
    # In memory-backed storage when there is some: thousands of claims commit, each an fsync.
    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else tmp_path_factory.mktemp("fuzz")
    path = base / "cloudoptima.db"
    running = Harness(f"sqlite:///{path}")
    yield running
    running.stop()
    shutil.rmtree(base, ignore_errors=True)


def assert_client_answer(status: int, text: str) -> None:
    assert status < 500, (status, text[:300])
    assert not EXCEPTION_TEXT.search(text), text[:300]


# -- strategies -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
SLACK_KEYS = ["command", "text", "user_id", "team_id", "channel_id", "response_url",
              "trigger_id", "payload", "type", "token", "ssl_check", "user_name"]  # fmt: skip


def deep(opening: str, closing: str, inner: str = "") -> st.SearchStrategy[str]:
    return st.integers(1, 60_000).map(lambda n: opening * n + inner + closing * n)


def payload_documents(response_url: str) -> st.SearchStrategy[str]:
    """`payload=` values: JSON objects shaped like Slack's (or not), broken JSON, deep nests."""
    action_ids = st.sampled_from(["costs.drill", "budget.delete.confirm", ""]) | st.text(
        max_size=20
    )
    action = st.fixed_dictionaries(
        {"action_id": action_ids, "value": st.text(max_size=30), "block_id": st.text(max_size=12)}
    )
    actions = st.lists(action, max_size=2)
    shaped = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["block_actions", "view_submission", "shortcut", "x"]),
            "user": st.fixed_dictionaries({"id": st.text(max_size=12)}) | json_values,
            "team": json_values,
            "channel": json_values,
            "container": json_values,
            "actions": actions | json_values,
            "response_url": st.sampled_from([response_url, "", "not a url"]),
        }
    ).map(json.dumps)
    return st.one_of(
        shaped,
        json_values.map(json.dumps),
        st.text(max_size=80),
        deep("[", "]"),
        deep('{"a":', "}", "1"),
    )


def slack_bodies(response_url: str) -> st.SearchStrategy[bytes]:
    field_values = st.one_of(
        st.text(max_size=60),
        st.sampled_from(["/optima", "/optima-staging", "/other"]),
        st.sampled_from(["costs 30d", "help", "budget list", "costs 0001-01-01..0001-01-31"]),
        st.just(response_url),
        payload_documents(response_url),
    )
    forms = st.dictionaries(
        st.sampled_from(SLACK_KEYS) | st.text(max_size=10), field_values, max_size=8
    ).map(lambda fields: urlencode(fields).encode())
    return st.one_of(
        forms,
        json_values.map(lambda v: json.dumps(v).encode()),
        deep("[", "]").map(str.encode),
        st.binary(max_size=300),
    )


CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
    ]
)


def slack_signed(body: bytes, content_type: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(SECRET, timestamp, body),
    }
    if content_type:
        headers["Content-Type"] = content_type
    return headers


# -- Slack ------------------------------------------------------------------------------------


@settings(FUZZ, max_examples=EXAMPLES["slack_signed"])
@given(data=st.data(), content_type=CONTENT_TYPES)
def test_slack_signed_requests_never_fail_on_our_side(harness, data, content_type):
    body = data.draw(slack_bodies(harness.slack.response_url("fuzz")))
    status, text = harness.send("slack/events", body, slack_signed(body, content_type))
    assert_client_answer(status, text)


unsigned_headers = st.fixed_dictionaries(
    {},
    optional={
        "X-Slack-Request-Timestamp": st.one_of(
            st.text(max_size=12).filter(lambda t: t.isprintable() and t.isascii()),
            st.just(str(int(time.time()))),
            st.just("0"),
        ),
        "X-Slack-Signature": st.one_of(
            st.just("v0=" + "0" * 64),
            st.text(max_size=80).filter(lambda t: t.isprintable() and t.isascii()),
        ),
        "Content-Type": CONTENT_TYPES.filter(bool),
    },
)


@settings(FUZZ, max_examples=EXAMPLES["slack_unsigned"])
@given(data=st.data(), headers=unsigned_headers)
def test_slack_unsigned_requests_are_refused(harness, data, headers):
    body = data.draw(slack_bodies(harness.slack.response_url("fuzz")))
    status, text = harness.send("slack/events", body, headers)
    assert_client_answer(status, text)
    assert status in (401, 413)  # refused; a body over 1 MiB before its signature is read


# -- Teams ------------------------------------------------------------------------------------


def activities(service_url: str) -> st.SearchStrategy[dict[str, Any]]:
    base = message("help", service_url)
    kinds = st.sampled_from(
        ["message", "invoke", "conversationUpdate", "installationUpdate", "typing", "event", ""]
    )
    changes = st.fixed_dictionaries(
        {},
        optional={
            "type": kinds | st.text(max_size=10),
            "text": st.sampled_from(["help", "costs 30d", "budget list"]) | st.text(max_size=60),
            "value": json_values,
            "name": st.sampled_from(["adaptiveCard/action", "x"]) | st.text(max_size=10),
            "conversation": st.fixed_dictionaries({"id": st.text(max_size=20)}) | json_values,
            "from": st.just(BOT) | json_values,
            "channelData": json_values,
            "entities": json_values,
            "replyToId": st.text(max_size=10) | st.none(),
            "membersAdded": st.just([BOT]) | json_values,
            "action": st.sampled_from(["add", "remove"]) | json_values,
            "id": st.text(max_size=20) | st.none(),
        },
    )
    return changes.map(lambda extra: {**base, **extra})


def teams_bodies(service_url: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        activities(service_url).map(lambda a: json.dumps(a, default=str).encode()),
        json_values.map(lambda v: json.dumps(v).encode()),
        deep("[", "]").map(str.encode),
        deep('{"a":', "}", "1").map(str.encode),
        st.binary(max_size=200),
    )


@settings(FUZZ, max_examples=EXAMPLES["teams_signed"])
@given(data=st.data())
def test_teams_signed_activities_never_fail_on_our_side(harness, data):
    body = data.draw(teams_bodies(harness.connector.url))
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {harness.token(harness.connector.url)}",
    }
    status, text = harness.send("api/messages", body, headers)
    assert_client_answer(status, text)


@settings(FUZZ, max_examples=EXAMPLES["teams_unsigned"])
@given(
    data=st.data(),
    authorization=st.one_of(
        st.none(),
        st.just("Bearer"),
        st.just("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
        st.text(max_size=60).filter(lambda t: t.isprintable() and t.isascii()),
    ),
)
def test_teams_unsigned_activities_are_refused(harness, data, authorization):
    body = data.draw(teams_bodies(harness.connector.url))
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    status, text = harness.send("api/messages", body, headers)
    assert_client_answer(status, text)
    assert status in (400, 401)
