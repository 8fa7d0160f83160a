"""Cost ingestion on SQLite and PostgreSQL: idempotency, restatement, vanished rows, crashes."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col

from core.costs.breakdown import BreakdownQuery, cost_breakdown
from core.costs.grammar import parse_dimension, parse_filter
from core.costs.ingest import CostIngestor, Window, default_window, ensure_scope
from core.costs.model import CostType, RunStatus
from core.costs.periods import parse_period
from core.costs.store import GroupIds, write_day
from core.costs.tables import CostGroup, CostRecord, IngestionRun
from core.kernel.db.engine import make_engine, write_transaction
from core.kernel.db.migrate import upgrade
from core.kernel.errors import MalformedResponseError, UpstreamError
from core.kernel.scopes import parse_scope
from tests.support.fakes import FakeCostSource, make_row

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
    from core.costs.ingest import planned_window

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


# -- groups: renames, concurrent writers, rolled-back days --------------------------------------


def groups_stored(engine, *, rollup: bool = False) -> list[tuple]:
    """The groups of the daily rows (or, `rollup=True`, the rollup's: no resource, no tags)."""
    is_rollup = col(CostGroup.resource_id) == ""
    with engine.connect() as conn:
        return conn.execute(
            select(CostGroup.group_key, CostGroup.subscription_name, CostGroup.revision).where(
                is_rollup if rollup else ~is_rollup
            )
        ).all()


def orphan_rows(engine) -> int:
    """Rows whose group does not exist (the fact has no FOREIGN KEY: the store keeps this 0)."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(CostRecord)
            .outerjoin(CostGroup, col(CostGroup.id) == col(CostRecord.group_id))
            .where(col(CostGroup.id).is_(None))
        ).scalar()


async def test_a_renamed_subscription_updates_its_groups_once_and_readers_see_the_new_name(
    engine, clock
):
    await ingest(engine, clock, FakeCostSource(base_rows))
    before = stored(engine)

    def renamed(day):
        return [make_row(day, n, cost=f"{10 + n}.{day.day:02d}", subscription_name="Prod EU")
                for n in range(6)]  # fmt: skip

    summary = await ingest(engine, clock, FakeCostSource(renamed))  # same clock time

    # The first re-pulled day brings the new name: its rows count as updated, later days not.
    assert (summary.counts.updated, summary.counts.unchanged) == (6, 54)
    assert stored(engine) == before  # the daily rows themselves are untouched
    assert (
        sorted((name, revision) for _, name, revision in groups_stored(engine))
        == [("Prod EU", 2)] * 6
    )
    # The rollup's groups (one per resource group × service here) are renamed with them.
    assert {name for _, name, _ in groups_stored(engine, rollup=True)} == {"Prod EU"}
    periods = parse_period("7d", date(2026, 11, 11))
    by_sub = cost_breakdown(
        engine, BreakdownQuery(periods, parse_dimension("subscription"), CostType.ACTUAL)
    )
    assert [row.label for row in by_sub.rows] == ["Prod EU"]
    filtered = cost_breakdown(
        engine,
        BreakdownQuery(
            periods,
            parse_dimension("service"),
            CostType.ACTUAL,
            filters=(parse_filter("sub:prod eu"),),
        ),
    )
    assert filtered.total == by_sub.total > 0


@pytest.mark.parametrize("cost_types", ["same", "both"])
async def test_two_runs_on_one_scope_at_once_both_succeed_and_store_each_row_once(
    database_url, clock, cost_types
):
    engines = [make_engine(database_url) for _ in range(2)]
    upgrade(engines[0])
    kinds = [CostType.ACTUAL, CostType.ACTUAL if cost_types == "same" else CostType.AMORTIZED]
    try:
        summaries = await asyncio.gather(
            *(
                CostIngestor(e, clock).run(FakeCostSource(base_rows), SCOPE, kind, WINDOW)
                for e, kind in zip(engines, kinds, strict=True)
            )
        )
        assert all(s.status is RunStatus.SUCCEEDED for s in summaries)
        counts = [s.counts for s in summaries]
        if cost_types == "same":
            # Each day was written once; the run that came second found it unchanged.
            assert sum(c.inserted for c in counts) == 60
            assert sum(c.unchanged for c in counts) == 60
        else:
            assert [c.inserted for c in counts] == [60, 60]
        assert len(groups_stored(engines[0])) == 6  # one group per resource, shared
        with engines[0].connect() as conn:
            rows = conn.execute(select(func.count()).select_from(CostRecord)).scalar()
        assert rows == (60 if cost_types == "same" else 120)
        assert orphan_rows(engines[0]) == 0
    finally:
        for e in engines:
            e.dispose()


async def test_group_ids_from_a_rolled_back_day_are_never_reused(engine, clock):
    scope_id = ensure_scope(engine, SCOPE)
    groups = GroupIds()
    first, second = date(2026, 11, 1), date(2026, 11, 2)
    with pytest.raises(RuntimeError), write_transaction(engine) as conn:
        write_day(conn, scope_id=scope_id, cost_type="ActualCost", usage_date=first,
                  rows=base_rows(first), now=clock.now(), groups=groups)  # fmt: skip
        raise RuntimeError("the process dies before the commit")

    with write_transaction(engine) as conn:
        counts = write_day(conn, scope_id=scope_id, cost_type="ActualCost", usage_date=second,
                           rows=base_rows(second), now=clock.now(), groups=groups)  # fmt: skip
    groups.commit()

    assert counts.inserted == 6
    assert len(groups_stored(engine)) == 6
    assert orphan_rows(engine) == 0


async def test_runs_whose_process_died_are_marked_failed_at_the_next_start(engine, clock):
    """At start (`serve`, `scheduler`, `ingest`), runs left `running` by a process that is gone
    are failed at once: on this host by their pid, elsewhere once their heartbeat is stale."""
    import socket
    import sys

    from sqlalchemy import update as sql_update

    from core.costs.ingest import STALE_RUN_AFTER, fail_dead_runs
    from core.kernel.process import process_owner

    class Killed(BaseException):
        pass

    def kill_on_day(n):
        if n == 2:
            raise Killed

    runs_ids = []
    for _ in range(4):
        ingestor = CostIngestor(engine, clock)
        ingestor._finish_run = lambda *a, **k: 0  # SIGKILL: nothing more is recorded
        with pytest.raises(Killed):
            await ingestor.run(
                FakeCostSource(base_rows, on_day=kill_on_day), SCOPE, CostType.ACTUAL, WINDOW
            )
        with Session(engine) as s:
            runs_ids.append(s.exec(select(func.max(IngestionRun.id))).scalar())
    gone = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import os; print(os.getpid())", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await gone.communicate()
    dead_pid = int(out)
    host = socket.gethostname()
    owners = {
        runs_ids[0]: f"{host}:{dead_pid}",  # this host, its process is gone
        runs_ids[1]: "elsewhere:123",  # another host, heartbeat fresh: still running there
        runs_ids[2]: "stale-host:9",  # another host, heartbeat stale
        runs_ids[3]: process_owner(),  # our own pid: an earlier incarnation of this process
    }
    table = IngestionRun.__table__
    with engine.begin() as conn:
        for run_id, owner in owners.items():
            conn.execute(sql_update(table).where(table.c.id == run_id).values(owner=owner))
        conn.execute(
            sql_update(table)
            .where(table.c.id == runs_ids[2])
            .values(heartbeat_at=clock.now() - STALE_RUN_AFTER - timedelta(seconds=1))
        )

    assert fail_dead_runs(engine, clock.now()) == 3

    with Session(engine) as s:
        status = {r.id: r for r in s.exec(select(IngestionRun)).scalars()}
    assert [status[i].status for i in runs_ids] == [
        RunStatus.FAILED,
        RunStatus.RUNNING,
        RunStatus.FAILED,
        RunStatus.FAILED,
    ]
    assert "process running it stopped" in status[runs_ids[0]].error
    assert status[runs_ids[0]].finished_at == clock.now()
    assert fail_dead_runs(engine, clock.now()) == 0
