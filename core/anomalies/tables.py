"""Anomalies' tables: incidents (claimed once per series and first day), the feedback people gave
on them, and where incidents are posted."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from core.kernel.db.types import BigId, ExactDecimal, JsonDocument, UTCDateTime


class AnomalyIncident(SQLModel, table=True):
    """Consecutive anomalous days of one series. `(series_key, cost_type, first_day)` is the
    claim: one incident (and so one notification per target) however many replicas score."""

    __tablename__: ClassVar[str] = "anomaly_incident"
    __table_args__: ClassVar[Any] = (
        UniqueConstraint("series_key", "cost_type", "first_day", name="uq_anomaly_incident_claim"),
        Index("ix_anomaly_incident_last_day", "cost_type", "last_day"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    #: Hash of the series (`core.anomalies.series.SeriesKey.key`).
    series_key: str = Field(sa_column=Column(String(32), nullable=False))
    cost_type: str = Field(sa_column=Column(String(16), nullable=False))
    first_day: date = Field(sa_column=Column(Date, nullable=False))
    last_day: date = Field(sa_column=Column(Date, nullable=False))
    days: int = Field(sa_column=Column(Integer, nullable=False))
    scope_id: int = Field(sa_column=Column(Integer, nullable=False))
    subscription_id: str = Field(sa_column=Column(String(64), nullable=False))
    subscription_name: str = Field(sa_column=Column(String(256), nullable=False))
    #: '' for a subscription-level series.
    service_name: str = Field(sa_column=Column(String(128), nullable=False))
    resource_group: str = Field(sa_column=Column(String(128), nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    direction: str = Field(sa_column=Column(String(8), nullable=False))
    #: Cumulative actual − expected over the incident's days (negative for drops).
    impact: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    #: The last day's figures.
    actual: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    expected: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    low: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    high: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    peak_score: float = Field(sa_column=Column(Float, nullable=False))
    #: The largest daily |actual − expected| of its days ("Too small" sets the floor above it).
    peak_deviation: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    #: open | closed | expected | too_small | withdrawn (`core.anomalies.model.Status`).
    status: str = Field(sa_column=Column(String(16), nullable=False))
    acknowledged_by: str | None = Field(default=None, sa_column=Column(String(300)))
    acknowledged_name: str | None = Field(default=None, sa_column=Column(String(256)))
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    #: The incident card as last sent (`core.kernel.cards_json`).
    card: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonDocument))
    #: +1 on every change; an update message is keyed by it (claimed once, like the incident).
    revision: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class AnomalyFeedback(SQLModel, table=True):
    """What someone said about an incident, and when; the next scoring reads it."""

    __tablename__: ClassVar[str] = "anomaly_feedback"
    __table_args__: ClassVar[Any] = (
        Index("ix_anomaly_feedback_series", "series_key", "cost_type"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    incident_id: int = Field(
        sa_column=Column(BigId, ForeignKey("anomaly_incident.id"), nullable=False)
    )
    series_key: str = Field(sa_column=Column(String(32), nullable=False))
    cost_type: str = Field(sa_column=Column(String(16), nullable=False))
    #: expected | too_small | acknowledge (`core.anomalies.model.FeedbackKind`).
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    principal: str = Field(sa_column=Column(String(300), nullable=False))
    name: str = Field(sa_column=Column(String(256), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    #: too_small: the series' new absolute floor.
    floor: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal, nullable=True))
    #: expected: the day the new normal starts.
    from_day: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class AnomalyRoute(SQLModel, table=True):
    """Post incidents matching these filters (and at least `min_impact`) to a target."""

    __tablename__: ClassVar[str] = "anomaly_route"
    __table_args__: ClassVar[Any] = (
        UniqueConstraint(
            "target_kind",
            "target_address",
            "subscription",
            "resource_group",
            "service",
            name="uq_anomaly_route",
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    target_kind: str = Field(sa_column=Column(String(16), nullable=False))
    target_address: str = Field(sa_column=Column(String(1024), nullable=False))
    #: Filters, lower-cased; '' matches everything.
    subscription: str = Field(sa_column=Column(String(256), nullable=False))
    resource_group: str = Field(sa_column=Column(String(128), nullable=False))
    service: str = Field(sa_column=Column(String(128), nullable=False))
    min_impact: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal, nullable=True))
    created_by: str = Field(sa_column=Column(String(300), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
