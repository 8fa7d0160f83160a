"""Cost data for the anomaly tests: amortized days written the way ingestion writes them."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from core.anomalies.model import AnomaliesConfig
from core.anomalies.scan import scan_anomalies
from core.anomalies.store import INCIDENTS, Incident, incident_from_row
from core.costs.model import CostType
from core.delivery.tables import OutboxMessage
from core.kernel.clock import FixedClock
from tests.support.cost_rows import put_day

OUTBOX = OutboxMessage.__table__
FIRST = date(2026, 9, 1)
#: The series every test looks at, and a quieter neighbour.
WEB = ("rg-web", "Virtual Machines")
DATA = ("rg-data", "Storage")


def normal_cost(day: date, level: float, seed: str) -> Decimal:
    rng = random.Random(f"{seed}/{day.isoformat()}")
    value = level * (0.6 if day.weekday() >= 5 else 1.0) * rng.uniform(0.97, 1.03)
    return Decimal(str(round(value, 2)))


def put_costs(engine, clock, first: date, last: date, factors=None, *, data_factors=None) -> None:
    """Both series from `first` to `last`; `factors` multiply WEB's cost on given days."""
    factors = factors or {}
    data_factors = data_factors or {}
    day = first
    while day <= last:
        web = normal_cost(day, 1000, "web") * Decimal(str(factors.get(day, 1)))
        data = normal_cost(day, 400, "data") * Decimal(str(data_factors.get(day, 1)))
        put_day(
            engine,
            clock,
            day,
            [(*WEB, str(web)), (*DATA, str(data))],
            cost_type=CostType.AMORTIZED,
        )
        day += timedelta(days=1)


def at(day: date, hour: int = 9, minute: int = 30) -> FixedClock:
    return FixedClock(datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC))


def scan(engine, clock, config: AnomaliesConfig | None = None):
    return scan_anomalies(engine, clock, config or AnomaliesConfig())


def incidents(engine) -> list[Incident]:
    with engine.connect() as conn:
        return [
            incident_from_row(r) for r in conn.execute(select(INCIDENTS).order_by(INCIDENTS.c.id))
        ]


def service_incidents(engine) -> list[Incident]:
    return [i for i in incidents(engine) if not i.is_subscription]


def outbox(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(OUTBOX).order_by(OUTBOX.c.id)).all()
