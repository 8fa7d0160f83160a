"""Faults survived: PostgreSQL backends killed every 300 ms (pg_terminate_backend) while an
ingestion and an outbox dispatch run. Every database step retries on a fresh connection
(bounded, with backoff) and both finish with exact results."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from core.costs.ingest import CostIngestor, Window
from core.costs.model import CostType, RunStatus
from core.costs.tables import CostRecord, IngestionRun
from core.delivery.dispatcher import DispatchConfig, Dispatcher
from core.delivery.ports import Delivery
from core.delivery.tables import OutboxStatus
from core.delivery.targets import Target, TargetKind
from core.kernel.db.engine import make_engine
from core.kernel.db.migrate import upgrade
from core.kernel.db.retry import is_transient, retrying
from core.kernel.scopes import parse_scope
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support.fakes import FakeCostSource, make_row
from tests.support.outbox import add_messages, rows

pytestmark = pytest.mark.postgres

SCOPE = parse_scope("/subscriptions/00000000-0000-0000-0000-000000000001")
WINDOW = Window(date(2026, 8, 1), date(2026, 11, 10))  # 102 days
ROWS_A_DAY = 60


class BackendKiller:
    """Terminates every backend of one database every `every` seconds, from another one."""

    def __init__(self, database_url: str, every: float = 0.3) -> None:
        self.database = database_url.rsplit("/", 1)[1]
        self.every = every
        self.killed = 0
        self._admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            with self._admin.connect() as conn:
                self.killed += conn.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                        "FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": self.database},
                ).scalar_one()

    def __enter__(self) -> BackendKiller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._admin.dispose()


def rows_for(day: date) -> list:
    return [make_row(day, n, cost=f"{n}.{day.day:02d}") for n in range(ROWS_A_DAY)]


def expected_total() -> Decimal:
    days = [WINDOW.start + timedelta(days=i) for i in range(WINDOW.days)]
    return sum((r.cost for day in days for r in rows_for(day)), Decimal(0))


class SlowSource(FakeCostSource):
    """Each day takes a little while to arrive (as Azure's pages do), so kills land anywhere:
    in a day's transaction, between two, in the pool."""

    async def days(self, scope, cost_type, start, end):
        async for day in super().days(scope, cost_type, start, end):
            await asyncio.sleep(0.03)  # ~3 s in all: ten rounds of kills at least
            yield day


@pytest.fixture
def pg_engine(postgres_url) -> Engine:
    engine = make_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


async def test_ingestion_finishes_exactly_while_backends_are_killed(
    pg_engine, postgres_url, clock, caplog
):
    with (
        caplog.at_level(logging.WARNING, logger="core.kernel.db.retry"),
        BackendKiller(postgres_url) as killer,
    ):
        summary = await CostIngestor(pg_engine, clock).run(
            SlowSource(rows_for), SCOPE, CostType.ACTUAL, WINDOW
        )
    # Whether a round of kills lands inside a day's transaction (a logged retry) or between two
    # (the pool reconnects) is timing on a shared machine; either way the result must be exact.
    assert killer.killed >= 3, "the test must actually kill connections"

    assert summary.status == RunStatus.SUCCEEDED
    assert summary.days_done == WINDOW.days
    assert summary.counts.inserted == WINDOW.days * ROWS_A_DAY
    with pg_engine.connect() as conn:
        count, total = conn.execute(select(func.count(), func.sum(CostRecord.cost))).one()
        run = conn.execute(select(IngestionRun)).one()
    assert (count, total) == (WINDOW.days * ROWS_A_DAY, expected_total())
    assert (run.status, run.days_done, run.rows_inserted) == (
        RunStatus.SUCCEEDED,
        WINDOW.days,
        WINDOW.days * ROWS_A_DAY,
    )
    # A rerun finds everything in place: nothing inserted, nothing updated.
    again = await CostIngestor(pg_engine, clock).run(
        SlowSource(rows_for), SCOPE, CostType.ACTUAL, WINDOW
    )
    assert (again.counts.inserted, again.counts.updated) == (0, 0)


class CountingNotifier:
    kind = TargetKind.WEBHOOK

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    async def send(self, delivery: Delivery) -> str:
        await asyncio.sleep(0.005)
        self.sent[delivery.idempotency_key] += 1
        return f"id-{delivery.idempotency_key}"

    async def was_delivered(self, delivery: Delivery) -> bool:
        return self.sent[delivery.idempotency_key] > 0

    async def update(self, delivery: Delivery, message_id: str) -> str:
        return message_id


async def test_outbox_dispatch_delivers_every_message_once_while_backends_are_killed(
    pg_engine, postgres_url, clock
):
    hook = Target(TargetKind.WEBHOOK, "https://hooks.example.com/x")
    keys = add_messages(pg_engine, hook, clock.now(), 300)
    notifier = CountingNotifier()
    dispatcher = Dispatcher(
        pg_engine, {TargetKind.WEBHOOK: notifier}, clock, DispatchConfig(batch_size=5)
    )

    started = time.monotonic()
    with BackendKiller(postgres_url) as killer:
        outcomes = await dispatcher.dispatch_until_idle()
        while time.monotonic() - started < 1.0:  # at least a few kills land mid-dispatch
            outcomes += await dispatcher.dispatch_until_idle()
            await asyncio.sleep(0.05)
    assert killer.killed >= 2

    final = rows(pg_engine)
    assert {row["status"] for row in final.values()} == {OutboxStatus.SENT}
    assert set(notifier.sent) == set(keys)
    # Each message reached the receiver once, whatever the kills interrupted.
    assert max(notifier.sent.values()) == 1
    assert outcomes.count("sent") + outcomes.count("already_delivered") >= len(keys) - 5


def test_only_connection_faults_are_retried(sqlite_engine):
    calls = []

    def broken_sql() -> None:
        calls.append(1)
        with sqlite_engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(OperationalError) as raised:
        retrying(broken_sql, initial_wait=0.001)()
    assert len(calls) == 1 and not is_transient(raised.value)
    assert not is_transient(ValueError("not a database error"))


def test_a_connection_that_stays_down_gives_up_within_the_bound(clock):
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    calls = []

    def step() -> None:
        calls.append(1)
        with engine.connect():
            pass

    started = time.monotonic()
    with pytest.raises(OperationalError):
        retrying(step, attempts=4, initial_wait=0.01)()
    assert len(calls) == 4 and time.monotonic() - started < 10
    engine.dispose()
