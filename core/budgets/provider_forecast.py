"""Forecasts from a provider (Azure Cost Management), fetched after ingestion, used by budgets.

With `CLOUDOPTIMA_FORECAST_SOURCE=azure`:

- **Fetching** (`refresh_forecasts`, async, after each ingestion): for every ingested scope and
  cost type that some budget counts *exactly* (see `exact_scope`), one call per distinct end of
  the budgets' current periods asks the provider for the forecast from tomorrow to that end, and
  stores it in `cost_forecast` (one row per scope, cost type and period end, replaced by the next
  fetch). A provider with no forecast (too little history) removes the row; a failed call keeps
  the previous row, which expires on its own.
- **Evaluating** (`ProviderForecasts.apply`, synchronous, inside `core.budgets.evaluate.assess`):
  a budget counting exactly one ingested scope, in its current period, whose forecast is fresh
  (fetched today or yesterday) and in the budget's currency, forecasts
  `spend through the last complete day (our data) + the days still being reported up to the
  fetch day at the data's run rate + the provider's forecast for the days after the fetch day`,
  never less than the spend to date. Every other budget keeps the run rate computed from the
  data (`core.costs.forecasting`).

The Forecast API answers for a whole scope, so only a budget whose costs are exactly the scope's
can use it: a budget on one ingested scope (`scope:`/`mg:`) with no other filter, a `sub:` budget
whose subscription is itself an ingested scope (and has no costs under any other), or a budget
without filters when only one scope is ingested.
"""

from __future__ import annotations

import asyncio
import logging
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import Connection, Engine

from core.budgets.model import BudgetRecord, BudgetScope
from core.budgets.store import load_budgets
from core.budgets.windows import BudgetWindow, window_containing
from core.costs.forecasting import (
    Forecast,
    SpendFigures,
    with_provider_forecast,
)
from core.costs.forecasts import (
    ForecastNeed,
    ScopeCatalog,
    StoredForecast,
    exact_scope_id,
    fresh_forecasts,
    load_scope_catalog,
    prune_forecasts,
    store_forecast,
)
from core.costs.model import CostType
from core.costs.ports import ForecastSource
from core.kernel.clock import Clock
from core.kernel.errors import CloudOptimaError
from core.kernel.scopes import parse_scope

log = logging.getLogger(__name__)


# -- which ingested scope a budget counts exactly -----------------------------------------------


def exact_scope(scope: BudgetScope, catalog: ScopeCatalog) -> int | None:
    """The ingested scope whose costs are exactly the budget's, or None (`exact_scope_id`)."""
    others = (scope.resource_group, scope.service, scope.location, scope.meter, scope.tags)
    return exact_scope_id(
        catalog,
        scope_path=scope.scope_path,
        subscription=scope.subscription,
        other_filters=any(others),
    )


# -- what to fetch -------------------------------------------------------------------------------


def needs_for(
    budgets: Sequence[BudgetRecord],
    catalog: ScopeCatalog,
    today: date,
    ingested: Collection[tuple[str, CostType]],
) -> list[ForecastNeed]:
    """The distinct (scope, cost type, period end) the budgets need: one call each, never one
    per budget. Only scopes and cost types in `ingested`, only periods that end after today."""
    wanted = set(ingested)
    paths = catalog.paths
    resolved: dict[BudgetScope, int | None] = {}
    needs: set[ForecastNeed] = set()
    for budget in budgets:
        window = window_containing(budget.start_date, budget.period, today)
        if window is None or window.end <= today:
            continue
        if budget.scope not in resolved:
            resolved[budget.scope] = exact_scope(budget.scope, catalog)
        scope_id = resolved[budget.scope]
        if scope_id is None or (paths[scope_id], budget.cost_type) not in wanted:
            continue
        needs.add(ForecastNeed(paths[scope_id], scope_id, budget.cost_type, window.end))
    return sorted(needs)


def forecast_needs(
    engine: Engine, today: date, ingested: Collection[tuple[str, CostType]]
) -> list[ForecastNeed]:
    """`needs_for` every budget, read from the database."""
    with engine.connect() as conn:
        budgets = load_budgets(conn)
        catalog = load_scope_catalog(conn)
    return needs_for(budgets, catalog, today, ingested)


# -- using them in an evaluation -----------------------------------------------------------------


@dataclass(slots=True)
class ProviderForecasts:
    """What a pass needs to put the provider's forecasts in place of the data method's."""

    catalog: ScopeCatalog
    fresh: dict[tuple[int, CostType, date], StoredForecast]
    _resolved: dict[BudgetScope, int | None] = field(default_factory=dict)

    @staticmethod
    def load(conn: Connection, today: date) -> ProviderForecasts:
        return ProviderForecasts(load_scope_catalog(conn), fresh_forecasts(conn, today))

    def stored_for(self, budget: BudgetRecord, window: BudgetWindow) -> StoredForecast | None:
        """The fresh forecast that answers exactly for this budget and window, if any."""
        if not self.fresh:
            return None
        if budget.scope not in self._resolved:
            self._resolved[budget.scope] = exact_scope(budget.scope, self.catalog)
        scope_id = self._resolved[budget.scope]
        if scope_id is None:
            return None
        stored = self.fresh.get((scope_id, budget.cost_type, window.end))
        if stored is None or stored.currency != budget.currency:
            return None
        # The forecast covers as_of + 1 .. window.end: that must be the rest of this window.
        if not window.start <= stored.as_of + timedelta(days=1) <= window.end:
            return None
        return stored

    def apply(
        self,
        budget: BudgetRecord,
        window: BudgetWindow,
        series: Sequence[int],
        firsts: Sequence[date],
        figures: SpendFigures,
        last_complete: date,
        data_forecast: Forecast,
    ) -> Forecast | None:
        """The budget's forecast from the provider, or None (the data method's stands).

        `series`/`firsts` are the budget's spend per bucket (units); `figures` and
        `last_complete` what the data method used. Total = spend through the last complete day
        (at most the fetch day) + the run rate of the days from there through the fetch day
        (today is still being reported, and Azure's data may lag) + the provider's forecast
        of the days after the fetch day; never less than the spend to date.
        """
        stored = self.stored_for(budget, window)
        if stored is None:
            return None
        start = bisect_left(firsts, window.start)

        def spend_through(day: date) -> int:
            return sum(series[start : bisect_right(firsts, day)])

        forecast = with_provider_forecast(
            amount=stored.amount,
            as_of=stored.as_of,
            window=window,
            spend_through=spend_through,
            figures=figures,
            last_complete=last_complete,
        )
        return replace(forecast, history_days=data_forecast.history_days)


# -- fetching (async: the provider is reached over the network) ---------------------------------


@dataclass(frozen=True, slots=True)
class ForecastRefresh:
    """What one refresh did."""

    #: Calls made to the provider (one per scope, cost type and period end).
    calls: int = 0
    stored: int = 0
    #: The provider had no forecast (e.g. too little history): the data method is used.
    unavailable: int = 0
    #: Calls that failed (throttled, refused, malformed): the previous forecast stays.
    failed: int = 0
    errors: tuple[str, ...] = ()

    def describe(self) -> str:
        text = (
            f"{self.calls} forecast(s) asked, {self.stored} stored, "
            f"{self.unavailable} unavailable, {self.failed} failed"
        )
        return text + (f" ({self.errors[0]})" if self.errors else "")


async def refresh_forecasts(
    engine: Engine,
    clock: Clock,
    source: ForecastSource,
    ingested: Collection[tuple[str, CostType]],
) -> ForecastRefresh:
    """Fetch and store the forecasts the budgets need for the `ingested` (scope path, cost type)
    pairs; one scope's failure is logged and does not stop the others."""
    today = clock.now().date()
    needs = await asyncio.to_thread(forecast_needs, engine, today, ingested)
    stored = unavailable = failed = 0
    errors: list[str] = []
    start = today + timedelta(days=1)
    for need in needs:
        try:
            figure = await source.forecast(
                parse_scope(need.scope), need.cost_type, start, need.period_end
            )
        except CloudOptimaError as exc:
            failed += 1
            errors.append(exc.user_message())
            log.warning(
                "forecast for %s to %s not fetched: %s",
                need.scope,
                need.period_end,
                exc.user_message(),
            )
            continue
        expected_days = (need.period_end - start).days + 1
        if figure is not None and figure.days != expected_days:
            log.warning(
                "forecast for %s covers %d of %d day(s); not used",
                need.scope,
                figure.days,
                expected_days,
            )
            figure = None
        await asyncio.to_thread(store_forecast, engine, need, today, figure, clock.now())
        if figure is None:
            unavailable += 1
        else:
            stored += 1
    await asyncio.to_thread(prune_forecasts, engine, today)
    summary = ForecastRefresh(len(needs), stored, unavailable, failed, tuple(errors))
    log.info("forecast refresh: %s", summary.describe())
    return summary
