"""A request id end to end: the caller's `X-Request-ID` (or a new one) is echoed, carried by
every line logged while the request is handled, sent with every Slack call made for it (Web
API and response URL), and quoted by the error card."""

from __future__ import annotations

import io
import json
import logging
from datetime import date

import pytest

from bot.logs import configure_logging, flush_logs
from core.kernel.authz import Role
from core.kernel.routing import CommandSpec
from tests.adapters.slack.conftest import seed_costs, signed_headers, slash_body


@pytest.fixture
def json_log():
    stream = io.StringIO()
    configure_logging("DEBUG", "json", background=True, stream=stream)

    def lines() -> list[dict]:
        flush_logs()
        return [json.loads(line) for line in stream.getvalue().splitlines() if line]

    yield lines
    logging.getLogger().handlers[:] = []


def add_failing_command(server) -> None:
    def explode(_cmd, _ctx):
        logging.getLogger("tests.handler").warning("about to fail")
        raise RuntimeError("an internal detail")

    server.container.core.router.add_command(
        CommandSpec(name="boom", usage="boom", summary="Fails", help="Fails.",
                    role=Role.ANYONE, purpose="fail", handler=explode)
    )  # fmt: skip


async def test_the_inbound_id_reaches_logs_slack_calls_and_the_error_card(
    serve, sqlite_engine, clock, json_log
):
    await seed_costs(sqlite_engine, clock, first=date(2026, 11, 1), last=date(2026, 11, 26))
    server = await serve(sqlite_engine)
    add_failing_command(server)

    body = slash_body("costs 7d --public", server.fake.response_url("r1"))
    answer = await server.post(body, {**signed_headers(body), "X-Request-ID": "req-7f3a9c2b"})
    body = slash_body("boom", server.fake.response_url("r2"))
    failed = await server.post(body, {**signed_headers(body), "X-Request-ID": "req-0b0b0b0b"})
    await server.bot.drain()

    assert answer.status == 200 and answer.headers["X-Request-ID"] == "req-7f3a9c2b"
    assert failed.headers["X-Request-ID"] == "req-0b0b0b0b"
    # Outbound: the response URL and the Web API calls made for the first command.
    assert server.fake.answer_headers["r1"][0]["X-Request-ID"] == "req-7f3a9c2b"
    [scopes] = server.fake.calls_to("auth.test")
    assert scopes.headers["X-Request-ID"] == "req-7f3a9c2b"
    [upload] = server.fake.calls_to("files.completeUploadExternal")
    assert upload.headers["X-Request-ID"] == "req-7f3a9c2b"
    # The error card quotes the id the logs carry.
    [card] = server.fake.answers["r2"]
    assert "req-0b0b0b0b" in json.dumps(card) and "internal detail" not in json.dumps(card)

    lines = json_log()
    handled = {line["request_id"]: line for line in lines if line["event"] == "interaction handled"}
    assert set(handled) >= {"req-7f3a9c2b", "req-0b0b0b0b"}
    first = handled["req-7f3a9c2b"]
    assert (first["command"], first["user"], first["channel"], first["outcome"]) == (
        "costs", "U111", "C111", "ok"
    )  # fmt: skip
    assert isinstance(first["duration_ms"], float)
    failing = [line for line in lines if line.get("request_id") == "req-0b0b0b0b"]
    assert {"about to fail", "interaction handled"} <= {line["event"] for line in failing}
    assert any(line["level"] == "error" for line in failing)


async def test_a_request_without_a_usable_id_gets_a_new_one(server):
    body = slash_body("help", server.fake.response_url("r1"))
    plain = await server.post(body, signed_headers(body))
    forged = await server.post(body, {**signed_headers(body), "X-Request-ID": "a b;" + "x" * 80})
    await server.bot.drain()
    assert len(plain.headers["X-Request-ID"]) >= 8
    assert forged.headers["X-Request-ID"] != plain.headers["X-Request-ID"]
    assert " " not in forged.headers["X-Request-ID"]
    refused = await server.post(b"text=x", {"X-Request-ID": "unsigned-1"})
    assert refused.status == 401 and refused.headers["X-Request-ID"] == "unsigned-1"
