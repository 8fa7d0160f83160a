"""Reading and writing incidents, feedback and routes (the scoring pass writes incidents in
`core.anomalies.scan`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from core.anomalies.detect import Direction, SeriesTuning
from core.anomalies.model import SETTLED, FeedbackKind, Status
from core.anomalies.tables import AnomalyFeedback, AnomalyIncident, AnomalyRoute
from core.costs.model import CostType
from core.delivery.targets import Target, TargetKind
from core.kernel.db.engine import write_transaction
from core.kernel.db.upsert import insert_for
from core.kernel.errors import NotFoundError
from core.kernel.money import to_storage_units

INCIDENTS = AnomalyIncident.__table__  # type: ignore[attr-defined]
FEEDBACK = AnomalyFeedback.__table__  # type: ignore[attr-defined]
ROUTES = AnomalyRoute.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Incident:
    """A stored incident."""

    id: int
    series_key: str
    cost_type: CostType
    first_day: date
    last_day: date
    days: int
    scope_id: int
    subscription_id: str
    subscription_name: str
    service_name: str
    resource_group: str
    currency: str
    direction: Direction
    impact: Decimal
    actual: Decimal
    expected: Decimal
    low: Decimal
    high: Decimal
    peak_score: float
    peak_deviation: Decimal
    status: Status
    acknowledged_by: str | None
    acknowledged_name: str | None
    acknowledged_at: datetime | None
    card: dict[str, Any] | None
    revision: int
    created_at: datetime
    updated_at: datetime

    @property
    def notifies(self) -> bool:
        """Whether its message is still updated (not settled by feedback, not acknowledged)."""
        return self.status not in SETTLED and self.acknowledged_at is None

    @property
    def is_subscription(self) -> bool:
        return not self.service_name and not self.resource_group

    def describe(self) -> str:
        """`Virtual Machines in rg-web (Production)` or `subscription Production`."""
        if self.is_subscription:
            return f"subscription {self.subscription_name or self.subscription_id}"
        return f"{self.service_name} in {self.resource_group} ({self.subscription_name})"


def incident_from_row(row: Any) -> Incident:
    return Incident(
        id=int(row.id),
        series_key=row.series_key,
        cost_type=CostType(row.cost_type),
        first_day=row.first_day,
        last_day=row.last_day,
        days=int(row.days),
        scope_id=int(row.scope_id),
        subscription_id=row.subscription_id,
        subscription_name=row.subscription_name,
        service_name=row.service_name,
        resource_group=row.resource_group,
        currency=row.currency,
        direction=Direction(row.direction),
        impact=row.impact,
        actual=row.actual,
        expected=row.expected,
        low=row.low,
        high=row.high,
        peak_score=float(row.peak_score),
        peak_deviation=row.peak_deviation,
        status=Status(row.status),
        acknowledged_by=row.acknowledged_by,
        acknowledged_name=row.acknowledged_name,
        acknowledged_at=row.acknowledged_at,
        card=row.card,
        revision=int(row.revision),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def get_incident(engine: Engine, incident_id: int) -> Incident:
    with engine.connect() as conn:
        row = conn.execute(select(INCIDENTS).where(INCIDENTS.c.id == incident_id)).first()
    if row is None:
        raise NotFoundError(
            f"There is no anomaly #{incident_id}.", hint="Type `anomalies` to list them."
        )
    return incident_from_row(row)


def recent_incidents(conn: Connection, cost_type: CostType, since: date) -> list[Incident]:
    """Incidents of `cost_type` whose last day is `since` or later (what a pass may change)."""
    query = select(INCIDENTS).where(
        INCIDENTS.c.cost_type == str(cost_type), INCIDENTS.c.last_day >= since
    )
    return [incident_from_row(r) for r in conn.execute(query)]


def list_incidents(engine: Engine, start: date, end: date, limit: int = 200) -> list[Incident]:
    """Incidents with a day in [start, end], the largest impact first."""
    query = (
        select(INCIDENTS)
        .where(INCIDENTS.c.first_day <= end, INCIDENTS.c.last_day >= start)
        .order_by(func.abs(INCIDENTS.c.impact).desc(), INCIDENTS.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [incident_from_row(r) for r in conn.execute(query)]


# -- feedback ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tuning:
    """A series' feedback as the detector needs it (days, not indices)."""

    floor: Decimal = Decimal(0)
    rebaseline_from: date | None = None

    def for_series(self, first_day: date) -> SeriesTuning:
        index = (self.rebaseline_from - first_day).days if self.rebaseline_from else None
        return SeriesTuning(to_storage_units(self.floor), index)


def tunings(conn: Connection, cost_type: CostType) -> dict[str, Tuning]:
    """Per series key: the highest floor "Too small" set, the latest new normal."""
    f = FEEDBACK.c
    query = (
        select(f.series_key, func.max(f.floor), func.max(f.from_day))
        .where(
            f.cost_type == str(cost_type),
            f.kind.in_([FeedbackKind.EXPECTED, FeedbackKind.TOO_SMALL]),
        )
        .group_by(f.series_key)
    )
    return {
        key: Tuning(floor or Decimal(0), from_day) for key, floor, from_day in conn.execute(query)
    }


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    incident: Incident
    #: False when the same feedback had been given already (by `by_name`, at `at`).
    first: bool
    by_name: str
    at: datetime


def record_feedback(
    engine: Engine,
    incident_id: int,
    kind: FeedbackKind,
    *,
    principal: str,
    name: str,
    now: datetime,
) -> FeedbackResult:
    """Store who said what about an incident, and what it changes: Expected closes it and
    re-baselines the series from its first day; Too small closes it and raises the series'
    floor above its largest daily deviation; Acknowledge stops its updates."""
    with write_transaction(engine) as conn:
        row = conn.execute(
            select(INCIDENTS).where(INCIDENTS.c.id == incident_id).with_for_update()
        ).first()
        if row is None:
            raise NotFoundError(f"There is no anomaly #{incident_id}.")
        incident = incident_from_row(row)
        already = conn.execute(
            select(FEEDBACK.c.name, FEEDBACK.c.created_at)
            .where(FEEDBACK.c.incident_id == incident_id, FEEDBACK.c.kind == str(kind))
            .order_by(FEEDBACK.c.id)
            .limit(1)
        ).first()
        if already is not None:
            return FeedbackResult(incident, False, already.name, already.created_at)
        values: dict[str, Any] = {"updated_at": now}
        floor: Decimal | None = None
        from_day: date | None = None
        if kind is FeedbackKind.EXPECTED:
            values["status"] = Status.EXPECTED
            from_day = incident.first_day
        elif kind is FeedbackKind.TOO_SMALL:
            values["status"] = Status.TOO_SMALL
            floor = _floor_above(incident)
        elif incident.acknowledged_at is None:
            values.update(acknowledged_by=principal, acknowledged_name=name, acknowledged_at=now)
        conn.execute(
            FEEDBACK.insert().values(
                incident_id=incident_id,
                series_key=incident.series_key,
                cost_type=str(incident.cost_type),
                kind=str(kind),
                principal=principal,
                name=name,
                created_at=now,
                floor=floor,
                from_day=from_day,
            )
        )
        conn.execute(update(INCIDENTS).where(INCIDENTS.c.id == incident_id).values(**values))
        row = conn.execute(select(INCIDENTS).where(INCIDENTS.c.id == incident_id)).one()
    return FeedbackResult(incident_from_row(row), True, name, now)


def _floor_above(incident: Incident) -> Decimal:
    """A floor a quarter above the incident's largest daily deviation."""
    return (abs(incident.peak_deviation) * Decimal("1.25")).quantize(Decimal("0.01"))


# -- routes ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    target: Target
    subscription: str = ""
    resource_group: str = ""
    service: str = ""
    min_impact: Decimal | None = None

    def matches(self, incident: Incident) -> bool:
        """Filters match case-insensitively; a subscription-level incident matches only routes
        without a resource group or service filter."""
        if self.subscription and self.subscription not in (
            incident.subscription_id.lower(),
            incident.subscription_name.lower(),
        ):
            return False
        if self.resource_group and self.resource_group != incident.resource_group.lower():
            return False
        if self.service and self.service != incident.service_name.lower():
            return False
        return self.min_impact is None or abs(incident.impact) >= self.min_impact

    def describe_filters(self) -> str:
        parts = [
            f"{label}:{value}"
            for label, value in (
                ("sub", self.subscription),
                ("rg", self.resource_group),
                ("service", self.service),
            )
            if value
        ]
        return " ".join(parts) or "every series"


def load_routes(conn: Connection) -> list[Route]:
    return [
        Route(
            Target(TargetKind(r.target_kind), r.target_address),
            r.subscription,
            r.resource_group,
            r.service,
            r.min_impact,
        )
        for r in conn.execute(select(ROUTES).order_by(ROUTES.c.id))
    ]


def save_route(engine: Engine, route: Route, principal: str, now: datetime) -> None:
    """Add a route, or change the minimum of the same target and filters."""
    statement = insert_for(engine, ROUTES).values(
        target_kind=str(route.target.kind),
        target_address=route.target.address,
        subscription=route.subscription,
        resource_group=route.resource_group,
        service=route.service,
        min_impact=route.min_impact,
        created_by=principal,
        created_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[
            "target_kind",
            "target_address",
            "subscription",
            "resource_group",
            "service",
        ],
        set_={"min_impact": statement.excluded.min_impact},
    )
    with write_transaction(engine) as conn:
        conn.execute(statement)


def remove_routes(engine: Engine, target: Target) -> int:
    with write_transaction(engine) as conn:
        removed = conn.execute(
            delete(ROUTES)
            .where(
                ROUTES.c.target_kind == str(target.kind),
                ROUTES.c.target_address == target.address,
            )
            .returning(ROUTES.c.id)
        ).all()
    return len(removed)


def routes_of(engine: Engine, target: Target) -> Sequence[Route]:
    with engine.connect() as conn:
        return [r for r in load_routes(conn) if r.target == target]
