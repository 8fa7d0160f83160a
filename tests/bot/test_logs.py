"""Every line logged while a request is handled carries its request id, and the error card quotes
the same id: an operator finds the traceback a user reports."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import configure_logging
from core.kernel.authz import Role
from core.kernel.context import Requester
from core.kernel.interaction import Interaction
from core.kernel.routing import CommandSpec, Router
from core.kernel.service import CloudOptima


@pytest.fixture
def log_lines(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging("INFO", "json")
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line]
    logging.getLogger().handlers[:] = []


def exploding_core(sqlite_engine, clock) -> CloudOptima:
    def explode(_cmd, _ctx):
        logging.getLogger("tests.handler").info("about to fail")
        raise RuntimeError("an internal detail")

    router = Router()
    router.add_command(
        CommandSpec(
            name="boom",
            usage="boom",
            summary="Fails",
            help="Fails.",
            role=Role.ANYONE,
            purpose="fail",
            handler=explode,
        )
    )
    return CloudOptima(sqlite_engine, clock, router)


def test_the_error_card_quotes_the_request_id_every_log_line_carries(
    sqlite_engine, clock, log_lines
):
    core = exploding_core(sqlite_engine, clock)
    reply = core.handle(
        Interaction(Requester("slack", "U1"), text="boom", request_id="req-7f3a9c2b")
    )

    assert reply is not None
    shown = " ".join(getattr(b, "text", "") for b in reply.card.blocks)
    assert "req-7f3a9c2b" in shown and "internal detail" not in shown
    lines = [line for line in log_lines() if line["logger"] != "alembic.runtime.migration"]
    assert {line["event"] for line in lines} >= {"about to fail"}
    assert all(line.get("request_id") == "req-7f3a9c2b" for line in lines)
    assert any(line["level"] == "error" for line in lines)


def test_a_request_without_an_id_gets_one(sqlite_engine, clock, log_lines):
    core = exploding_core(sqlite_engine, clock)
    reply = core.handle(Interaction.command(Requester("slack", "U1"), "boom"))

    assert reply is not None
    errors = [line for line in log_lines() if line["level"] == "error"]
    [error] = errors
    reference = error["request_id"]
    assert len(reference) >= 8
    assert any(reference in getattr(b, "text", "") for b in reply.card.blocks)
