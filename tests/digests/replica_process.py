"""One CloudOptima replica for the multi-process digest proofs: a real APScheduler ticking the
digests and delivering the outbox to a (fake) Slack, on a clock read from a file.

    python -m tests.digests.replica_process DATABASE_URL CLOCK_FILE SLACK_API_URL [--hang]

Prints "ready", starts on a line on stdin, runs until stdin closes. The clock is the ISO time in
CLOCK_FILE (the test moves it). `--hang`: after building a digest, before recording it, print
"building <subscription id>" and hang (the test kills the process there: mid-slot).
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from adapters.slack.notifier import SlackNotifier
from bot.scheduler import ReplicaScheduler, replica_id
from core.delivery.dispatcher import Dispatcher
from core.delivery.pacer import Pacer
from core.delivery.targets import TargetKind
from core.digests.model import DigestsConfig
from core.digests.run import DigestRunner
from core.kernel.db.engine import make_engine


class FileClock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())


def hang(subscription) -> None:
    print(f"building {subscription.id}", flush=True)
    while True:
        time.sleep(60)


async def main() -> None:
    url, clock_file, slack_url = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    engine = make_engine(url)
    clock = FileClock(clock_file)
    runner = DigestRunner(
        engine,
        clock,
        DigestsConfig(lease=timedelta(seconds=60)),
        owner=replica_id(),
        before_finish=hang if "--hang" in sys.argv else None,
    )
    dispatcher = Dispatcher(
        engine,
        {TargetKind.SLACK: SlackNotifier("xoxb-test", api_url=slack_url)},
        clock,
        pacer=Pacer(),
    )
    scheduler = ReplicaScheduler(engine, clock)
    scheduler.add_job("digests", runner.tick, every=timedelta(seconds=1), claim=False)
    scheduler.add_job(
        "outbox", dispatcher.dispatch_until_idle, every=timedelta(seconds=1), claim=False
    )
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    scheduler.start()
    await asyncio.to_thread(sys.stdin.read)  # until the test closes stdin
    scheduler.shutdown()
    engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
