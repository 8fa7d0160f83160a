"""Reading alerts back: recent alerts with their delivery state, and acknowledgements."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from core.budgets.model import OUTBOX_SOURCE, ThresholdKind
from core.budgets.store import chunks
from core.budgets.tables import Alert, AlertAck, Budget
from core.delivery.tables import OutboxMessage
from core.kernel.db.engine import write_transaction
from core.kernel.db.upsert import insert_for
from core.kernel.errors import NotFoundError, UserInputError

ALERTS = Alert.__table__  # type: ignore[attr-defined]
ACKS = AlertAck.__table__  # type: ignore[attr-defined]
BUDGETS = Budget.__table__  # type: ignore[attr-defined]
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Delivery:
    target_kind: str
    target_address: str
    status: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    budget_id: int
    budget_name: str
    period_start: date
    threshold: int
    kind: ThresholdKind
    spent: Decimal
    amount: Decimal
    currency: str
    forecast: Decimal | None
    notified: bool
    created_at: datetime
    deliveries: tuple[Delivery, ...]
    acknowledged_by: str | None
    acknowledged_at: datetime | None


def recent_alerts(
    engine: Engine,
    budget_id: int | None = None,
    limit: int = 15,
    *,
    period_start: date | None = None,
) -> list[AlertView]:
    """The latest alerts (of one budget, or all; of one period), newest first, with deliveries
    and acks."""
    a = ALERTS.c
    query = (
        select(
            a.id,
            a.budget_id,
            BUDGETS.c.name,
            a.period_start,
            a.threshold,
            a.kind,
            a.spent,
            a.amount,
            a.currency,
            a.forecast,
            a.notified,
            a.created_at,
            ACKS.c.name.label("ack_name"),
            ACKS.c.acknowledged_at,
        )
        .join(BUDGETS, BUDGETS.c.id == a.budget_id)
        .outerjoin(ACKS, ACKS.c.alert_id == a.id)
        .order_by(a.created_at.desc(), a.id.desc())
        .limit(limit)
    )
    if budget_id is not None:
        query = query.where(a.budget_id == budget_id)
    if period_start is not None:
        query = query.where(a.period_start == period_start)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        deliveries: dict[str, list[Delivery]] = defaultdict(list)
        ids = [str(r.id) for r in rows]
        o = OUTBOX.c
        for chunk in chunks(ids):
            for m in conn.execute(
                select(
                    o.source_id, o.target_kind, o.target_address, o.status, o.attempts, o.last_error
                )
                .where(o.source == OUTBOX_SOURCE, o.source_id.in_(chunk))
                .order_by(o.id)
            ):
                deliveries[m.source_id].append(
                    Delivery(m.target_kind, m.target_address, m.status, m.attempts, m.last_error)
                )
    return [
        AlertView(
            id=int(r.id),
            budget_id=int(r.budget_id),
            budget_name=r.name,
            period_start=r.period_start,
            threshold=int(r.threshold),
            kind=ThresholdKind(r.kind),
            spent=r.spent,
            amount=r.amount,
            currency=r.currency,
            forecast=r.forecast,
            notified=bool(r.notified),
            created_at=r.created_at,
            deliveries=tuple(deliveries[str(r.id)]),
            acknowledged_by=r.ack_name,
            acknowledged_at=r.acknowledged_at,
        )
        for r in rows
    ]


def period_alerts(
    engine: Engine, budget_id: int, period_start: date
) -> dict[tuple[int, str], AlertView]:
    """(threshold, kind) → the alert claimed for it in one period, with its deliveries."""
    views = recent_alerts(engine, budget_id, limit=1000, period_start=period_start)
    return {(v.threshold, str(v.kind)): v for v in views}


@dataclass(frozen=True, slots=True)
class AlertKey:
    budget_id: int
    period_start: date
    threshold: int
    kind: ThresholdKind


def parse_alert_key(value: str) -> AlertKey:
    """The Acknowledge button's value (`core.budgets.evaluate.ack_value`)."""
    parts = value.split(":")
    try:
        if len(parts) != 4 or not all(p.isascii() for p in parts):
            raise ValueError(value)
        return AlertKey(
            int(parts[0]), date.fromisoformat(parts[1]), int(parts[2]), ThresholdKind(parts[3])
        )
    except ValueError:
        raise UserInputError(
            "That button does not carry an alert I can recognize.",
            hint="Use `alerts` to see the recent alerts.",
        ) from None


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    alert_id: int
    card: dict[str, Any] | None
    name: str
    at: datetime
    first: bool


def acknowledge(
    engine: Engine, key: AlertKey, principal: str, name: str, now: datetime
) -> Acknowledgement:
    """Record who acknowledged the alert; the first click wins, later ones learn who it was."""
    a = ALERTS.c
    with write_transaction(engine) as conn:
        row = conn.execute(
            select(a.id, a.card).where(
                a.budget_id == key.budget_id,
                a.period_start == key.period_start,
                a.threshold == key.threshold,
                a.kind == str(key.kind),
            )
        ).first()
        if row is None:
            raise NotFoundError(
                "This alert no longer exists: its budget was deleted.",
                hint="`alerts` lists the current alerts.",
            )
        added = conn.execute(
            insert_for(engine, ACKS)
            .values(
                alert_id=row.id, principal=principal[:300], name=name[:256], acknowledged_at=now
            )
            .on_conflict_do_nothing(index_elements=["alert_id"])
            .returning(ACKS.c.alert_id)
        ).first()
        ack = conn.execute(
            select(ACKS.c.name, ACKS.c.acknowledged_at).where(ACKS.c.alert_id == row.id)
        ).one()
    return Acknowledgement(int(row.id), row.card, ack.name, ack.acknowledged_at, added is not None)
