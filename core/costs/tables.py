"""Cost data: ingested scopes, groups of dimensions, daily cost rows, every ingestion run, and
the forecasts fetched from a provider."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
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


class CostScope(SQLModel, table=True):
    """An Azure scope we ingest (subscription, resource group, management group, billing ...)."""

    __tablename__: ClassVar[str] = "cost_scope"

    id: int | None = Field(default=None, primary_key=True)
    path: str = Field(sa_column=Column(String(400), nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))


class CostGroup(SQLModel, table=True):
    """One group of dimensions and tags of a scope: stored once, referenced by every daily row.

    `group_key` is a 64-bit hash of the dimensions and the tags (`core.costs.store.group_key`;
    all stored as '' rather than NULL, so a missing value cannot defeat uniqueness). The
    subscription's display name is an attribute, not part of the key: a renamed subscription
    updates its groups (and bumps `revision`, which readers that cache groups watch).
    """

    __tablename__: ClassVar[str] = "cost_group"
    __table_args__: ClassVar[Any] = (
        UniqueConstraint("scope_id", "group_key", name="uq_cost_group_scope_key"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    scope_id: int = Field(sa_column=Column(Integer, ForeignKey("cost_scope.id"), nullable=False))
    group_key: int = Field(sa_column=Column(BigInteger, nullable=False))
    subscription_id: str = Field(sa_column=Column(String(64), nullable=False))
    subscription_name: str = Field(sa_column=Column(String(256), nullable=False))
    resource_group: str = Field(sa_column=Column(String(128), nullable=False))
    resource_id: str = Field(sa_column=Column(String(1024), nullable=False))
    service_name: str = Field(sa_column=Column(String(128), nullable=False))
    meter_category: str = Field(sa_column=Column(String(128), nullable=False))
    location: str = Field(sa_column=Column(String(64), nullable=False))
    charge_type: str = Field(sa_column=Column(String(64), nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    tags: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JsonDocument, nullable=False)
    )
    #: 1 when created, +1 on every change of an attribute (the subscription name).
    revision: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class CostRecord(SQLModel, table=True):
    """One day of cost of one group (`cost_group`): the narrow daily fact.

    The primary key is the natural key (cost type, day, scope, group). Date comes second so
    that the key also serves every query ("the last 30 days …"); on SQLite the table is
    clustered on it (WITHOUT ROWID). Dimensions live in `cost_group`, so a row is ~70 bytes
    instead of ~400: a date-range scan reads a fifth of the pages, and no secondary index is
    needed (readers sum by group in SQL and map groups to dimension values in Python).

    `scope_id` and `group_id` reference `cost_scope` and `cost_group` without FOREIGN KEY
    constraints, on purpose: each one checked per inserted row cost PostgreSQL as much as the
    whole COPY of the rows (1M narrow rows: COPY 2.9 s, +3.5 s per constraint; SQLite +8%).
    The store keeps them true by construction: a scope row exists before its first ingestion,
    a day's new groups are inserted in the transaction that first writes rows for them, and
    neither scopes nor groups are ever deleted.
    """

    __tablename__: ClassVar[str] = "cost_record"
    __table_args__: ClassVar[Any] = ({"sqlite_with_rowid": False},)

    cost_type: str = Field(sa_column=Column(String(16), primary_key=True))
    usage_date: date = Field(primary_key=True)
    #: → cost_scope.id (not enforced, see above)
    scope_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    #: → cost_group.id (not enforced, see above)
    group_id: int = Field(sa_column=Column(BigId, primary_key=True, autoincrement=False))
    cost: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    cost_usd: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal, nullable=True))
    quantity: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal, nullable=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class CostRollup(SQLModel, table=True):
    """`cost_record` summed per day without the resource and the tags: what most answers read.

    One row per (cost type, day, scope, rollup group), where a rollup group is a `cost_group`
    row whose resource id is '' and tags are {} (the group of every resource with those other
    dimensions). `core.costs.store.write_day` rewrites a day's rollup in the transaction that
    changes the day, from the complete day it writes, so the rollup is always exactly the sum
    of the day's rows. A year of 15,000 resources is ~10M `cost_record` rows but only a few
    thousand rollup rows a day: `costs 30d by service` reads ~10× fewer rows.
    """

    __tablename__: ClassVar[str] = "cost_rollup"
    __table_args__: ClassVar[Any] = ({"sqlite_with_rowid": False},)

    cost_type: str = Field(sa_column=Column(String(16), primary_key=True))
    usage_date: date = Field(primary_key=True)
    scope_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    #: → cost_group.id of the rollup group (not enforced, as for cost_record)
    group_id: int = Field(sa_column=Column(BigId, primary_key=True, autoincrement=False))
    cost: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    cost_usd: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal, nullable=True))
    quantity: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal, nullable=True))
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
    #: The process running it (host:pid): a restart there marks its dead runs failed at once.
    owner: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))


class ExportRun(SQLModel, table=True):
    """One export run found in storage, imported once across replicas (`core.costs.imports`).

    The key names the run (`azblob://account/container/…/<run id>`). A replica claims a run by
    inserting its row; a failed run (or one whose importer stopped without finishing) is claimed
    again by the next look. Rows are kept: a run once imported is never imported again (an older
    run re-imported would put back figures a later run restated).
    """

    __tablename__: ClassVar[str] = "export_run"

    key: str = Field(sa_column=Column(String(1000), primary_key=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    owner: str = Field(sa_column=Column(String(200), nullable=False))
    attempts: int = Field(sa_column=Column(Integer, nullable=False))
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    rows: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(String(2000), nullable=True))


class CostForecast(SQLModel, table=True):
    """A provider's forecast of one ingested scope's spend for the rest of a budget period.

    One row per (scope, cost type, period end): the forecast fetched on `as_of` covers the days
    after it, `as_of + 1` to `period_end`, and the next fetch replaces it. Budgets whose scope is
    exactly this scope add it to their spend through `as_of` (`core.budgets.provider_forecast`).
    """

    __tablename__: ClassVar[str] = "cost_forecast"

    scope_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("cost_scope.id"), primary_key=True, autoincrement=False
        )
    )
    cost_type: str = Field(sa_column=Column(String(16), primary_key=True))
    #: The last forecast day (the end of a budget period).
    period_end: date = Field(sa_column=Column(Date, primary_key=True))
    #: The day it was fetched: the forecast starts the day after.
    as_of: date = Field(sa_column=Column(Date, nullable=False))
    #: Forecast spend from `as_of + 1` to `period_end`.
    amount: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    #: Where it came from ("azure": Azure Cost Management's Forecast API).
    source: str = Field(sa_column=Column(String(16), nullable=False))
    fetched_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
