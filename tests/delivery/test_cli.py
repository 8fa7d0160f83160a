"""`cloudoptima dispatch --once` and `cloudoptima outbox status|retry`, run as a user would."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from core.delivery.targets import Target, TargetKind
from tests.support.outbox import add_messages
from tests.support.paths import REPO
from tests.support.receivers import LOCAL_RECEIVERS, WEBHOOK_SECRET, FakeWebhookReceiver

REPO = REPO
pytestmark = pytest.mark.slow


async def cloudoptima(database_url: str, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "CLOUDOPTIMA_DEMO": "true",
        "CLOUDOPTIMA_DATABASE_URL": database_url,
        "CLOUDOPTIMA_WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET,
        "CLOUDOPTIMA_WEBHOOK_ALLOWED_HOSTS": ",".join(LOCAL_RECEIVERS),
        "CLOUDOPTIMA_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, stdout.decode(), stderr.decode()


async def test_dispatch_once_delivers_and_outbox_status_lists_dead_letters(sqlite_engine, clock):
    url = sqlite_engine.url.render_as_string(hide_password=False)
    receiver = await FakeWebhookReceiver().start()
    try:
        now = clock.now().replace(year=2020)  # due whatever the real date is
        keys = add_messages(sqlite_engine, Target(TargetKind.WEBHOOK, receiver.url), now, 3)
        receiver.script(["reject"])

        code, out, err = await cloudoptima(url, "dispatch", "--once")
        assert code == 0, err
        assert "Delivered: 1 dead, 2 sent" in out
        assert sorted(receiver.count(k) for k in keys) == [0, 1, 1]

        code, out, _ = await cloudoptima(url, "outbox", "status")
        assert "0 pending, 0 sending, 2 sent, 1 dead" in out
        [dead_key] = [k for k in keys if receiver.count(k) == 0]
        host = receiver.url.removeprefix("http://").split("/")[0]
        shown = f"webhook http://{host}/…"  # never the path or query
        assert f"dead  {dead_key}  {shown}  after 1 attempts: http_400" in out

        code, out, _ = await cloudoptima(url, "outbox", "retry", dead_key)
        assert "1 message(s) queued again" in out
        code, out, _ = await cloudoptima(url, "dispatch", "--once")
        assert "Delivered: 1 sent" in out
        assert receiver.count(dead_key) == 1
    finally:
        await receiver.stop()
