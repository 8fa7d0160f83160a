"""SIGTERM and SIGINT stop `cloudoptima serve` gracefully: no new connections, the answer in
flight is finished, running jobs are stopped within the grace period with their slots released,
and the process exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time

import aiohttp
import pytest
from sqlalchemy import select

from core.costs.model import RunStatus
from core.costs.tables import IngestionRun
from core.kernel.db.engine import make_engine
from core.kernel.db.tables import JobRun, JobRunStatus
from tests.adapters.slack.conftest import BOT_TOKEN, SIGNING_SECRET, signed_headers, slash_body
from tests.support.fake_slack import FakeSlack
from tests.support.paths import REPO

pytestmark = pytest.mark.slow
GRACE_SECONDS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_until_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            assert process.returncode is None, "serve exited before it was healthy"
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("serve never became healthy")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_serve_stops_gracefully_and_exits_0(tmp_path, sig):
    fake = await FakeSlack().start()
    fake.respond_delay = 2.0  # the answer is still in flight when the signal comes
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database = f"sqlite:///{tmp_path / 'serve.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDOPTIMA_")}
    env.update(
        PYTHONPATH=str(REPO),
        CLOUDOPTIMA_DEMO="true",
        CLOUDOPTIMA_DATABASE_URL=database,
        CLOUDOPTIMA_HOST="127.0.0.1",
        CLOUDOPTIMA_PORT=str(port),
        CLOUDOPTIMA_SLACK_SIGNING_SECRET=SIGNING_SECRET,
        CLOUDOPTIMA_SLACK_BOT_TOKEN=BOT_TOKEN,
        CLOUDOPTIMA_SLACK_API_URL=fake.api_url,
        CLOUDOPTIMA_SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS),
        CLOUDOPTIMA_LOG_FORMAT="json",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_until_healthy(url, process)
        body = slash_body("help", fake.response_url("in-flight"))
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{url}/slack/events", data=body, headers=signed_headers(body)
            ) as ack:
                assert ack.status == 200
            await asyncio.sleep(0.3)  # the answer is being sent now (the fake holds it 2 s)
            process.send_signal(sig)
            signalled = time.monotonic()
        # No new connections while the answer in flight is finished (fresh connections: a
        # kept-alive one may still carry a last request).
        refused = False
        while not refused and time.monotonic() - signalled < 1.5:
            await asyncio.sleep(0.1)
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
            except ConnectionRefusedError:
                refused = True
        assert refused, "serve still accepted connections after the signal"
        assert not fake.answers["in-flight"]  # ... while the answer was still in flight
        _stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        took = time.monotonic() - signalled
    finally:
        if process.returncode is None:
            process.kill()
        await fake.close()

    assert process.returncode == 0, stderr.decode()[-3000:]
    assert took < 2 * GRACE_SECONDS + 5  # bounded: the grace period, not "until done"
    [answer] = fake.answers["in-flight"]
    assert "costs" in answer["text"]  # the whole answer arrived
    assert b"Traceback" not in stderr
    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            slots = conn.execute(select(JobRun.__table__)).all()
            runs = conn.execute(select(IngestionRun.__table__)).all()
    finally:
        engine.dispose()
    # The catch-up ingestion either finished or was stopped: no slot is left held by the
    # stopped process (a released one has a lease that has already ended).
    now = time.time()
    for slot in slots:
        if slot.status == JobRunStatus.RUNNING:
            assert slot.lease_until is not None and slot.lease_until.timestamp() <= now
    assert all(run.status != RunStatus.RUNNING for run in runs)
