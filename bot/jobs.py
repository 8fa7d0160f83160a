"""The scheduled work, written once: ingest every scope → fetch forecasts → evaluate budgets →
score anomalies.

`run_pipeline` is what the scheduler's `ingest` job, `cloudoptima ingest` and `cloudoptima demo`
run; each passes its own progress (a progress bar, nothing). Every scope is ingested for every
configured cost type (`CLOUDOPTIMA_COST_TYPES`, ActualCost and AmortizedCost by default). One
run's failure is recorded and does not stop the others; forecasts are fetched for what was
ingested (with `CLOUDOPTIMA_FORECAST_SOURCE=azure`), and budgets are evaluated when anything was
ingested.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from sqlalchemy import Engine

from bot.settings import Settings
from core.anomalies.scan import ScanSummary
from core.budgets.evaluate import EvaluationSummary
from core.budgets.provider_forecast import ForecastRefresh, refresh_forecasts
from core.costs.ingest import CostIngestor, RunSummary, Window, planned_window
from core.costs.model import CostType, ForecastProvider
from core.costs.ports import CostSource, ForecastSource
from core.costs.store import DayCounts
from core.kernel.clock import Clock
from core.kernel.errors import CloudOptimaError
from core.kernel.scopes import Scope

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestPlan:
    scope: Scope
    window: Window
    cost_type: CostType = CostType.ACTUAL


@dataclass(frozen=True, slots=True)
class ScopeFailure:
    scope: Scope
    message: str
    cost_type: CostType = CostType.ACTUAL


class PipelineParts(Protocol):
    """What the pipeline needs; the composition root's `Container` provides it."""

    settings: Settings
    engine: Engine
    clock: Clock

    def scopes(self) -> list[Scope]: ...

    def cost_source(self) -> AbstractAsyncContextManager[CostSource]: ...

    def forecast_source(self) -> AbstractAsyncContextManager[ForecastSource]: ...

    def evaluate_budgets(self) -> EvaluationSummary: ...

    def scan_anomalies(self) -> ScanSummary: ...


class Progress(Protocol):
    """What a caller sees of a pipeline run (the CLI draws a progress bar from it)."""

    def planned(self, plans: Sequence[IngestPlan]) -> None: ...

    def day_done(self, scope: Scope, day: date, counts: DayCounts) -> None: ...


class NoProgress:
    def planned(self, plans: Sequence[IngestPlan]) -> None:
        return None

    def day_done(self, scope: Scope, day: date, counts: DayCounts) -> None:
        return None


@dataclass(frozen=True, slots=True)
class PipelineResult:
    done: list[RunSummary]
    failed: list[ScopeFailure]
    #: None unless forecasts come from Azure (and something was ingested).
    forecasts: ForecastRefresh | None
    #: None when nothing was ingested.
    budgets: EvaluationSummary | None
    #: None when nothing was ingested (or the scan failed: logged).
    anomalies: ScanSummary | None = None


async def run_pipeline(
    container: PipelineParts,
    *,
    days: int | None = None,
    since: date | None = None,
    cost_type: CostType | None = None,
    progress: Progress | None = None,
) -> PipelineResult:
    """Ingest every scope for every cost type (its planned window, or `since`/`days`; only
    `cost_type` when given), then forecasts and budgets."""
    settings = container.settings
    progress = progress or NoProgress()
    plans = [
        plan
        for kind in ([cost_type] if cost_type else settings.cost_types)
        for plan in plan_ingestion(
            container.engine,
            container.scopes(),
            kind,
            container.clock.now().date(),
            backfill_days=settings.backfill_days,
            previous_month_until_day=settings.reingest_previous_month_until_day,
            days=days,
            since=since,
        )
    ]
    progress.planned(plans)
    async with container.cost_source() as source:
        done, failed = await run_ingestion(
            container.engine, container.clock, source, plans, progress=progress
        )
    for failure in failed:
        log.warning("ingestion of %s failed: %s", failure.scope, failure.message)
    forecasts = await fetch_forecasts(container, done)
    budgets = await asyncio.to_thread(container.evaluate_budgets) if done else None
    anomalies = await scan_after_ingestion(container) if done else None
    return PipelineResult(done, failed, forecasts, budgets, anomalies)


async def scan_after_ingestion(container: PipelineParts) -> ScanSummary | None:
    """Score anomalies on what was just ingested; a failure is logged, never the pipeline's."""
    try:
        return await asyncio.to_thread(container.scan_anomalies)
    except Exception:
        log.exception("the anomaly scan after ingestion failed; the scheduled scan retries")
        return None


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
        plans.append(IngestPlan(scope, window, cost_type))
    return plans


async def run_ingestion(
    engine: Engine,
    clock: Clock,
    source: CostSource,
    plans: list[IngestPlan],
    *,
    progress: Progress | None = None,
) -> tuple[list[RunSummary], list[ScopeFailure]]:
    """Run every plan; one run's failure is recorded and does not stop the others."""
    ingestor = CostIngestor(engine, clock)
    seen = progress or NoProgress()
    done: list[RunSummary] = []
    failed: list[ScopeFailure] = []
    for plan in plans:

        def on_day(day: date, counts: DayCounts, scope: Scope = plan.scope) -> None:
            seen.day_done(scope, day, counts)

        try:
            done.append(
                await ingestor.run(source, plan.scope, plan.cost_type, plan.window, progress=on_day)
            )
        except CloudOptimaError as exc:
            failed.append(ScopeFailure(plan.scope, exc.user_message(), plan.cost_type))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ingestion of %s failed unexpectedly", plan.scope)
            failed.append(ScopeFailure(plan.scope, "internal error; see the logs", plan.cost_type))
    return done, failed


async def fetch_forecasts(
    container: PipelineParts, done: list[RunSummary]
) -> ForecastRefresh | None:
    """With `forecast_source=azure`, fetch the forecasts the budgets need for the scopes and
    cost types just ingested (one call per scope, cost type and period end); None otherwise.
    A failed fetch is logged and never fails the ingestion."""
    if container.settings.forecast_source != ForecastProvider.AZURE or not done:
        return None
    ingested = {(run.scope, CostType(run.cost_type)) for run in done}
    try:
        async with container.forecast_source() as source:
            return await refresh_forecasts(container.engine, container.clock, source, ingested)
    except Exception:
        log.exception("fetching the Azure forecasts failed; budgets keep the data method")
        return None


async def scheduled_pipeline(container: PipelineParts) -> PipelineResult:
    """The scheduler's `ingest` job: the pipeline; a run where every scope failed fails."""
    result = await run_pipeline(container)
    if result.failed and not result.done:
        raise RuntimeError(f"ingestion failed for all {len(result.failed)} scope(s)")
    return result
