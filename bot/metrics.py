"""What Prometheus scrapes from `/metrics`, beyond the HTTP and job metrics of their modules.

Labels never say `job` or `instance`: Prometheus sets those itself (a target label `job` would
become `exported_job`). Gauges that need the database (outbox backlog, dead letters, data
freshness) are refreshed by a background task every `REFRESH_SECONDS`, in a worker thread, so a
scrape never queries the database on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import Engine

from core.costs.ingest import freshness
from core.delivery.dispatcher import outbox_backlog

log = logging.getLogger(__name__)

REFRESH_SECONDS = 15.0
#: An ack slower than this risks Slack's 3 s limit (and its retry).
SLOW_ACK_SECONDS = 1.0

COMMAND_SECONDS = Histogram(
    "cloudoptima_command_seconds",
    "Time to answer a command or button, by command and outcome",
    ["command", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, float("inf")),
)
SLOW_ACKS = Counter(
    "cloudoptima_slow_acks_total",
    f"Chat requests (Slack events, Teams activities) acked after over {SLOW_ACK_SECONDS:g} s",
    ["route"],
)
OUTBOX_WAITING = Gauge(
    "cloudoptima_outbox_backlog_messages", "Outbox messages not delivered yet (pending, sending)"
)
OUTBOX_OLDEST = Gauge(
    "cloudoptima_outbox_oldest_message_age_seconds",
    "Age of the oldest outbox message not delivered yet (0 when none waits)",
)
OUTBOX_DEAD = Gauge(
    "cloudoptima_outbox_dead_letters", "Outbox messages given up on (see `outbox status`)"
)
INGESTION_AGE = Gauge(
    "cloudoptima_ingestion_last_success_age_seconds",
    "Seconds since the last successful ingestion of a scope and cost type",
    ["scope", "cost_type"],
)
DATA_AGE = Gauge(
    "cloudoptima_cost_data_age_seconds",
    "Seconds since the end of the newest day of cost data stored for a scope and cost type",
    ["scope", "cost_type"],
)
REFRESHED = Gauge(
    "cloudoptima_metrics_refreshed_timestamp_seconds",
    "When the database gauges were last refreshed (Unix time)",
)


def observe_command(command: str, outcome: str, seconds: float) -> None:
    """The core's observer: one latency observation per command or button."""
    COMMAND_SECONDS.labels(command, outcome).observe(seconds)


def observe_ack(route: str, seconds: float) -> None:
    if seconds > SLOW_ACK_SECONDS:
        SLOW_ACKS.labels(route).inc()


def refresh_gauges(engine: Engine, now: datetime) -> None:
    """Read the outbox and ingestion state once and set every database gauge (sync)."""
    backlog = outbox_backlog(engine)
    OUTBOX_WAITING.set(backlog.waiting)
    OUTBOX_DEAD.set(backlog.dead)
    oldest = backlog.oldest_queued_at
    OUTBOX_OLDEST.set(max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
    for found in freshness(engine):
        INGESTION_AGE.labels(found.scope, found.cost_type).set(
            max((now - found.succeeded_at).total_seconds(), 0.0)
        )
        day_end = datetime.combine(found.newest_day + timedelta(days=1), time(), tzinfo=now.tzinfo)
        DATA_AGE.labels(found.scope, found.cost_type).set(max((now - day_end).total_seconds(), 0.0))
    REFRESHED.set(now.timestamp())


async def refresh_forever(engine: Engine, clock_now: Callable[[], datetime]) -> None:
    """Refresh the database gauges every `REFRESH_SECONDS` until cancelled."""
    while True:
        try:
            await asyncio.to_thread(refresh_gauges, engine, clock_now())
        except Exception:
            log.warning("could not refresh the database metrics", exc_info=True)
        await asyncio.sleep(REFRESH_SECONDS)
