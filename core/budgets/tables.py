"""Budgets, their thresholds and notification targets, and the alerts they raised.

An alert is claimed once per (budget, period start, threshold, kind) by the unique constraint
`uq_alert_claim`: the evaluator inserts with `ON CONFLICT DO NOTHING RETURNING`, so concurrent
evaluations (threads, processes, replicas) agree on a single winner without reading first.
Deleting a budget deletes its thresholds, targets, alerts and acknowledgements (ON DELETE CASCADE);
messages already in the outbox stay and are still delivered.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from core.kernel.db.types import BigId, ExactDecimal, JsonDocument, UTCDateTime

#: Foreign keys to `budget.id` / `alert.id`: BIGINT on PostgreSQL, INTEGER on SQLite (like BigId).
_BigRef = BigInteger().with_variant(Integer(), "sqlite")


class Budget(SQLModel, table=True):
    """A spending limit for a scope over a recurring period.

    Names are unique per deployment, compared case-insensitively (`name_key`): budgets are over the
    deployment's one cost store, and one budget may notify Slack and Teams at once. Scope filters
    are '' when unused; all used filters must match (AND).
    """

    __tablename__: ClassVar[str] = "budget"
    #: Ids are never reused (SQLite AUTOINCREMENT), so the budget set's version is reliable.
    __table_args__: ClassVar[Any] = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    name: str = Field(sa_column=Column(String(64), nullable=False))
    name_key: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    amount: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    period: str = Field(sa_column=Column(String(16), nullable=False))
    #: The first day of the first period (always the first of a month); periods repeat from it.
    start_date: date = Field(sa_column=Column(Date, nullable=False))
    cost_type: str = Field(sa_column=Column(String(16), nullable=False))

    #: An ingested cost scope path (e.g. a management group): rows ingested under that scope.
    filter_scope: str = Field(default="", sa_column=Column(String(400), nullable=False))
    #: Subscription id or name, lower-cased (matches either, like `costs sub:`).
    filter_subscription: str = Field(default="", sa_column=Column(String(256), nullable=False))
    filter_resource_group: str = Field(default="", sa_column=Column(String(128), nullable=False))
    filter_service: str = Field(default="", sa_column=Column(String(128), nullable=False))
    filter_location: str = Field(default="", sa_column=Column(String(64), nullable=False))
    filter_meter: str = Field(default="", sa_column=Column(String(128), nullable=False))
    #: Tag key (lower-case) → exact value.
    filter_tags: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JsonDocument, nullable=False)
    )

    #: `platform:user_id` of the person who created it (may change it without being an admin).
    owner_principal: str = Field(sa_column=Column(String(300), nullable=False))
    owner_name: str = Field(sa_column=Column(String(256), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    #: Incremented by every change (thresholds and targets included): evaluators cache budgets
    #: and reload them when the set's (count, id sum, revision sum) moves.
    revision: int = Field(default=1, sa_column=Column(Integer, nullable=False))


class BudgetThreshold(SQLModel, table=True):
    """One percentage of the amount that raises an alert, on actual or forecast spend."""

    __tablename__: ClassVar[str] = "budget_threshold"

    budget_id: int = Field(
        sa_column=Column(
            _BigRef,
            ForeignKey("budget.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )
    percent: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    kind: str = Field(sa_column=Column(String(16), primary_key=True))


class BudgetTarget(SQLModel, table=True):
    """Where a budget's alerts go (a delivery `Target`): Slack, Teams, webhook or e-mail."""

    __tablename__: ClassVar[str] = "budget_target"

    budget_id: int = Field(
        sa_column=Column(
            _BigRef,
            ForeignKey("budget.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )
    kind: str = Field(sa_column=Column(String(16), primary_key=True))
    address: str = Field(sa_column=Column(String(1024), primary_key=True))


class Alert(SQLModel, table=True):
    """A threshold crossed in one period: exists at most once per (budget, period, threshold, kind).

    `notified` is False when a higher threshold of the same kind was crossed by the same evaluation:
    that one's message says it all, this row only keeps the threshold from firing later.
    """

    __tablename__: ClassVar[str] = "alert"
    __table_args__: ClassVar[Any] = (
        UniqueConstraint("budget_id", "period_start", "threshold", "kind", name="uq_alert_claim"),
        Index("ix_alert_period_start", "period_start"),
        Index("ix_alert_created_at", "created_at"),
        # Never reuse an id (outbox keys are `alert:<id>:…`): AUTOINCREMENT on SQLite.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    budget_id: int = Field(
        sa_column=Column(_BigRef, ForeignKey("budget.id", ondelete="CASCADE"), nullable=False)
    )
    period_start: date = Field(sa_column=Column(Date, nullable=False))
    period_end: date = Field(sa_column=Column(Date, nullable=False))
    threshold: int = Field(sa_column=Column(Integer, nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    #: The figures when it fired (the budget may change later).
    amount: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    spent: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    forecast: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal, nullable=True))
    notified: bool = Field(sa_column=Column(Boolean, nullable=False))
    #: The card that was sent (core.kernel.cards_json); re-rendered when someone acknowledges it.
    card: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonDocument, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class AlertAck(SQLModel, table=True):
    """Who acknowledged an alert, and when (the first click counts)."""

    __tablename__: ClassVar[str] = "alert_ack"

    alert_id: int = Field(
        sa_column=Column(
            _BigRef,
            ForeignKey("alert.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )
    principal: str = Field(sa_column=Column(String(300), nullable=False))
    name: str = Field(sa_column=Column(String(256), nullable=False))
    acknowledged_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
