"""Recommendations with their lifecycle, every refresh, and the cached SKU and price catalog.

A recommendation is one row per stable key (rule + resource), never deleted: a refresh updates
it (last seen), reopens it, or closes it as "resolved by itself" when it no longer applies.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import Boolean, Column, Index, Integer, String
from sqlmodel import Field, SQLModel

from core.kernel.db.types import BigId, ExactDecimal, JsonDocument, UTCDateTime


class RecommendationRow(SQLModel, table=True):
    __tablename__: ClassVar[str] = "recommendation"
    __table_args__: ClassVar[Any] = (
        Index("ix_recommendation_status", "status"),
        # Ids are shown to people (`rec 12`): never reuse one (SQLite AUTOINCREMENT).
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    #: `<rule>|<resource id>`: what a refresh matches on.
    key: str = Field(sa_column=Column(String(1200), nullable=False, unique=True))
    rule: str = Field(sa_column=Column(String(64), nullable=False))
    category: str = Field(sa_column=Column(String(16), nullable=False))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    resource_id: str = Field(sa_column=Column(String(1100), nullable=False))
    resource_name: str = Field(sa_column=Column(String(256), nullable=False))
    subscription_id: str = Field(sa_column=Column(String(64), nullable=False))
    resource_group: str = Field(sa_column=Column(String(128), nullable=False))
    location: str = Field(sa_column=Column(String(64), nullable=False))
    title: str = Field(sa_column=Column(String(400), nullable=False))
    #: Monthly saving in `currency` (None: no figure, e.g. no cost recorded).
    saving: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal, nullable=True))
    currency: str | None = Field(default=None, sa_column=Column(String(3), nullable=True))
    formula: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    estimate: bool = Field(sa_column=Column(Boolean, nullable=False))
    fit_score: Decimal | None = Field(default=None, sa_column=Column(ExactDecimal, nullable=True))
    #: ["cloudoptima", "advisor"]
    sources: list[str] = Field(default_factory=list, sa_column=Column(JsonDocument, nullable=False))
    evidence: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JsonDocument, nullable=False)
    )
    tags: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JsonDocument, nullable=False)
    )
    status: str = Field(sa_column=Column(String(16), nullable=False))
    resolution: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    first_seen: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_seen: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class RecommendationRefresh(SQLModel, table=True):
    """One refresh: when, what it changed, how many Azure calls it made, or why it failed."""

    __tablename__: ClassVar[str] = "recommendation_refresh"
    __table_args__: ClassVar[Any] = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    finished_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    opened: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    updated: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    reopened: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    resolved: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    azure_calls: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    #: The user-facing error (never a traceback).
    error: str | None = Field(default=None, sa_column=Column(String(2000), nullable=True))


class CatalogSku(SQLModel, table=True):
    """A VM size's capabilities (Resource SKUs API), with when it was fetched."""

    __tablename__: ClassVar[str] = "recommendation_sku"

    name: str = Field(sa_column=Column(String(64), primary_key=True))
    family: str = Field(sa_column=Column(String(64), nullable=False))
    vcpus: int = Field(sa_column=Column(Integer, nullable=False))
    memory_gb: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    max_data_disks: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    max_nics: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    architecture: str = Field(sa_column=Column(String(16), nullable=False))
    source: str = Field(sa_column=Column(String(32), nullable=False))
    fetched_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class CatalogPrice(SQLModel, table=True):
    """Hourly pay-as-you-go price of a size in a region for an OS (Retail Prices API), and its
    reservation whole-term prices, with when they were fetched."""

    __tablename__: ClassVar[str] = "recommendation_price"

    sku: str = Field(sa_column=Column(String(64), primary_key=True))
    region: str = Field(sa_column=Column(String(64), primary_key=True))
    os: str = Field(sa_column=Column(String(16), primary_key=True))
    currency: str = Field(sa_column=Column(String(3), primary_key=True))
    hourly: Decimal = Field(sa_column=Column(ExactDecimal, nullable=False))
    reservation_1y_total: Decimal | None = Field(
        default=None, sa_column=Column(ExactDecimal, nullable=True)
    )
    reservation_3y_total: Decimal | None = Field(
        default=None, sa_column=Column(ExactDecimal, nullable=True)
    )
    source: str = Field(sa_column=Column(String(32), nullable=False))
    fetched_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
