"""Three processes, each with a real APScheduler ticking the digests and delivering the outbox,
against one PostgreSQL and a fake Slack on 127.0.0.1: each digest arrives once per slot (counted
in the fake's channels), and a replica killed mid-slot leaves it to another, delivered once."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from core.app import FeatureConfigs, create_core
from core.digests.model import DigestsConfig
from core.digests.store import runs
from core.kernel.clock import FixedClock
from core.kernel.context import Requester
from core.kernel.db.engine import make_engine
from core.kernel.db.migrate import upgrade
from tests.support.fake_slack import FakeSlack
from tests.support.paths import REPO

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CHANNELS = ("C0FINOPS1", "C0TEAMWEB", "C0TEAMDBA")
SCHEDULES = (
    ("digest daily 09:00 Europe/Berlin", CHANNELS[0]),
    ("digest daily 09:00 Europe/Berlin rg:rg-web", CHANNELS[0]),
    ("digest daily 08:30 America/New_York", CHANNELS[1]),
    ("digest daily 09:00 Asia/Kolkata rg:rg-db", CHANNELS[1]),
    ("digest daily 07:00 UTC", CHANNELS[2]),
    ("digest weekly tue 10:00 Europe/London service:Storage", CHANNELS[2]),
)


def keys_in(fake: FakeSlack) -> Counter:
    return Counter(
        (channel, m["metadata"]["event_payload"]["key"])
        for channel, messages in fake.channels.items()
        for m in messages
    )


async def start(url: str, clock_file, fake: FakeSlack, *extra: str):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.digests.replica_process",
        url,
        str(clock_file),
        fake.api_url,
        *extra,
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert (await asyncio.wait_for(process.stdout.readline(), 60)).strip() == b"ready"
    return process


async def wait_for(predicate, seconds: float = 60) -> None:
    """Poll the fake's channels (filled by other processes' posts) until `predicate` holds."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 (the fake's state, filled over HTTP)
            await asyncio.sleep(0.2)


async def stop(processes) -> None:
    for process in processes:
        if process.returncode is None:
            process.stdin.close()
    for process in processes:
        await asyncio.wait_for(process.wait(), 30)


def set_clock(clock_file, moment: datetime) -> None:
    tmp = clock_file.with_suffix(".tmp")
    tmp.write_text(moment.isoformat())
    tmp.replace(clock_file)


async def test_three_replicas_deliver_each_digest_once_per_slot(postgres_url, tmp_path):
    engine = make_engine(postgres_url)
    upgrade(engine)
    fake = await FakeSlack().start()
    clock_file = tmp_path / "clock"
    start_at = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # a Tuesday
    set_clock(clock_file, start_at)
    core = create_core(engine, FixedClock(start_at), features=FeatureConfigs(DigestsConfig()))
    for text, channel in SCHEDULES:
        reply = core.handle_text(text, Requester("slack", "UALICE", conversation_id=channel))
        assert "Scheduled digest" in reply.card.summary, reply.card.summary
    processes = [await start(postgres_url, clock_file, fake) for _ in range(3)]
    try:
        for process in processes:
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        expected = 0
        # Slots (UTC): Kolkata 03:30, UTC 07:00, Berlin 08:00 (2), London 10:00 (Tuesdays),
        # New York 13:30. The clock steps through each day; each step is within the grace.
        steps = [(timedelta(hours=4), 1), (timedelta(hours=8, minutes=5), 3)]
        steps += [(timedelta(hours=10, minutes=5), 1), (timedelta(hours=13, minutes=35), 1)]
        for day in range(3):  # 3 daily slots each; the weekly one on the first Tuesday only
            for offset, due in steps:
                set_clock(clock_file, start_at + timedelta(days=day) + offset)
                expected += due if offset.seconds // 3600 != 10 or day == 0 else 0
                await wait_for(lambda n=expected: sum(keys_in(fake).values()) >= n)
        await asyncio.sleep(3)  # every replica ticks and dispatches a few more times
    finally:
        await stop(processes)
        await fake.close()

    delivered = keys_in(fake)
    assert sum(delivered.values()) == expected == 16
    assert set(delivered.values()) == {1}  # each digest once per slot
    assert len({key for _, key in delivered}) == 16
    owners = Counter(r.owner for r in runs(engine))
    assert sum(owners.values()) == 16 and {r.status for r in runs(engine)} == {"delivered"}
    assert set(owners) <= {f"{socket.gethostname()}:{p.pid}" for p in processes}
    print(f"16 digests over 3 slots; slots recorded by {dict(owners)}")
    engine.dispose()


async def test_a_replica_killed_mid_slot_leaves_it_to_another_which_delivers_once(
    postgres_url, tmp_path
):
    engine = make_engine(postgres_url)
    upgrade(engine)
    fake = await FakeSlack().start()
    clock_file = tmp_path / "clock"
    start_at = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    set_clock(clock_file, start_at)
    core = create_core(engine, FixedClock(start_at), features=FeatureConfigs(DigestsConfig()))
    core.handle_text(
        "digest daily 09:00 Europe/Berlin", Requester("slack", "U1", conversation_id=CHANNELS[0])
    )
    doomed = await start(postgres_url, clock_file, fake, "--hang")
    try:
        doomed.stdin.write(b"go\n")
        await doomed.stdin.drain()
        set_clock(clock_file, start_at + timedelta(hours=1, minutes=1))  # the slot is due
        line = await asyncio.wait_for(doomed.stdout.readline(), 60)
        assert line.strip() == b"building 1"  # mid-slot: leased and built, not recorded
        doomed.kill()
        await doomed.wait()

        others = [await start(postgres_url, clock_file, fake) for _ in range(2)]
        for process in others:
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        await asyncio.sleep(3)
        assert keys_in(fake) == Counter()  # the dead replica's lease still holds the slot
        set_clock(clock_file, start_at + timedelta(hours=1, minutes=2, seconds=2))  # it expired
        await wait_for(lambda: sum(keys_in(fake).values()) >= 1)
        await asyncio.sleep(3)
        await stop(others)
    finally:
        if doomed.returncode is None:
            doomed.kill()
        await fake.close()

    assert keys_in(fake) == Counter({(CHANNELS[0], "digest:1:2026-12-01"): 1})
    [run] = runs(engine)
    assert run.status == "delivered" and run.ran_at >= start_at + timedelta(hours=1, minutes=2)
    engine.dispose()
