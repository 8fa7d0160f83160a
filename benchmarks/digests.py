"""Digests at Slack's rate-limit floor: N subscriptions over M channels, delivered exactly once.

A fake Slack Web API on 127.0.0.1 (tests/support/fake_slack.py, real HTTP, the real slack_sdk
client) accepts one chat.postMessage per second per channel and answers faster posts with 429
and Retry-After. The digests are due at once: one tick (the scheduler's digest job) builds and
queues them while the outbox dispatcher (per-channel pacer) delivers. Measured:

- every digest delivered exactly once (one message per subscription and slot in the fake);
- the total time from the tick's start to the last post, against the floor: the busiest
  channel's messages × the channel interval (10 messages per channel at 1/s → 10 s); target
  within 20 % of it;
- 429s received; digest build time (per distinct scope built, and per subscription, amortized).

    .venv/bin/python benchmarks/digests.py                      # 500 subscriptions, 50 channels
    .venv/bin/python benchmarks/digests.py --database postgresql+psycopg://postgres@127.0.0.1/postgres

The last line printed is one JSON object with every figure. A miss never fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.slack.notifier import SlackNotifier  # noqa: E402
from core.delivery.dispatcher import DispatchConfig, Dispatcher  # noqa: E402
from core.delivery.pacer import Pacer, Window  # noqa: E402
from core.delivery.targets import Target, TargetKind  # noqa: E402
from core.digests.model import DigestsConfig, Frequency, Schedule  # noqa: E402
from core.digests.run import DigestRunner  # noqa: E402
from core.digests.store import subscribe  # noqa: E402
from core.kernel.cards import Chart, ChartPoint  # noqa: E402
from core.kernel.charts import render_png  # noqa: E402
from core.kernel.clock import FixedClock, SystemClock  # noqa: E402
from core.kernel.db.engine import make_engine  # noqa: E402
from core.kernel.db.migrate import upgrade  # noqa: E402
from tests.support.cost_rows import put_days  # noqa: E402
from tests.support.fake_slack import FakeSlack  # noqa: E402

#: Scopes the subscriptions of one channel follow (one digest per channel and scope).
SCOPES: tuple[tuple[str, ...], ...] = (
    (),
    ("rg:rg-0",),
    ("rg:rg-1",),
    ("rg:rg-2",),
    ("service:Storage",),
    ("service:Bandwidth",),
    ("service:Virtual Machines",),
    ("rg:rg-0", "service:Virtual Machines"),
    ("rg:rg-1", "service:Storage"),
    ("rg:rg-2", "service:Bandwidth"),
)


class TimedSlack(FakeSlack):
    """The fake Slack, with the arrival time of every stored message."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.arrivals: list[float] = []
        self.by_channel: dict[str, list[float]] = {}

    def _store_message(self, params: dict[str, Any]) -> dict[str, Any]:
        self.arrivals.append(time.perf_counter())
        self.by_channel.setdefault(str(params["channel"]), []).append(self.arrivals[-1])
        return super()._store_message(params)


@contextlib.contextmanager
def database(url: str | None):
    if url is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/digests.db"
        return
    name = f"cloudoptima_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def warm_up() -> None:
    day = datetime(2026, 1, 1, tzinfo=UTC).date()
    render_png(Chart("warm-up", (ChartPoint(day, Decimal(1)),), "EUR"))


def seed(engine: Any, subscriptions: int, channels: int, now: datetime) -> None:
    """60 days of costs, and the subscriptions, due a minute ago (channel after channel)."""
    clock = FixedClock(now)
    put_days(
        engine, clock, (now - timedelta(days=60)).date(), (now - timedelta(days=1)).date(), "90"
    )
    due = (now - timedelta(minutes=1)).replace(second=0, microsecond=0)
    schedule = Schedule(Frequency.DAILY, due.time(), "UTC")
    per_channel = -(-subscriptions // channels)
    created_at = due - timedelta(minutes=1)
    for n in range(subscriptions):
        channel, index = divmod(n, per_channel)
        target = Target(TargetKind.SLACK, f"CBENCH{channel:04d}")
        subscribe(engine, target, schedule, SCOPES[index % len(SCOPES)], "bench", created_at)


async def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    seed(engine, args.subscriptions, args.channels, now)
    fake = await TimedSlack(channel_interval=args.interval).start()
    clock = SystemClock()
    pacer = Pacer({TargetKind.SLACK: (Window(1, args.interval),)})
    notifier = SlackNotifier("xoxb-bench", api_url=fake.api_url)
    dispatcher = Dispatcher(
        engine,
        {TargetKind.SLACK: notifier},
        clock,
        DispatchConfig(batch_size=args.batch_size),
        pacer=pacer,
    )
    runner = DigestRunner(engine, clock, DigestsConfig(), owner="bench")
    warm_up()  # a running server has matplotlib loaded: its first import is not a digest's cost
    began = time.perf_counter()
    tick_seconds: list[float] = []

    def timed_tick() -> Any:
        start = time.perf_counter()
        try:
            return runner.tick()
        finally:
            tick_seconds.append(time.perf_counter() - start)

    tick = asyncio.create_task(asyncio.to_thread(timed_tick))
    deadline = began + args.timeout
    while time.perf_counter() < deadline:
        await dispatcher.dispatch_until_idle()
        if tick.done() and len(fake.arrivals) >= args.subscriptions:
            break
        await asyncio.sleep(0.02)
    summary = await tick
    ended = max(fake.arrivals) if fake.arrivals else time.perf_counter()
    posts = [m for messages in fake.channels.values() for m in messages]
    keys = Counter(m["metadata"]["event_payload"]["key"] for m in posts)
    per_channel = Counter(len(messages) for messages in fake.channels.values())
    busiest = max((len(m) for m in fake.channels.values()), default=0)
    floor = busiest * args.interval
    total = ended - began
    await fake.close()
    engine.dispose()
    builds = summary.build_ms
    gaps = [b - a for times in fake.by_channel.values() for a, b in itertools.pairwise(times)]
    firsts = [times[0] - began for times in fake.by_channel.values()]
    return {
        "gap_seconds": {
            "min": round(min(gaps), 3) if gaps else None,
            "median": round(statistics.median(gaps), 3) if gaps else None,
            "max": round(max(gaps), 3) if gaps else None,
        },
        "first_post_seconds": {
            "min": round(min(firsts), 3) if firsts else None,
            "max": round(max(firsts), 3) if firsts else None,
        },
        "subscriptions": args.subscriptions,
        "channels": args.channels,
        "interval_seconds": args.interval,
        "delivered": len(posts),
        "distinct_digests": len(keys),
        "duplicates": sum(n - 1 for n in keys.values() if n > 1),
        "every_digest_once": len(keys) == args.subscriptions and all(n == 1 for n in keys.values()),
        "messages_per_channel": dict(sorted(per_channel.items())),
        "rate_limited_429": sum(fake.rate_limited.values()),
        "uploads": len(fake.uploads),
        "floor_seconds": round(floor, 3),
        "total_seconds": round(total, 3),
        "ratio_to_floor": round(total / floor, 3) if floor else None,
        "within_20_percent": bool(floor) and total <= 1.2 * floor,
        "tick": summary.describe(),
        "tick_seconds": round(tick_seconds[0], 3) if tick_seconds else None,
        "tick_ms_per_subscription": round(tick_seconds[0] * 1000 / args.subscriptions, 2)
        if tick_seconds
        else None,
        "distinct_builds": len(builds),
        "build_ms_per_distinct_scope": {
            "median": round(statistics.median(builds), 1) if builds else None,
            "max": round(max(builds), 1) if builds else None,
        },
        "build_ms_per_subscription_amortized": round(sum(builds) / args.subscriptions, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=500)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds per post per channel")
    parser.add_argument("--batch-size", type=int, default=50, help="outbox claim batch")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--database", default=None, help="PostgreSQL admin URL (default: SQLite)")
    args = parser.parse_args()
    with database(args.database) as url:
        report = asyncio.run(run(args, url))
    report["database"] = "postgresql" if args.database else "sqlite"
    report["python"] = platform.python_version()
    print(
        f"{report['delivered']} digests over {args.channels} channels in "
        f"{report['total_seconds']} s (floor {report['floor_seconds']} s, ratio "
        f"{report['ratio_to_floor']}); 429s: {report['rate_limited_429']}; duplicates: "
        f"{report['duplicates']}; build per distinct scope "
        f"{report['build_ms_per_distinct_scope']['median']} ms"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
