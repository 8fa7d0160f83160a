"""Forecasts of a scope's spend fetched from a provider (Azure Cost Management), as stored.

One row per (scope, cost type, period end) in `cost_forecast`: the forecast fetched on `as_of`
covers the days after it up to `period_end`, and the next fetch replaces it. Which forecasts to
fetch, and how they are used, is the budgets feature's business
(`core.budgets.provider_forecast`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Engine, delete, select

from core.costs.model import CostType, ForecastProvider
from core.costs.ports import ForecastFigure
from core.costs.tables import CostForecast
from core.kernel.db.engine import write_transaction
from core.kernel.db.upsert import insert_for

FORECASTS = CostForecast.__table__  # type: ignore[attr-defined]
#: A stored forecast is used when fetched today or at most this many days before.
FRESH_DAYS = 1
_COST_TYPES = {str(c): c for c in CostType}


@dataclass(frozen=True, slots=True, order=True)
class ForecastNeed:
    """One call to the provider: a scope's forecast from tomorrow to `period_end`."""

    scope: str
    scope_id: int
    cost_type: CostType
    period_end: date


def store_forecast(
    engine: Engine,
    need: ForecastNeed,
    as_of: date,
    figure: ForecastFigure | None,
    now: datetime,
    source: ForecastProvider = ForecastProvider.AZURE,
) -> None:
    """Replace the stored forecast of `need` by `figure` (fetched on `as_of`); None removes it."""
    key = (
        (FORECASTS.c.scope_id == need.scope_id)
        & (FORECASTS.c.cost_type == str(need.cost_type))
        & (FORECASTS.c.period_end == need.period_end)
    )
    with write_transaction(engine) as conn:
        if figure is None:
            conn.execute(delete(FORECASTS).where(key))
            return
        values = {
            "as_of": as_of,
            "amount": figure.amount,
            "currency": figure.currency,
            "source": str(source),
            "fetched_at": now,
        }
        conn.execute(
            insert_for(conn, FORECASTS)
            .values(
                scope_id=need.scope_id,
                cost_type=str(need.cost_type),
                period_end=need.period_end,
                **values,
            )
            .on_conflict_do_update(
                index_elements=["scope_id", "cost_type", "period_end"], set_=values
            )
        )


def prune_forecasts(engine: Engine, today: date) -> int:
    """Drop forecasts of periods that have ended; how many went."""
    with write_transaction(engine) as conn:
        return int(conn.execute(delete(FORECASTS).where(FORECASTS.c.period_end < today)).rowcount)


@dataclass(frozen=True, slots=True)
class StoredForecast:
    scope_id: int
    cost_type: CostType
    period_end: date
    as_of: date
    amount: Decimal
    currency: str
    source: str
    fetched_at: datetime


def stored_forecasts(conn: Connection) -> list[StoredForecast]:
    """Every stored forecast (the table holds one row per scope, cost type and period end)."""
    c = FORECASTS.c
    query = select(
        c.scope_id, c.cost_type, c.period_end, c.as_of, c.amount, c.currency, c.source,
        c.fetched_at,
    ).order_by(c.scope_id, c.cost_type, c.period_end)  # fmt: skip
    return [
        StoredForecast(int(s), _COST_TYPES[t], end, as_of, amount, currency, source, fetched)
        for s, t, end, as_of, amount, currency, source, fetched in conn.execute(query)
    ]


def fresh_forecasts(
    conn: Connection, today: date
) -> dict[tuple[int, CostType, date], StoredForecast]:
    """Forecasts fetched today or yesterday that still have days to forecast."""
    c = FORECASTS.c
    oldest = today - timedelta(days=FRESH_DAYS)
    query = select(
        c.scope_id, c.cost_type, c.period_end, c.as_of, c.amount, c.currency, c.source,
        c.fetched_at,
    ).where(c.as_of >= oldest, c.as_of <= today, c.period_end > c.as_of)  # fmt: skip
    out: dict[tuple[int, CostType, date], StoredForecast] = {}
    for s, t, end, as_of, amount, currency, source, fetched in conn.execute(query):
        cost_type = _COST_TYPES.get(t)
        if cost_type is not None:
            out[int(s), cost_type, end] = StoredForecast(
                int(s), cost_type, end, as_of, amount, currency, source, fetched
            )
    return out
