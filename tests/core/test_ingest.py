"""Cost ingestion on SQLite and PostgreSQL: idempotency, restatement, vanished rows, crashes."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from core.errors import MalformedResponseError, UpstreamError
from core.ingest import CostIngestor, Window, default_window
from core.models import CostRecord, CostType, IngestionRun, RunStatus
from core.scopes import parse_scope
from tests.fakes import FakeCostSource, make_row

SCOPE = parse_scope("/subscriptions/00000000-0000-0000-0000-000000000001")
WINDOW = Window(date(2026, 11, 1), date(2026, 11, 10))


def base_rows(day: date) -> list:
    return [make_row(day, n, cost=f"{10 + n}.{day.day:02d}") for n in range(6)]


def stored(engine) -> dict:
    with Session(engine) as s:
        return {
            (r.usage_date, r.group_id): (r.cost, r.cost_usd, r.quantity, r.updated_at)
            for r in s.exec(select(CostRecord)).scalars()
        }


def total_cost(engine) -> Decimal:
    with engine.connect() as conn:
        return conn.execute(select(func.sum(CostRecord.cost))).scalar()


async def ingest(engine, clock, source, window=WINDOW, **kw):
    return await CostIngestor(engine, clock).run(source, SCOPE, CostType.ACTUAL, window, **kw)


async def test_first_load_inserts_every_row_and_records_the_run(engine, clock):
    summary = await ingest(engine, clock, FakeCostSource(base_rows))

    assert summary.status is RunStatus.SUCCEEDED
    assert (summary.counts.inserted, summary.counts.updated) == (60, 0)
    assert (summary.counts.unchanged, summary.counts.removed) == (0, 0)
    expected = sum((r.cost for d in range(1, 11) for r in base_rows(date(2026, 11, d))), Decimal(0))
    assert total_cost(engine) == expected
    with Session(engine) as s:
        run = s.get(IngestionRun, summary.run_id)
    assert run.status == RunStatus.SUCCEEDED
    assert (run.rows_inserted, run.days_done, run.checkpoint_date) == (60, 10, WINDOW.end)
    assert run.duration_ms is not None and run.finished_at is not None


async def test_reingesting_the_same_window_changes_nothing(engine, clock):
    await ingest(engine, clock, FakeCostSource(base_rows))
    before = stored(engine)
    clock.current += timedelta(hours=6)

    summary = await ingest(engine, clock, FakeCostSource(base_rows))

    assert summary.counts.inserted == summary.counts.updated == summary.counts.removed == 0
    assert summary.counts.unchanged == 60
    assert stored(engine) == before  # not even updated_at moved


async def test_restated_values_update_exactly_those_rows(engine, clock):
    await ingest(engine, clock, FakeCostSource(base_rows))
    before = stored(engine)
    clock.current += timedelta(hours=6)
    restated_days = {date(2026, 11, 9), date(2026, 11, 10)}

    def restated(day):
        rows = base_rows(day)
        if day in restated_days:
            rows[0] = make_row(day, 0, cost="99.12345678")
        return rows

    summary = await ingest(engine, clock, FakeCostSource(restated))

    assert (summary.counts.updated, summary.counts.unchanged) == (2, 58)
    after = stored(engine)
    changed = {key for key in after if after[key] != before[key]}
    assert {day for day, _ in changed} == restated_days and len(changed) == 2
    for key in changed:
        assert after[key][0] == Decimal("99.12345678")
        assert after[key][3] == clock.now()


async def test_rows_that_vanished_from_a_repulled_day_are_removed(engine, clock):
    await ingest(engine, clock, FakeCostSource(base_rows))

    def fewer(day):
        return base_rows(day)[:4] if day == date(2026, 11, 5) else base_rows(day)

    summary = await ingest(engine, clock, FakeCostSource(fewer))

    assert summary.counts.removed == 2
    with engine.connect() as conn:
        n = conn.execute(
            select(func.count()).where(CostRecord.usage_date == date(2026, 11, 5))
        ).scalar()
    assert n == 4


async def test_an_empty_repulled_day_removes_all_its_rows(engine, clock):
    await ingest(engine, clock, FakeCostSource(base_rows))
    summary = await ingest(
        engine, clock, FakeCostSource(lambda d: [] if d == date(2026, 11, 3) else base_rows(d))
    )
    assert summary.counts.removed == 6


async def test_duplicate_groups_within_a_day_are_added_up(engine, clock):
    def doubled(day):
        return [make_row(day, 1, cost="1.50"), make_row(day, 1, cost="2.25")]

    summary = await ingest(
        engine, clock, FakeCostSource(doubled), window=Window(WINDOW.start, WINDOW.start)
    )
    assert summary.counts.inserted == 1
    assert total_cost(engine) == Decimal("3.75")


async def test_a_crash_mid_run_keeps_committed_days_and_the_next_run_completes_the_rest(
    engine, clock
):
    # Crash point: the source fails after serving 4 of the 10 days.
    with pytest.raises(UpstreamError):
        await ingest(engine, clock, FakeCostSource(base_rows, fail_after_days=4))

    with Session(engine) as s:
        failed = s.exec(select(IngestionRun)).scalars().one()
    assert failed.status == RunStatus.FAILED
    assert failed.checkpoint_date == date(2026, 11, 4) and failed.rows_inserted == 24
    assert "connection reset" in failed.error
    assert {day for day, _ in stored(engine)} == {date(2026, 11, d) for d in range(1, 5)}

    source = FakeCostSource(base_rows)
    summary = await ingest(engine, clock, source)

    assert source.requested == [(date(2026, 11, 5), WINDOW.end)]
    assert summary.resumed_from == date(2026, 11, 5)
    assert summary.counts.inserted == 36
    expected = sum((r.cost for d in range(1, 11) for r in base_rows(date(2026, 11, d))), Decimal(0))
    assert total_cost(engine) == expected


async def test_a_run_killed_without_cleanup_is_abandoned_and_resumed(engine, clock):
    """A process killed mid-run leaves its run RUNNING; once stale, the next run takes over."""

    class Killed(BaseException):
        pass

    def kill_on_day(n):
        if n == 3:
            raise Killed  # stands in for SIGKILL: no error handling reaches the database

    ingestor = CostIngestor(engine, clock)
    ingestor._finish_run = lambda *a, **k: 0  # the dying process records nothing more
    with pytest.raises(Killed):
        await ingestor.run(
            FakeCostSource(base_rows, on_day=kill_on_day), SCOPE, CostType.ACTUAL, WINDOW
        )
    clock.current += timedelta(minutes=20)

    summary = await ingest(engine, clock, FakeCostSource(base_rows))

    with Session(engine) as s:
        runs = s.exec(select(IngestionRun).order_by(IngestionRun.id)).scalars().all()
    assert [r.status for r in runs] == [RunStatus.ABANDONED, RunStatus.SUCCEEDED]
    assert summary.resumed_from == date(2026, 11, 4)
    assert len(stored(engine)) == 60


async def test_a_source_that_skips_a_day_fails_the_run_before_writing_it(engine, clock):
    class Skipping(FakeCostSource):
        async def days(self, scope, cost_type, start, end):
            async for day in super().days(scope, cost_type, start, end):
                if day.usage_date != date(2026, 11, 3):
                    yield day

    with pytest.raises(MalformedResponseError, match="2026-11-04 where 2026-11-03 was due"):
        await ingest(engine, clock, Skipping(base_rows))
    assert {d for d, _ in stored(engine)} == {date(2026, 11, 1), date(2026, 11, 2)}


def test_default_window_is_month_to_date_plus_previous_month_until_day_7():
    assert default_window(date(2026, 11, 27)) == Window(date(2026, 11, 1), date(2026, 11, 27))
    assert default_window(date(2026, 12, 7)) == Window(date(2026, 11, 1), date(2026, 12, 7))
    assert default_window(date(2026, 12, 8)) == Window(date(2026, 12, 1), date(2026, 12, 8))
    assert default_window(date(2027, 1, 3)) == Window(date(2026, 12, 1), date(2027, 1, 3))
    assert default_window(date(2026, 12, 3), previous_month_until_day=2) == Window(
        date(2026, 12, 1), date(2026, 12, 3)
    )


async def test_memory_is_bounded_by_a_day_not_by_the_window(sqlite_engine, clock):
    """Streaming: ten times more days must not need ten times more memory."""

    def rows(day):
        return [make_row(day, n, cost="1.00") for n in range(300)]

    async def peak_for(days: int, start: date) -> int:
        gc.collect()
        tracemalloc.start()
        await ingest(
            sqlite_engine,
            clock,
            FakeCostSource(rows),
            window=Window(start, start + timedelta(days=days - 1)),
        )
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak

    small = await peak_for(5, date(2026, 1, 1))
    large = await peak_for(50, date(2026, 3, 1))
    assert large < small * 2, (small, large)


async def test_first_run_backfills_and_later_runs_repull_the_default_window(engine, clock):
    from core.ingest import planned_window

    today = clock.now().date()
    first = planned_window(
        engine, SCOPE, CostType.ACTUAL, today, backfill_days=90, previous_month_until_day=7
    )
    assert first == Window(today - timedelta(days=89), today)
    await ingest(engine, clock, FakeCostSource(base_rows))
    later = planned_window(
        engine, SCOPE, CostType.ACTUAL, today, backfill_days=90, previous_month_until_day=7
    )
    assert later == default_window(today)
