"""How Slack is wired: settings, the route on the server of `cloudoptima serve`, Socket Mode."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp import web

from bot.container import build
from bot.server import create_web_app
from bot.settings import load_settings
from core.kernel.errors import ConfigurationError
from tests.adapters.slack.conftest import BOT_TOKEN, slash_body


async def serve_app(app: web.Application):
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def test_slack_settings_must_come_in_working_pairs():
    with pytest.raises(ConfigurationError) as caught:
        load_settings(demo=True, slack_bot_token="xoxb-1")
    assert "SLACK_SIGNING_SECRET" in caught.value.message

    with pytest.raises(ConfigurationError) as caught:
        load_settings(demo=True, slack_signing_secret="s")
    assert "SLACK_BOT_TOKEN" in caught.value.message

    assert load_settings(
        demo=True, slack_bot_token="xoxb-1", slack_app_token="xapp-1"
    ).slack_enabled
    assert not load_settings(demo=True).slack_enabled


def test_secrets_never_show_in_the_settings_repr():
    settings = load_settings(demo=True, slack_bot_token="xoxb-secret", slack_signing_secret="s3")
    assert "xoxb-secret" not in repr(settings) and "s3" not in str(settings.model_dump())


async def test_server_without_slack_settings_has_no_slack_route(sqlite_engine, clock):
    container = build(load_settings(demo=True), clock=clock, engine=sqlite_engine)
    assert container.slack_bot() is None and container.slack_notifier() is None
    runner, url = await serve_app(create_web_app(container))
    async with aiohttp.ClientSession() as session:
        slack = await session.post(f"{url}/slack/events", data=b"x")
        health = await session.get(f"{url}/healthz")
    await runner.cleanup()
    assert (slack.status, health.status) == (404, 200)


async def test_socket_mode_server_does_not_expose_the_http_route(sqlite_engine, clock, fake_slack):
    settings = load_settings(
        demo=True,
        slack_bot_token=BOT_TOKEN,
        slack_app_token="xapp-test",
        slack_api_url=fake_slack.api_url,
    )
    container = build(settings, clock=clock, engine=sqlite_engine)
    runner, url = await serve_app(create_web_app(container))
    async with aiohttp.ClientSession() as session:
        response = await session.post(f"{url}/slack/events", data=b"x")
    await runner.cleanup()
    assert response.status == 404


async def test_slash_command_over_socket_mode_is_acked_with_its_envelope_and_answered(
    sqlite_engine, clock, fake_slack
):
    settings = load_settings(
        demo=True,
        slack_bot_token=BOT_TOKEN,
        slack_app_token="xapp-test",
        slack_api_url=fake_slack.api_url,
    )
    bot = build(settings, clock=clock, engine=sqlite_engine).slack_bot()
    assert bot is not None
    running = asyncio.create_task(bot.run_socket_mode("xapp-test"))
    try:
        async with asyncio.timeout(10):
            await fake_slack.socket_connected.wait()
            payload = dict(parse_qsl(slash_body("help", fake_slack.response_url("r1")).decode()))
            await fake_slack.socket_outbox.put(
                {
                    "envelope_id": "env-1",
                    "type": "slash_commands",
                    "accepts_response_payload": True,
                    "payload": payload,
                }
            )
            [answer] = await fake_slack.wait_for_answers("r1")
            await fake_slack.wait_for_socket_acks(1)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await bot.close()

    [open_call] = fake_slack.calls_to("apps.connections.open")
    assert open_call.headers["Authorization"] == "Bearer xapp-test"
    assert [ack["envelope_id"] for ack in fake_slack.socket_acks] == ["env-1"]
    assert answer["response_type"] == "ephemeral"
    assert "CloudOptima" in json.dumps(answer["blocks"])
