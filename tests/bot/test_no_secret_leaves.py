"""No secret leaves: the main flows run at DEBUG (the SDKs' loggers too) with known secret
values, in both log formats, and none of the values appears in any log line, HTTP answer, card,
delivered message or CLI output.

Flows: a Slack slash command and a button press (answers through response URLs whose paths are
secret), an answer whose response URL cannot be reached, the Slack Web API failing (the bot
token travels in every request's Authorization header), a Teams message whose outbound token
cannot be had (real MSAL with the client secret; no Entra reachable), the outbox dispatching to
Slack while Slack fails, to webhooks (a secret query, a secret path answered 404) and by e-mail
(SMTP password), an ingestion whose Azure credential fails (client secret), and the CLI's
`outbox status`.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import date

import aiohttp
import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.container import build
from bot.logs import configure_logging, stop_background_logging
from bot.redaction import register_secret
from bot.server import create_web_app
from bot.settings import Settings
from core.delivery.targets import Target, TargetKind
from tests.adapters.slack.conftest import block_action_body, signed_headers, slash_body
from tests.support.fake_slack import FakeSlack
from tests.support.fakes import ingest_sample_costs
from tests.support.outbox import add_messages
from tests.support.receivers import (
    SMTP_PASSWORD,
    SMTP_USER,
    FakeSmtpServer,
    FakeWebhookReceiver,
)
from tests.support.teams import (
    APP_ID,
    TENANT_ID,
    FakeBotConnector,
    FakeIdentityProvider,
    fake_drawer,
    message,
    serve,
)

BOT_TOKEN = "xoxb-2424-4242-SECRETBOTTOKENVALUE"
SIGNING_SECRET = "SECRET-slack-signing-0123456789"
RESPONSE_PATH = "SECRETRESPONSEPATH"
TEAMS_SECRET = "SECRET~teams.client-secret-value"
WEBHOOK_SIGNING = "SECRET-webhook-signing-value"
WEBHOOK_KEY = "SECRETWEBHOOKQUERYKEY"
WEBHOOK_PATH = "SECRETWEBHOOKPATH"
AZURE_SECRET = "SECRET-azure-client-secret-value"
SECRETS = [
    BOT_TOKEN,
    "SECRETBOTTOKENVALUE",
    SIGNING_SECRET,
    RESPONSE_PATH,
    TEAMS_SECRET,
    WEBHOOK_SIGNING,
    WEBHOOK_KEY,
    WEBHOOK_PATH,
    AZURE_SECRET,
    SMTP_PASSWORD,
]
SDK_LOGGERS = ["slack_sdk", "slack_bolt", "microsoft_agents", "msal", "azure", "aiohttp"]


@pytest.fixture(params=["console", "json"])
def log_format(request):
    yield request.param
    stop_background_logging()
    logging.getLogger().handlers[:] = []


def debug_everything(fmt: str, stream: io.StringIO) -> None:
    configure_logging("DEBUG", fmt, background=True, stream=stream)
    for name in SDK_LOGGERS:  # an operator debugging the SDKs
        logging.getLogger(name).setLevel(logging.DEBUG)


def leaks(text: str, secrets: list[str] = SECRETS) -> list[str]:
    return [secret for secret in secrets if secret in text]


async def test_no_secret_appears_anywhere(
    log_format, sqlite_engine, sqlite_url, clock, smtp_cert, tmp_path, monkeypatch
):
    stream = io.StringIO()
    debug_everything(log_format, stream)
    seen: list[str] = []  # every HTTP answer, card, message and CLI output

    slack = await FakeSlack().start()
    connector = FakeBotConnector()
    connector_server = await serve(connector.app())
    connector.url = str(connector_server.make_url("/"))
    identity = FakeIdentityProvider()
    identity_server = await serve(identity.app())
    identity.url = str(identity_server.make_url("")).rstrip("/")
    receiver = await FakeWebhookReceiver(secret=WEBHOOK_SIGNING).start()
    smtp = await FakeSmtpServer(smtp_cert).start()
    await ingest_sample_costs(sqlite_engine, clock, date(2026, 11, 1), date(2026, 11, 26))

    settings = Settings(
        demo=True,
        database_url=sqlite_url,
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=slack.api_url,
        teams_app_id=APP_ID,
        teams_tenant_id=TENANT_ID,
        teams_client_secret=TEAMS_SECRET,
        teams_openid_metadata_url=identity.metadata_url,
        webhook_signing_secret=WEBHOOK_SIGNING,
        webhook_allowed_hosts=["127.0.0.1"],
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_from="CloudOptima <alerts@cloudoptima.test>",
        smtp_username=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
        smtp_ca_file=str(smtp_cert.cert_path),
        smtp_timeout_seconds=5,
        admins=["slack:T1:U111"],
    )
    for secret in settings.secret_values():
        register_secret(secret)  # what `cloudoptima serve` does at start
    container = build(settings, clock=clock, engine=sqlite_engine)
    container.teams_bot(draw_chart=fake_drawer)  # real MSAL outbound tokens
    server = await serve(create_web_app(container))
    url = str(server.make_url("/"))
    session = aiohttp.ClientSession()

    async def post(path: str, body: bytes, headers: dict[str, str]) -> int:
        async with session.post(f"{url}{path}", data=body, headers=headers) as answer:
            seen.append(await answer.text())
            seen.append(json.dumps(dict(answer.headers)))
            return answer.status

    try:
        # -- Slack: the Web API fails (auth.test for chart uploads), answers go to secret URLs.
        slack.script("auth.test", status=500, body={"ok": False, "error": "fatal"}, times=5)
        body = slash_body("costs 7d by service --public", slack.response_url(RESPONSE_PATH))
        assert await post("slack/events", body, signed_headers(body, secret=SIGNING_SECRET)) == 200
        body = slash_body("help", f"http://127.0.0.1:9/commands/T1/{RESPONSE_PATH}")
        assert await post("slack/events", body, signed_headers(body, secret=SIGNING_SECRET)) == 200
        await container.slack_bot().drain()
        [answer] = slack.answers[RESPONSE_PATH]
        buttons = [
            element
            for block in answer["blocks"]
            for element in block.get("elements", [])
            if element.get("type") == "button"
        ]
        assert buttons, "the costs answer has drill-down buttons"
        press = block_action_body(
            action_id=buttons[0]["action_id"],
            value=buttons[0]["value"],
            response_url=slack.response_url(RESPONSE_PATH + "2"),
            block_id=next(b for b in answer["blocks"] if b["type"] == "actions")["block_id"],
        )
        assert (
            await post("slack/events", press, signed_headers(press, secret=SIGNING_SECRET)) == 200
        )
        await container.slack_bot().drain()
        assert slack.answers[RESPONSE_PATH + "2"], "the press was answered"

        # -- Teams: the outbound token cannot be had (MSAL, with the client secret).
        token = identity.token(connector.url)
        activity = json.dumps(message("costs 7d", connector.url)).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        assert await post("api/messages", activity, headers) == 202
        secrets = [*SECRETS, token]

        # -- Outbox: Slack failing, webhooks (one answered 404), e-mail.
        now = clock.now()
        slack.script("chat.postMessage", status=500, body="upstream failure", times=10)
        add_messages(sqlite_engine, Target(TargetKind.SLACK, "C111"), now, 1, prefix="s")
        good = f"{receiver.url}?key={WEBHOOK_KEY}"
        add_messages(sqlite_engine, Target(TargetKind.WEBHOOK, good), now, 1, prefix="w")
        gone = receiver.url.replace("/hook", f"/{WEBHOOK_PATH}/x?key={WEBHOOK_KEY}")
        add_messages(sqlite_engine, Target(TargetKind.WEBHOOK, gone), now, 1, prefix="g")
        add_messages(sqlite_engine, Target(TargetKind.EMAIL, "ops@example.com"), now, 1, prefix="e")
        outcomes = await container.dispatcher().dispatch_until_idle()
        assert sorted(outcomes) == ["dead", "retry", "sent", "sent"], outcomes
        seen += [json.dumps(b) for b in receiver.bodies.values()]
        seen += [m.as_string() for m in smtp.messages]
    finally:
        await session.close()
        await server.close()
        await container.aclose()
        await connector_server.close()
        await identity_server.close()
        await receiver.stop()
        await smtp.stop()
        await slack.close()
    seen += [json.dumps(a) for answers in slack.answers.values() for a in answers]
    seen += [json.dumps(c.body) for c in connector.calls]

    # -- the CLI: an ingestion whose Azure credential fails, and the outbox's status (their
    # logs go to their own stderr, part of their output).
    stop_background_logging()
    env = {
        "CLOUDOPTIMA_DATABASE_URL": sqlite_url,
        "CLOUDOPTIMA_LOG_LEVEL": "DEBUG",
        "CLOUDOPTIMA_LOG_FORMAT": log_format,
        "CLOUDOPTIMA_SCOPES": "00000000-0000-0000-0000-00000000000a",
        "CLOUDOPTIMA_AZURE_AUTH": "client_secret",
        "CLOUDOPTIMA_AZURE_TENANT_ID": TENANT_ID,
        "CLOUDOPTIMA_AZURE_CLIENT_ID": APP_ID,
        "CLOUDOPTIMA_AZURE_CLIENT_SECRET": AZURE_SECRET,
        "CLOUDOPTIMA_AZURE_AUTHORITY_HOST": "https://127.0.0.1:9",
        "CLOUDOPTIMA_AZURE_MAX_RETRIES": "0",
        "CLOUDOPTIMA_RECS_ENABLED": "false",
        "CLOUDOPTIMA_WEBHOOK_SIGNING_SECRET": WEBHOOK_SIGNING,
    }
    monkeypatch.chdir(tmp_path)  # no .env of the repository
    runner = CliRunner()
    # (in a thread: the commands run their own event loop)
    ingest = await asyncio.to_thread(runner.invoke, cli, ["ingest", "--days", "2"], env=env)
    status = await asyncio.to_thread(runner.invoke, cli, ["outbox", "status"], env=env)
    logging.getLogger().handlers[:] = []  # the CLI's, on the runner's closed stderr
    assert ingest.exit_code == 1, ingest.output  # the credential failed, and it says so
    assert "sign in" in ingest.output.lower() or "credential" in ingest.output.lower()
    assert "dead" in status.output and "webhook http://127.0.0.1" in status.output
    seen += [ingest.output, status.output]

    logged = stream.getvalue()
    assert "interaction handled" in logged and "Teams activity acknowledged" in logged
    assert len(logged.splitlines()) > 50  # DEBUG: the SDKs narrated too
    assert leaks(logged, secrets) == [], [
        line[:300] for line in logged.splitlines() if leaks(line, secrets)
    ][:5]
    for text in seen:
        assert leaks(text, secrets) == [], text[:300]
