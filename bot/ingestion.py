"""Ingesting every configured scope: planning windows, running them, reporting progress.

Shared by `cloudoptima ingest`, `cloudoptima demo` and the scheduler's ingestion job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine

from core.costs_store import DayCounts
from core.errors import CloudOptimaError
from core.ingest import CostIngestor, RunSummary, Window, planned_window
from core.models import CostType
from core.ports import Clock, CostSource
from core.scopes import Scope

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestPlan:
    scope: Scope
    window: Window


@dataclass(frozen=True, slots=True)
class ScopeFailure:
    scope: Scope
    message: str


DayProgress = Callable[[Scope, date, DayCounts], None]


def plan_ingestion(
    engine: Engine,
    scopes: list[Scope],
    cost_type: CostType,
    today: date,
    *,
    backfill_days: int,
    previous_month_until_day: int,
    days: int | None = None,
    since: date | None = None,
) -> list[IngestPlan]:
    """One window per scope: explicit (`since` / `days`) or the planned default."""
    plans = []
    for scope in scopes:
        if since is not None:
            window = Window(since, today)
        elif days is not None:
            window = Window(today - timedelta(days=days - 1), today)
        else:
            window = planned_window(
                engine,
                scope,
                cost_type,
                today,
                backfill_days=backfill_days,
                previous_month_until_day=previous_month_until_day,
            )
        plans.append(IngestPlan(scope, window))
    return plans


async def run_ingestion(
    engine: Engine,
    clock: Clock,
    source: CostSource,
    plans: list[IngestPlan],
    cost_type: CostType,
    *,
    progress: DayProgress | None = None,
) -> tuple[list[RunSummary], list[ScopeFailure]]:
    """Run every plan; one scope's failure is recorded and does not stop the others."""
    ingestor = CostIngestor(engine, clock)
    done: list[RunSummary] = []
    failed: list[ScopeFailure] = []
    for plan in plans:

        def on_day(day: date, counts: DayCounts, scope: Scope = plan.scope) -> None:
            if progress:
                progress(scope, day, counts)

        try:
            done.append(
                await ingestor.run(source, plan.scope, cost_type, plan.window, progress=on_day)
            )
        except CloudOptimaError as exc:
            failed.append(ScopeFailure(plan.scope, exc.user_message()))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ingestion of %s failed unexpectedly", plan.scope)
            failed.append(ScopeFailure(plan.scope, "internal error; see the logs"))
    return done, failed
