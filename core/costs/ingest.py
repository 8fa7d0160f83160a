"""Cost ingestion: stream days from a `CostSource`, commit each day with the run's checkpoint.

A run covers one scope and one cost type over a window of days. Each day is one transaction: the
groups it brings for the first time, its upsert, the removal of rows that vanished from it, and the
run's checkpoint and counts commit together (see `core.costs.store`). A run that dies leaves every
committed day intact; the next run over the same window resumes the day after the checkpoint.
Memory is bounded by one day (plus the source's chunk, and the scope's group ids).
"""

from __future__ import annotations

import asyncio
import calendar
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, bindparam, func, or_, update
from sqlmodel import Session, col, select

from core.costs.model import CostType, RunStatus
from core.costs.ports import CostDay, CostSource
from core.costs.store import DayCounts, GroupIds, write_day
from core.costs.tables import CostScope, IngestionRun
from core.kernel.clock import Clock
from core.kernel.db.engine import write_session, write_transaction
from core.kernel.db.retry import retrying
from core.kernel.db.upsert import insert_for
from core.kernel.errors import CloudOptimaError, MalformedResponseError
from core.kernel.process import owner_is_gone, process_owner
from core.kernel.scopes import Scope

log = logging.getLogger(__name__)

#: A RUNNING run whose heartbeat is older than this is taken for dead.
STALE_RUN_AFTER = timedelta(minutes=15)
#: A running run renews its heartbeat this often (besides each day it commits).
HEARTBEAT_SECONDS = 30.0

_RUN = IngestionRun.__table__.c  # type: ignore[attr-defined]
#: A day's checkpoint and counts, built once (it runs with every day of every run).
_CHECKPOINT = (
    IngestionRun.__table__.update()  # type: ignore[attr-defined]
    # Conditional: a day retried after its commit went through (the answer was lost with the
    # connection) is not counted twice.
    .where(
        _RUN.id == bindparam("run_id"),
        or_(_RUN.checkpoint_date.is_(None), _RUN.checkpoint_date < bindparam("day")),
    )
    .values(
        checkpoint_date=bindparam("day"),
        days_done=_RUN.days_done + 1,
        rows_inserted=_RUN.rows_inserted + bindparam("inserted"),
        rows_updated=_RUN.rows_updated + bindparam("updated"),
        rows_unchanged=_RUN.rows_unchanged + bindparam("unchanged"),
        rows_removed=_RUN.rows_removed + bindparam("removed"),
        heartbeat_at=bindparam("now"),
    )
)


@dataclass(frozen=True, slots=True)
class Window:
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def default_window(today: date, *, previous_month_until_day: int = 7) -> Window:
    """Month to date, plus the whole previous month until its `previous_month_until_day`-th day.

    Azure rerates open-period costs and closes a month up to ~5 days after it ends, so the
    previous month is re-pulled for a week into the new one.
    """
    start = today.replace(day=1)
    if today.day <= previous_month_until_day:
        start = (start - timedelta(days=1)).replace(day=1)
    return Window(start, today)


def backfill_window(today: date, days: int) -> Window:
    """The first pull of a scope: `days` back from today."""
    return Window(today - timedelta(days=days - 1), today)


def has_succeeded_before(engine: Engine, scope: Scope, cost_type: CostType) -> bool:
    with Session(engine) as session:
        found = session.exec(
            select(IngestionRun.id)
            .join(CostScope, col(CostScope.id) == col(IngestionRun.scope_id))
            .where(
                col(CostScope.path) == scope.path,
                col(IngestionRun.cost_type) == str(cost_type),
                col(IngestionRun.status) == RunStatus.SUCCEEDED,
            )
            .limit(1)
        ).first()
    return found is not None


def planned_window(
    engine: Engine,
    scope: Scope,
    cost_type: CostType,
    today: date,
    *,
    backfill_days: int,
    previous_month_until_day: int,
) -> Window:
    """A scope's first run backfills `backfill_days`; later runs re-pull the default window."""
    if has_succeeded_before(engine, scope, cost_type):
        return default_window(today, previous_month_until_day=previous_month_until_day)
    return backfill_window(today, backfill_days)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a finished (or failed) run did, detached from the database session."""

    run_id: int
    scope: str
    cost_type: str
    window: Window
    resumed_from: date | None
    status: RunStatus
    counts: DayCounts
    days_done: int
    duration_ms: int
    error: str | None


ProgressCallback = Callable[[date, DayCounts], None]


def ensure_scope(engine: Engine, scope: Scope) -> int:
    """The id of `scope`'s row, created on first use (safe under concurrent callers)."""
    with write_transaction(engine) as conn:
        conn.execute(
            insert_for(engine, CostScope.__table__)  # type: ignore[attr-defined]
            .values(path=scope.path, kind=str(scope.kind))
            .on_conflict_do_nothing(index_elements=["path"])
        )
        scope_id = conn.execute(
            select(CostScope.id).where(col(CostScope.path) == scope.path)
        ).scalar()
    assert scope_id is not None
    return int(scope_id)


class CostIngestor:
    """Runs ingestions against one database."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    async def run(
        self,
        source: CostSource,
        scope: Scope,
        cost_type: CostType,
        window: Window,
        *,
        resume: bool = True,
        progress: ProgressCallback | None = None,
    ) -> RunSummary:
        """Ingest `window` for `scope` and `cost_type`; a failure is recorded, then re-raised."""
        scope_id = await asyncio.to_thread(retrying(ensure_scope), self._engine, scope)
        resumed_from = (
            await asyncio.to_thread(retrying(self._resume_point), scope_id, cost_type, window)
            if resume
            else None
        )
        start = resumed_from or window.start
        run_id = await asyncio.to_thread(retrying(self._start_run), scope_id, cost_type, window)
        heartbeat = asyncio.create_task(self._heartbeat(run_id))
        started = self._clock.now()
        try:
            total, days_done = await self._days(
                source,
                scope,
                cost_type,
                Window(start, window.end) if start <= window.end else None,
                run_id,
                scope_id,
                progress,
            )
        except BaseException as exc:
            message = _failure_message(exc)
            await asyncio.shield(
                asyncio.to_thread(
                    retrying(self._finish_run), run_id, RunStatus.FAILED, started, message
                )
            )
            log.warning("ingestion run %s failed: %s", run_id, message)
            raise
        finally:
            heartbeat.cancel()
        duration = await asyncio.to_thread(
            retrying(self._finish_run), run_id, RunStatus.SUCCEEDED, started, None
        )
        return RunSummary(
            run_id=run_id,
            scope=scope.path,
            cost_type=str(cost_type),
            window=window,
            resumed_from=resumed_from,
            status=RunStatus.SUCCEEDED,
            counts=total,
            days_done=days_done,
            duration_ms=duration,
            error=None,
        )

    async def _days(
        self,
        source: CostSource,
        scope: Scope,
        cost_type: CostType,
        todo: Window | None,
        run_id: int,
        scope_id: int,
        progress: ProgressCallback | None,
    ) -> tuple[DayCounts, int]:
        """Stream and commit the days of `todo` (None: nothing left); the counts and days."""
        groups = GroupIds()  # the scope's group ids, read once per run
        total = DayCounts()
        days_done = 0
        if todo is None:
            return total, days_done
        expected = todo.start
        async for day in source.days(scope, cost_type, todo.start, todo.end):
            _check_day_order(day, expected, scope)
            counts = await asyncio.to_thread(
                retrying(self._commit_day), run_id, scope_id, cost_type, day, groups
            )
            total += counts
            days_done += 1
            expected = day.usage_date + timedelta(days=1)
            if progress:
                progress(day.usage_date, counts)
        if expected <= todo.end:
            raise MalformedResponseError(
                f"the cost source stopped at {expected - timedelta(days=1)} "
                f"instead of {todo.end} for scope {scope}",
                service="Cost source",
            )
        return total, days_done

    async def _heartbeat(self, run_id: int) -> None:
        """Renew the run's heartbeat while a slow day (Azure throttling) is awaited."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await asyncio.to_thread(retrying(self._beat), run_id)
            except Exception:
                log.warning("could not renew the heartbeat of ingestion run %s", run_id)

    # -- database steps (each runs in a worker thread) ---------------------------------------

    def _beat(self, run_id: int) -> None:
        with write_transaction(self._engine) as conn:
            conn.execute(
                update(IngestionRun)
                .where(
                    col(IngestionRun.id) == run_id, col(IngestionRun.status) == RunStatus.RUNNING
                )
                .values(heartbeat_at=self._clock.now())
            )

    def _resume_point(self, scope_id: int, cost_type: CostType, window: Window) -> date | None:
        """The day after the checkpoint of an interrupted run over this same window, if any."""
        self._abandon_stale_runs(scope_id, cost_type)
        with Session(self._engine) as session:
            run = session.exec(
                select(IngestionRun)
                .where(
                    col(IngestionRun.scope_id) == scope_id,
                    col(IngestionRun.cost_type) == str(cost_type),
                )
                .order_by(col(IngestionRun.started_at).desc(), col(IngestionRun.id).desc())
                .limit(1)
            ).first()
        if run is None:
            return None
        interrupted = run.status in (RunStatus.FAILED, RunStatus.ABANDONED)
        same_window = (run.window_start, run.window_end) == (window.start, window.end)
        if interrupted and same_window and run.checkpoint_date is not None:
            return run.checkpoint_date + timedelta(days=1)
        return None

    def _abandon_stale_runs(self, scope_id: int, cost_type: CostType) -> None:
        cutoff = self._clock.now() - STALE_RUN_AFTER
        with write_transaction(self._engine) as conn:
            conn.execute(
                update(IngestionRun)
                .where(
                    col(IngestionRun.scope_id) == scope_id,
                    col(IngestionRun.cost_type) == str(cost_type),
                    col(IngestionRun.status) == RunStatus.RUNNING,
                    col(IngestionRun.heartbeat_at) < cutoff,
                )
                .values(status=RunStatus.ABANDONED, error="the process running it stopped")
            )

    def _start_run(self, scope_id: int, cost_type: CostType, window: Window) -> int:
        now = self._clock.now()
        with write_session(self._engine) as session:
            run = IngestionRun(
                scope_id=scope_id,
                cost_type=str(cost_type),
                window_start=window.start,
                window_end=window.end,
                status=RunStatus.RUNNING,
                started_at=now,
                heartbeat_at=now,
                owner=process_owner(),
            )
            session.add(run)
            session.flush()
            assert run.id is not None
            return run.id

    def _commit_day(
        self, run_id: int, scope_id: int, cost_type: CostType, day: CostDay, groups: GroupIds
    ) -> DayCounts:
        now = self._clock.now()
        with write_transaction(self._engine) as conn:
            counts = write_day(
                conn,
                scope_id=scope_id,
                cost_type=str(cost_type),
                usage_date=day.usage_date,
                rows=day.rows,
                now=now,
                groups=groups,
            )
            conn.execute(
                _CHECKPOINT,
                {
                    "run_id": run_id,
                    "day": day.usage_date,
                    "inserted": counts.inserted,
                    "updated": counts.updated,
                    "unchanged": counts.unchanged,
                    "removed": counts.removed,
                    "now": now,
                },
            )
        groups.commit()  # the day's new and renamed groups exist now
        return counts

    def _finish_run(
        self, run_id: int, status: RunStatus, started: datetime, error: str | None
    ) -> int:
        finished = self._clock.now()
        duration_ms = max(0, int((finished - started).total_seconds() * 1000))
        with write_session(self._engine) as session:
            run = session.get(IngestionRun, run_id)
            assert run is not None
            run.status = status
            run.finished_at = finished
            run.duration_ms = duration_ms
            run.error = error[:2000] if error else None
            session.add(run)
        return duration_ms


def fail_dead_runs(engine: Engine, now: datetime) -> int:
    """Mark failed the runs still `running` whose process is gone: at a process's start (and at
    each pipeline's), so `cloudoptima runs` and resumption see them at once. A run of this host
    whose pid is gone (or is ours: an earlier incarnation) is dead now; one of another host once
    its heartbeat is older than `STALE_RUN_AFTER`. Returns how many."""
    with engine.connect() as conn:
        running = conn.execute(
            select(IngestionRun.id, IngestionRun.owner, IngestionRun.heartbeat_at).where(
                col(IngestionRun.status) == RunStatus.RUNNING
            )
        ).all()
    dead = [
        run_id
        for run_id, owner, heartbeat in running
        if owner_is_gone(owner)
        or (owner_is_gone(owner) is None and heartbeat < now - STALE_RUN_AFTER)
    ]
    if not dead:
        return 0
    with write_transaction(engine) as conn:
        failed = conn.execute(
            update(IngestionRun)
            .where(col(IngestionRun.id).in_(dead), col(IngestionRun.status) == RunStatus.RUNNING)
            .values(
                status=RunStatus.FAILED,
                finished_at=now,
                error="the process running it stopped before it finished",
            )
        ).rowcount
    log.warning("marked %d ingestion run(s) failed: their process had stopped", failed)
    return failed


def _failure_message(exc: BaseException) -> str:
    if isinstance(exc, CloudOptimaError):
        return exc.user_message()
    if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
        return "interrupted"
    return f"internal error ({type(exc).__name__}); see the logs"


def _check_day_order(day: CostDay, expected: date, scope: Scope) -> None:
    if day.usage_date != expected:
        raise MalformedResponseError(
            f"the cost source yielded {day.usage_date} where {expected} was due for scope {scope}",
            service="Cost source",
        )


@dataclass(frozen=True, slots=True)
class Freshness:
    """How recent one scope's data is, per cost type (metrics and alerts)."""

    scope: str
    cost_type: str
    #: When its last successful ingestion finished.
    succeeded_at: datetime
    #: The newest day a successful ingestion covered.
    newest_day: date


def freshness(engine: Engine) -> list[Freshness]:
    """Per scope and cost type: the last successful ingestion and the newest day it brought."""
    with Session(engine) as session:
        rows = session.exec(
            select(
                CostScope.path,
                IngestionRun.cost_type,
                func.max(IngestionRun.finished_at),
                func.max(IngestionRun.window_end),
            )
            .join(CostScope, col(CostScope.id) == col(IngestionRun.scope_id))
            .where(col(IngestionRun.status) == RunStatus.SUCCEEDED)
            .group_by(CostScope.path, IngestionRun.cost_type)
        ).all()
    found = []
    for path, cost_type, finished, newest in rows:
        if isinstance(finished, str):  # SQLite answers an aggregate of timestamps as text
            finished = datetime.fromisoformat(finished)
        if isinstance(newest, str):
            newest = date.fromisoformat(newest)
        if finished is None or newest is None:
            continue
        if finished.tzinfo is None:
            finished = finished.replace(tzinfo=UTC)
        found.append(Freshness(path, cost_type, finished, newest))
    return found


def latest_runs(engine: Engine, limit: int = 20) -> list[tuple[IngestionRun, str]]:
    """The most recent runs with their scope paths, newest first (for `cloudoptima runs`)."""
    with Session(engine) as session:
        rows = session.exec(
            select(IngestionRun, CostScope.path)
            .join(CostScope, col(CostScope.id) == col(IngestionRun.scope_id))
            .order_by(col(IngestionRun.id).desc())
            .limit(limit)
        ).all()
    return [(run, path) for run, path in rows]
