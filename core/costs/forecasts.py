"""Forecasts of a scope's spend fetched from a provider (Azure Cost Management), as stored.

One row per (scope, cost type, period end) in `cost_forecast`: the forecast fetched on `as_of`
covers the days after it up to `period_end`, and the next fetch replaces it. Which forecasts to
fetch, and how they are used, is the budgets feature's business
(`core.budgets.provider_forecast`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Engine, delete, select

from core.costs.model import CostType, ForecastProvider
from core.costs.ports import ForecastFigure
from core.costs.tables import CostForecast, CostGroup, CostScope
from core.kernel.db.engine import write_transaction
from core.kernel.db.upsert import insert_for

FORECASTS = CostForecast.__table__  # type: ignore[attr-defined]
GROUPS = CostGroup.__table__  # type: ignore[attr-defined]
SCOPES = CostScope.__table__  # type: ignore[attr-defined]
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


# -- which ingested scope a filter counts exactly ---------------------------------------------


@dataclass(frozen=True, slots=True)
class ScopeCatalog:
    """The ingested scopes, and where each subscription's costs were ingested."""

    #: Ingested scope path → id.
    ids: dict[str, int]
    #: Subscription id (lower-case) → the scopes its cost groups belong to.
    homes: dict[str, frozenset[int]]
    #: Subscription name (lower-case) → its ids (names are not unique).
    by_name: dict[str, frozenset[str]]

    @property
    def paths(self) -> dict[int, str]:
        return {scope_id: path for path, scope_id in self.ids.items()}


def load_scope_catalog(conn: Connection) -> ScopeCatalog:
    """Two small queries: the scopes, and the distinct subscriptions of the cost groups."""
    ids = {str(path): int(i) for i, path in conn.execute(select(SCOPES.c.id, SCOPES.c.path))}
    homes: dict[str, set[int]] = defaultdict(set)
    by_name: dict[str, set[str]] = defaultdict(set)
    g = GROUPS.c
    for scope_id, sub_id, sub_name in conn.execute(
        select(g.scope_id, g.subscription_id, g.subscription_name).distinct()
    ):
        homes[str(sub_id).lower()].add(int(scope_id))
        by_name[str(sub_name).lower()].add(str(sub_id).lower())
    return ScopeCatalog(
        ids,
        {k: frozenset(v) for k, v in homes.items()},
        {k: frozenset(v) for k, v in by_name.items()},
    )


def exact_scope_id(
    catalog: ScopeCatalog, *, scope_path: str = "", subscription: str = "", other_filters: bool
) -> int | None:
    """The ingested scope whose costs are exactly those a filter counts, or None (a provider's
    forecast answers for a whole scope, so only such a filter can use it):

    - `scope:<path>` (or `mg:`) alone: that scope, if ingested;
    - `sub:<name or id>` alone: the subscription's scope, when it is itself ingested, the name
      means one subscription, and none of its costs were ingested through another scope;
    - no filter at all: the one ingested scope, when there is exactly one.
    """
    if other_filters or (scope_path and subscription):
        return None
    if scope_path:
        return catalog.ids.get(scope_path)
    if subscription:
        value = subscription.lower()
        subscriptions = (
            frozenset({value})
            if value in catalog.homes
            else catalog.by_name.get(value, frozenset())
        )
        if len(subscriptions) != 1:
            return None
        [subscription] = subscriptions
        scope_id = catalog.ids.get(f"/subscriptions/{subscription}")
        if scope_id is None or catalog.homes.get(subscription) != frozenset({scope_id}):
            return None
        return scope_id
    if len(catalog.ids) == 1:
        return next(iter(catalog.ids.values()))
    return None
