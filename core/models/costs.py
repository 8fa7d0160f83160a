"""Cost data: ingested scopes, daily cost rows, and the record of every ingestion run."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from core.dbtypes import BigId, ExactDecimal, JsonDocument, UTCDateTime


class CostType(StrEnum):
    """Azure's cost views: invoiced charges, or purchases spread over their term."""

    ACTUAL = "ActualCost"
    AMORTIZED = "AmortizedCost"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: A run whose process died (no heartbeat); its committed days stay, the next run resumes.
    ABANDONED = "abandoned"


class CostScope(SQLModel, table=True):
    """An Azure scope we ingest (subscription, resource group, management group, billing ...)."""

    __tablename__: ClassVar[str] = "cost_scope"

    id: int | None = Field(default=None, primary_key=True)
    path: str = Field(sa_column=Column(String(400), nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))


class CostRecord(SQLModel, table=True):
    """One day of cost for one group of dimensions, as Azure's Query API reports it.

    The primary key is the natural key: (cost type, day, scope, row_key) where `row_key` is a
    64-bit hash of every grouping dimension and the tags (all stored as '' rather than NULL, so a
    missing value cannot defeat uniqueness). Date comes second so that the key also serves the
    queries ("last 30 days, by ..."); on SQLite the table is clustered on it (WITHOUT ROWID).

    One covering index serves the default breakdown, cost by service over a date range, from
    the index alone and already in GROUP BY order (SQLite needs no sort, PostgreSQL no heap
    visit): at 1M rows it took `costs 30d by service` from ~150-200 ms to well under 100 ms on
    both databases, for ~15% more ingest work (benchmarks/ingest.py). Other dimensions scan the
    date range of the table.
    """

    __tablename__: ClassVar[str] = "cost_record"
    __table_args__: ClassVar[Any] = (
        Index(
            "ix_cost_record_service_day",
            "cost_type",
            "usage_date",
            "service_name",
            "currency",
            "cost",
        ),
        {"sqlite_with_rowid": False},
    )

    cost_type: str = Field(sa_column=Column(String(16), primary_key=True))
    usage_date: date = Field(primary_key=True)
    scope_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("cost_scope.id"), primary_key=True, autoincrement=False
        )
    )
    row_key: int = Field(sa_column=Column(BigId, primary_key=True, autoincrement=False))

    subscription_id: str = Field(sa_column=Column(String(64), nullable=False))
    subscription_name: str = Field(sa_column=Column(String(256), nullable=False))
    resource_group: str = Field(sa_column=Column(String(128), nullable=False))
    resource_id: str = Field(sa_column=Column(String(1024), nullable=False))
    service_name: str = Field(sa_column=Column(String(128), nullable=False))
    meter_category: str = Field(sa_column=Column(String(128), nullable=False))
    location: str = Field(sa_column=Column(String(64), nullable=False))
    charge_type: str = Field(sa_column=Column(String(64), nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))

    cost: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    cost_usd: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal, nullable=True))
    quantity: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal, nullable=True))
    tags: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JsonDocument, nullable=False)
    )
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class IngestionRun(SQLModel, table=True):
    """What one ingestion of one scope and cost type did: window, progress, true counts, outcome."""

    __tablename__: ClassVar[str] = "ingestion_run"
    __table_args__: ClassVar[Any] = (
        Index("ix_ingestion_run_scope_started", "scope_id", "cost_type", "started_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    scope_id: int = Field(sa_column=Column(Integer, ForeignKey("cost_scope.id"), nullable=False))
    cost_type: str = Field(sa_column=Column(String(16), nullable=False))
    window_start: date
    window_end: date
    status: str = Field(sa_column=Column(String(16), nullable=False))
    #: Last day whose rows are committed; a resumed run starts the day after.
    checkpoint_date: date | None = None
    days_done: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_removed: int = 0
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    heartbeat_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    duration_ms: int | None = None
    #: The user-facing error (never a traceback).
    error: str | None = Field(default=None, sa_column=Column(String(2000), nullable=True))
