"""One decision row per recommendation that was ever decided on: its state and version (what
the one conditional UPDATE checks), who decided and why, and the realized saving once approved."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import BigInteger, Column, Date, Index, Integer, String
from sqlmodel import Field, SQLModel

from core.kernel.db.types import ExactDecimal, UTCDateTime


class DecisionRow(SQLModel, table=True):
    __tablename__: ClassVar[str] = "recommendation_decision"
    __table_args__: ClassVar[Any] = (Index("ix_recommendation_decision_state", "state"),)

    rec_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    decided_by: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    decided_by_name: str | None = Field(default=None, sa_column=Column(String(256), nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    snoozed_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    #: chat, or portal (suppressed in Azure Advisor).
    source: str = Field(sa_column=Column(String(16), nullable=False))
    requested_by: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    requested_by_name: str | None = Field(
        default=None, sa_column=Column(String(256), nullable=True)
    )
    requested_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    approved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    implemented_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    #: deleted, resized, cost fell.
    implemented_how: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    expected_monthly: Decimal | None = Field(
        default=None, sa_column=Column(ExactDecimal, nullable=True)
    )
    currency: str | None = Field(default=None, sa_column=Column(String(3), nullable=True))
    #: Mean daily effective cost over the 30 days before approval.
    baseline_daily: Decimal | None = Field(
        default=None, sa_column=Column(ExactDecimal, nullable=True)
    )
    realized_monthly: Decimal | None = Field(
        default=None, sa_column=Column(ExactDecimal, nullable=True)
    )
    realized_through: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    #: The version whose dismissal or snooze Azure Advisor was told of (Advisor sync).
    advisor_synced_version: int | None = Field(
        default=None, sa_column=Column(Integer, nullable=True)
    )
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
