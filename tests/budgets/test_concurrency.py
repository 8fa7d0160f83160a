"""Exactly-once alerts under real concurrency: 50 evaluations from 4 processes (spawn), 12-13
threads each, started together on one budget that is over its threshold.

The unique key (budget, period start, threshold, kind) claimed with INSERT … ON CONFLICT DO
NOTHING RETURNING decides: one alert row, one outbox message per target, and no error (SQLite's
"database is locked" included) in any worker.
"""

from __future__ import annotations

import multiprocessing
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.budgets.evaluate import evaluate_budgets
from core.budgets.model import BudgetPeriod, BudgetScope, NewBudget, Threshold, ThresholdKind
from core.budgets.store import BudgetCache, create_budget
from core.budgets.tables import Alert
from core.costs.model import CostType
from core.delivery.tables import OutboxMessage
from core.delivery.targets import Target, TargetKind
from core.kernel.clock import FixedClock
from core.kernel.db.engine import make_engine
from tests.support.cost_rows import put_day, put_days

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
PROCESSES = 4
EVALUATIONS = 50
TARGETS = (Target(TargetKind.SLACK, "C0RACE001"), Target(TargetKind.WEBHOOK, "https://x.example/h"))

pytestmark = pytest.mark.slow


def evaluate_in_threads(url: str, count: int, ready, results) -> None:
    """One worker process: `count` evaluations in threads, released together with the others."""
    engine = make_engine(url, pool_size=6, max_overflow=2)
    clock = FixedClock(NOW)
    start = threading.Barrier(count)
    claimed: list[int] = []
    attempted: list[int] = []
    errors: list[str] = []

    def one(_: int) -> None:
        start.wait()
        try:
            # A budget cache of its own: every evaluation reads the store and races for the claim.
            summary = evaluate_budgets(engine, clock, cache=BudgetCache())
            claimed.append(summary.alerts_claimed)
            attempted.append(summary.alerts_attempted)
        except BaseException:
            errors.append(traceback.format_exc())

    try:
        ready.wait(timeout=120)
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(one, range(count)))
    except BaseException:
        errors.append(traceback.format_exc())
    finally:
        engine.dispose()
        results.put((sum(claimed), len(claimed), sum(attempted), errors))


def run_race(url: str) -> list[tuple[int, int, int, list[str]]]:
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Barrier(PROCESSES)
    results = spawn.Queue()
    counts = [
        EVALUATIONS // PROCESSES + (1 if i < EVALUATIONS % PROCESSES else 0)
        for i in range(PROCESSES)
    ]
    workers = [
        spawn.Process(target=evaluate_in_threads, args=(url, n, ready, results)) for n in counts
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=240) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    return outcomes


def prepare(engine, clock) -> None:
    put_days(engine, clock, date(2026, 10, 20), date(2026, 11, 26), "20")
    put_day(engine, clock, date(2026, 11, 27), "400")
    create_budget(
        engine,
        NewBudget(
            name="race",
            amount=Decimal("1000"),
            currency="EUR",
            period=BudgetPeriod.MONTHLY,
            start_date=date(2026, 11, 1),
            cost_type=CostType.ACTUAL,
            scope=BudgetScope(),
            thresholds=(Threshold(80, ThresholdKind.ACTUAL),),
            targets=TARGETS,
            owner_principal="slack:U1",
            owner_name="Ada",
        ),
        clock.now(),
    )


def assert_exactly_once(engine, outcomes) -> None:
    errors = [e for _claimed, _n, _tried, errs in outcomes for e in errs]
    assert errors == [], errors[0]
    assert sum(n for _c, n, _t, _e in outcomes) == EVALUATIONS
    # A real race: several evaluations found the alert unclaimed and tried; one won.
    assert sum(t for _c, _n, t, _e in outcomes) > 1
    assert sum(c for c, _n, _t, _e in outcomes) == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Alert)).scalar() == 1
        outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
        rows = conn.execute(select(outbox.c.target_kind, outbox.c.target_address)).all()
    assert sorted(rows) == sorted((str(t.kind), t.address) for t in TARGETS)


@pytest.mark.postgres
def test_50_evaluations_from_4_processes_claim_one_alert_on_postgres(postgres_url, clock):
    engine = make_engine(postgres_url)
    from core.kernel.db.migrate import upgrade

    upgrade(engine)
    prepare(engine, clock)

    outcomes = run_race(postgres_url)

    assert_exactly_once(engine, outcomes)
    engine.dispose()


def test_50_evaluations_from_4_processes_claim_one_alert_on_sqlite(
    sqlite_engine, sqlite_url, clock
):
    prepare(sqlite_engine, clock)

    outcomes = run_race(sqlite_url)

    assert_exactly_once(sqlite_engine, outcomes)
