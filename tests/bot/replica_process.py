"""One replica with a real APScheduler, for the multi-process proof.

    python -m tests.bot.replica_process DATABASE_URL FIRINGS

Prints "ready", waits for a line on stdin (all replicas start together), runs a 1-second job
until APScheduler has fired it FIRINGS times, then prints one JSON line: {"owner", "ran",
"outcomes"}.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta

from bot.scheduler import ReplicaScheduler, RunOutcome
from core.kernel.clock import SystemClock
from core.kernel.db.engine import make_engine


class CountingReplica(ReplicaScheduler):
    def __init__(self, *args, firings: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.firings = firings
        self.outcomes: list[str] = []
        self.done = asyncio.Event()

    async def fire(self, name: str) -> RunOutcome:
        outcome = await super().fire(name)
        self.outcomes.append(str(outcome))
        if len(self.outcomes) >= self.firings:
            self.done.set()
        return outcome


async def main() -> None:
    url, firings = sys.argv[1], int(sys.argv[2])
    engine = make_engine(url)
    clock = SystemClock()
    ran: list[str] = []

    async def tick() -> None:
        ran.append(clock.now().isoformat())

    replica = CountingReplica(engine, clock, firings=firings)
    replica.add_job("tick", tick, every=timedelta(seconds=1))
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    replica.start()
    await asyncio.wait_for(replica.done.wait(), timeout=60)
    replica.shutdown()
    engine.dispose()
    print(json.dumps({"owner": replica.owner, "ran": ran, "outcomes": replica.outcomes}))


if __name__ == "__main__":
    asyncio.run(main())
